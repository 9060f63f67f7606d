import { describe, expect, it } from "vitest";
import { isAccessListed, routeAccess } from "./authentication.js";

describe("route access table", () => {
  it("requires an admin token for a service it does not name (fails closed)", () => {
    expect(isAccessListed("example.v1.NewService", "DoThing")).toBe(false);
    expect(routeAccess("example.v1.NewService", "DoThing")).toBe("admin");
  });

  it("keeps per-method surfaces of the Pub/Sub API and leaves health and reflection public", () => {
    expect(routeAccess("google.pubsub.v1.Publisher", "Publish")).toBe("publish");
    expect(routeAccess("google.pubsub.v1.Publisher", "CreateTopic")).toBe("admin");
    expect(routeAccess("google.pubsub.v1.Subscriber", "StreamingPull")).toBe("consume");
    expect(routeAccess("grpc.health.v1.Health", "Watch")).toBe("public");
    expect(routeAccess("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo")).toBe("public");
  });
});
