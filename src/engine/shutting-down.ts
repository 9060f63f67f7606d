import { DomainError } from "../domain/domain-error.js";

/**
 * Why a stream ends, or is refused, while the server stops: UNAVAILABLE (with its ErrorDetail) once
 * mapped, which clients treat as "reconnect", reaching another instance or this one restarted.
 */
export function serverShuttingDown(): DomainError {
  return new DomainError("unavailable", "SERVER_SHUTTING_DOWN", "server is shutting down; reconnect");
}
