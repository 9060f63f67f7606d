/**
 * `herald serve` starts the server (migrating first); `herald migrate` only migrates.
 * Configuration comes from the environment (see README); a bad variable stops the start.
 */
import { ConfigError, loadConfig } from "../config/config.js";
import { startHerald } from "../herald-server.js";
import { createJsonLogger } from "../logger.js";
import { openStore } from "../storage/open-store.js";

const USAGE = "usage: herald <serve|migrate>";

async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createJsonLogger(config.logLevel);
  const server = await startHerald(config, { logger });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn("second signal: exiting at once", { signal });
      process.exit(1);
    }
    logger.info("shutting down", { signal });
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("shutdown failed", { error });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

async function migrate(): Promise<void> {
  const config = loadConfig();
  const logger = createJsonLogger(config.logLevel);
  const store = await openStore({ databaseUrl: config.databaseUrl, poolMax: 1, logger });
  await store.close();
  logger.info("database migrated", { store: store.kind });
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? "serve";
  if (command === "serve") return serve();
  if (command === "migrate") return migrate();
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`herald: ${error.message}\n`);
  } else {
    process.stderr.write(
      `herald: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
  process.exit(1);
});
