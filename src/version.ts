import { createRequire } from "node:module";

/**
 * Herald's version, from package.json (sent as User-Agent: Herald/<version>). The file is one
 * level up from src/ and two from the compiled dist/src/.
 */
export const HERALD_VERSION: string = readVersion();

function readVersion(): string {
  const require = createRequire(import.meta.url);
  for (const path of ["../package.json", "../../package.json"]) {
    try {
      const pkg = require(path) as { name?: unknown; version?: unknown };
      if (pkg.name === "herald" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // Not at this level: try the next one.
    }
  }
  throw new Error("package.json of herald not found next to src/ or dist/src/");
}
