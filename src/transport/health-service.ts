import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthReporter } from "../engine/database-health-monitor.js";

/** Serving status of one service, as reported by `grpc.health.v1.Health`. */
export { ServingStatus };

/** Called with the new status whenever a service's status changes. */
export type HealthListener = (status: ServingStatus) => void;

/**
 * The health of the server ("") and of named services, read by the Health service. Services are unknown
 * until a status is set. The overall server starts SERVING unless `initial` says otherwise.
 */
export class HealthState {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Map<string, Set<HealthListener>>();

  constructor(initial: Readonly<Record<string, ServingStatus>> = { "": ServingStatus.SERVING }) {
    for (const [service, status] of Object.entries(initial)) this.setStatus(service, status);
  }

  /** Record a service's status ("" is the whole server) and notify its watchers if it changed. */
  setStatus(service: string, status: ServingStatus): void {
    if (status === ServingStatus.SERVICE_UNKNOWN) {
      throw new RangeError("SERVICE_UNKNOWN is reserved for Watch responses and cannot be set");
    }
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const listener of this.listeners.get(service) ?? []) listener(status);
  }

  /** The service's status, or undefined when no status was ever set for it. */
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** A snapshot of every known service and its status. */
  list(): ReadonlyMap<string, ServingStatus> {
    return new Map(this.statuses);
  }

  /** The engine's health port: reports `services` ("" is the whole server) SERVING or NOT_SERVING together. */
  reporterFor(services: readonly string[]): HealthReporter {
    return {
      setServing: (isServing) => {
        const status = isServing ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        for (const service of services) this.setStatus(service, status);
      },
    };
  }

  /** Mark every known service NOT_SERVING, e.g. at the start of a graceful stop. */
  shutdown(): void {
    for (const service of [...this.statuses.keys()]) this.setStatus(service, ServingStatus.NOT_SERVING);
  }

  /** Call `listener` on each later status change of `service`; returns the unsubscribe function. */
  subscribe(service: string, listener: HealthListener): () => void {
    let set = this.listeners.get(service);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(service, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(service) === set) this.listeners.delete(service);
    };
  }
}

/**
 * Yields the current status of `service` (SERVICE_UNKNOWN when unknown), then each change, until
 * `signal` aborts. Changes that arrive faster than they are consumed collapse into the latest one.
 */
export async function* watchHealth(
  state: HealthState,
  service: string,
  signal: AbortSignal,
): AsyncGenerator<ServingStatus> {
  let pending: ServingStatus | undefined = state.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
  let wake: (() => void) | undefined;
  const onChange = (status: ServingStatus) => {
    pending = status;
    wake?.();
  };
  const onAbort = () => wake?.();
  const unsubscribe = state.subscribe(service, onChange);
  signal.addEventListener("abort", onAbort);
  try {
    let lastSent: ServingStatus | undefined;
    while (!signal.aborted) {
      if (pending === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      const status: ServingStatus = pending;
      pending = undefined;
      if (status !== lastSent) {
        lastSent = status;
        yield status;
      }
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", onAbort);
  }
}

export interface HealthRouteOptions {
  /**
   * Most Watch streams open at once; past it Watch answers RESOURCE_EXHAUSTED. Health needs no
   * credentials (load balancers call it), so this cap is what bounds what anyone can hold open.
   */
  maxWatches: number;
}

/**
 * Routes for `grpc.health.v1.Health` (Check, Watch, List) over `state`. Check answers NOT_FOUND for an
 * unknown service; Watch reports SERVICE_UNKNOWN and keeps the stream open, as the gRPC spec asks.
 */
export function createHealthRoutes(
  state: HealthState,
  options: HealthRouteOptions = { maxWatches: 1000 },
): (router: ConnectRouter) => void {
  let openWatches = 0;
  return (router) => {
    router.service(Health, {
      check(request) {
        const status = state.get(request.service);
        if (status === undefined) {
          // Quote at most 128 characters: a huge name must not become a huge gRPC trailer.
          const name = request.service.length > 128 ? `${request.service.slice(0, 128)}…` : request.service;
          throw new ConnectError(`unknown service "${name}"`, Code.NotFound);
        }
        return { status };
      },
      async *watch(request, ctx) {
        if (openWatches >= options.maxWatches) {
          throw new ConnectError("too many open Health.Watch streams on this server", Code.ResourceExhausted);
        }
        openWatches += 1;
        try {
          for await (const status of watchHealth(state, request.service, ctx.signal)) yield { status };
        } finally {
          openWatches -= 1;
        }
      },
      list() {
        const statuses: Record<string, { status: ServingStatus }> = {};
        for (const [service, status] of state.list()) statuses[service] = { status };
        return { statuses };
      },
    });
  };
}
