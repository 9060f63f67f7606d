/** A parsed DATABASE_URL. */
export type DatabaseTarget =
  | { kind: "sqlite"; filename: string }
  | { kind: "mysql"; host: string; port: number; user: string; password: string; database: string };

/** Parses `sqlite:<path>` or `mysql://user:pass@host:port/db` (already validated by config). */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith("sqlite:")) {
    const rest = url.slice("sqlite:".length);
    // Accept sqlite:./x.db, sqlite:/abs/x.db, sqlite:///abs/x.db and sqlite::memory:.
    const filename = rest.startsWith("//") ? rest.replace(/^\/\//, "") : rest;
    return { kind: "sqlite", filename };
  }
  const parsed = new URL(url);
  return {
    kind: "mysql",
    host: parsed.hostname,
    port: parsed.port === "" ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")),
  };
}
