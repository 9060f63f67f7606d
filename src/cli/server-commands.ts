/**
 * `herald serve` starts the server (migrating first); `herald migrate` only migrates.
 * Configuration comes from the environment (see README); a bad variable stops the start.
 * Loaded only for these two commands: the client commands do not pay for the server's imports.
 */
import { loadConfig } from "../config/config.js";
import { type HeraldServer, startHerald } from "../herald-server.js";
import { createJsonLogger } from "../logger.js";
import { openStore } from "../storage/open-store.js";

export { ConfigError } from "../config/config.js";

export async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createJsonLogger(config.logLevel);
  // Handlers are installed before the server starts: a SIGTERM right after "herald listening"
  // (which is logged inside startHerald) must stop it gracefully, not kill it by default action.
  let server: HeraldServer | undefined;
  let isStopRequested = false;
  const stopAndExit = (running: HeraldServer) => {
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("shutdown failed", { error });
        process.exit(1);
      },
    );
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn("second signal: exiting at once", { signal });
      process.exit(1);
    }
    logger.info("shutting down", { signal });
    if (server) stopAndExit(server);
    else isStopRequested = true;
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  server = await startHerald(config, { logger });
  if (isStopRequested) stopAndExit(server);
}

export async function migrate(): Promise<void> {
  const config = loadConfig();
  const logger = createJsonLogger(config.logLevel);
  const store = await openStore({ databaseUrl: config.databaseUrl, poolMax: 1, logger });
  await store.close();
  logger.info("database migrated", { store: store.kind });
}
