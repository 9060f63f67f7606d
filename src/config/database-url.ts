/** One MySQL server address. */
export interface HostPort {
  host: string;
  port: number;
}

/** A parsed DATABASE_URL. */
export type DatabaseTarget =
  | { kind: "sqlite"; filename: string }
  | {
      kind: "mysql";
      /** The first of `hosts`. */
      host: string;
      port: number;
      /**
       * Every host of the URL in order (`mysql://u@h1:3306,h2:3306,h3/db`): a cluster's nodes,
       * the first preferred, the next used when the one in use fails (see DatabaseHosts).
       */
      hosts: HostPort[];
      user: string;
      password: string;
      database: string;
    };

const MYSQL_URL = /^(?:mysql|mariadb):\/\/(?:([^@/]*)@)?([^/?#@]+)\/([^?#]*)$/;

/** `h1:3306,[::1]:3307,h3` → host/port pairs (port 3306 when absent); undefined when malformed. */
function parseHosts(list: string): HostPort[] | undefined {
  const hosts: HostPort[] = [];
  for (const part of list.split(",")) {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(part);
    if (!match) return undefined;
    const port = match[3] === undefined ? 3306 : Number(match[3]);
    if (port < 1 || port > 65_535) return undefined;
    hosts.push({ host: (match[1] ?? match[2]) as string, port });
  }
  return hosts;
}

/**
 * Parses a `mysql://` (or `mariadb://`) URL with one or several comma-separated hosts; undefined
 * when it is not one. The user and password are percent-decoded.
 */
export function parseMysqlUrl(url: string): Extract<DatabaseTarget, { kind: "mysql" }> | undefined {
  const match = MYSQL_URL.exec(url);
  if (!match) return undefined;
  const hosts = parseHosts(match[2] as string);
  if (!hosts || hosts.length === 0) return undefined;
  const [user = "", password = ""] = (match[1] ?? "").split(/:(.*)/s, 2);
  try {
    const first = hosts[0] as HostPort;
    return {
      kind: "mysql",
      host: first.host,
      port: first.port,
      hosts,
      user: decodeURIComponent(user),
      password: decodeURIComponent(password),
      database: decodeURIComponent(match[3] as string),
    };
  } catch {
    return undefined;
  }
}

/** Parses `sqlite:<path>` or `mysql://user:pass@host:port[,host:port…]/db` (already validated by config). */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith("sqlite:")) {
    const rest = url.slice("sqlite:".length);
    // Accept sqlite:./x.db, sqlite:/abs/x.db, sqlite:///abs/x.db and sqlite::memory:.
    const filename = rest.startsWith("//") ? rest.replace(/^\/\//, "") : rest;
    return { kind: "sqlite", filename };
  }
  const target = parseMysqlUrl(url);
  if (!target) throw new Error("DATABASE_URL is not a valid mysql:// URL");
  return target;
}
