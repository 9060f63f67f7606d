import { afterEach, describe, expect, it } from "vitest";
import { DestinationPolicy } from "./destination-policy.js";
import { WebhookClient } from "./webhook-client.js";

describe("WebhookClient", () => {
  let client: WebhookClient | undefined;
  afterEach(async () => {
    await client?.close();
  });

  it("refuses a port outside HERALD_PUSH_ALLOWED_PORTS without connecting", async () => {
    client = new WebhookClient(new DestinationPolicy("all", [[443, 443]]), {
      allowHttp: true,
      userAgent: "test",
      connectionsPerOrigin: 1,
    });
    const request = { body: "{}", headers: {}, timeoutMs: 1_000 };
    const refused = await client.send({ ...request, url: "http://127.0.0.1:6379/" });
    expect(refused).toMatchObject({ status: null, blocked: true });
    expect(refused.detail).toMatch(/port 6379 is not allowed/);
    // The default port of http is 80, also outside the list.
    expect((await client.send({ ...request, url: "http://127.0.0.1/" })).detail).toMatch(/port 80/);
  });
});
