/**
 * A Store whose transactions and repository calls show as database spans under the current span
 * (an RPC, a delivery). Background loops run with no current span and pass straight through, so
 * their statements make no spans. Installed only when tracing is on.
 */
import type { Repositories, Store } from "../app/ports/store.js";
import type { OtelTracing } from "./otel-tracing.js";

type Method = (...args: unknown[]) => Promise<unknown>;

export function traceStore(store: Store, tracing: OtelTracing): Store {
  const traced: Store = {
    kind: store.kind,
    repos: traceRepositories(store.repos, tracing),
    transaction: (work) =>
      tracing.database("transaction", () =>
        store.transaction((repos) => work(traceRepositories(repos, tracing))),
      ),
    ping: () => store.ping(),
    isUnavailable: (error) => store.isUnavailable(error),
    close: () => store.close(),
  };
  if (store.poolStats) traced.poolStats = () => store.poolStats?.();
  return traced;
}

/**
 * Every method of every repository, wrapped in a span named after both ("db messages.insertMany").
 * Wrappers are made on first use and kept while the repositories live (a transaction's set lives
 * as long as the transaction).
 */
function traceRepositories(repos: Repositories, tracing: OtelTracing): Repositories {
  const wrapped = new Map<string | symbol, unknown>();
  return new Proxy(repos, {
    get(target, name, receiver) {
      const repo: unknown = Reflect.get(target, name, receiver);
      if (typeof name !== "string" || typeof repo !== "object" || repo === null) return repo;
      let proxy = wrapped.get(name);
      if (proxy === undefined) {
        proxy = traceRepository(repo, name, tracing);
        wrapped.set(name, proxy);
      }
      return proxy;
    },
  });
}

function traceRepository(repo: object, repoName: string, tracing: OtelTracing): object {
  const methods = new Map<string, Method>();
  return new Proxy(repo, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof name !== "string" || typeof value !== "function") return value;
      let method = methods.get(name);
      if (method === undefined) {
        const original = value as Method;
        const operation = `${repoName}.${name}`;
        method = (...args) => tracing.database(operation, () => original.apply(target, args));
        methods.set(name, method);
      }
      return method;
    },
  });
}
