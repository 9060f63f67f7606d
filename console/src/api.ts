/**
 * The console's one connection to Herald: the generated clients over the Connect protocol
 * (JSON over HTTP/1.1 or HTTP/2 on the same origin), the credential kept in sessionStorage
 * (this browser tab only, gone when it closes) and sent as a bearer token on every call.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "../../gen/herald/v1/admin_service_pb.js";
import { ConsoleService } from "../../gen/herald/v1/console_service_pb.js";
import { DeadLetterService } from "../../gen/herald/v1/dead_letter_service_pb.js";
import { PublisherService } from "../../gen/herald/v1/publisher_service_pb.js";

const TOKEN_KEY = "herald.console.token";

export function storedToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function storeToken(token: string): void {
  if (token === "") sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

const withToken: Interceptor = (next) => (req) => {
  const token = storedToken();
  if (token !== "") req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};

const transport = createConnectTransport({
  baseUrl: location.origin,
  interceptors: [withToken],
});

export const api = {
  admin: createClient(AdminService, transport),
  deadLetters: createClient(DeadLetterService, transport),
  console: createClient(ConsoleService, transport),
  publisher: createClient(PublisherService, transport),
};

/** A user-facing line for a failed call: the code and Herald's message. */
export function errorText(error: unknown): string {
  const e = ConnectError.from(error);
  return `${Code[e.code] ?? "error"}: ${e.rawMessage}`;
}

export function isUnauthenticated(error: unknown): boolean {
  const code = ConnectError.from(error).code;
  return code === Code.Unauthenticated || code === Code.PermissionDenied;
}
