import { createRequire } from "node:module";

/** Herald's version, from package.json (sent as User-Agent: Herald/<version>). */
export const HERALD_VERSION: string = (
  createRequire(import.meta.url)("../package.json") as { version: string }
).version;
