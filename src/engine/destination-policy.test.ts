import { describe, expect, it } from "vitest";
import { DestinationPolicy } from "./destination-policy.js";

describe("DestinationPolicy", () => {
  const policy = new DestinationPolicy([]);

  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:8.8.8.8",
    "::ffff:0:0",
    "::8.8.8.8",
    "::127.0.0.1",
    "::a00:1",
    "::ffff:0:a00:1",
    "64:ff9b:1::a00:1",
    "64:ff9b:1:ffff::1",
    "64:ff9b::10.0.0.1",
    "2002:7f00:1::",
    "fe80::1%eth0",
  ])("refuses %s", (address) => {
    expect(policy.isAllowed(address)).toBe(false);
  });

  it.each(["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::8.8.8.8", "64:ff9b:2::1"])(
    "allows %s",
    (address) => {
      expect(policy.isAllowed(address)).toBe(true);
    },
  );

  it("refuses what it cannot parse", () => {
    expect(policy.isAllowed("localhost")).toBe(false);
    expect(policy.isAllowed("1.2.3")).toBe(false);
  });

  it("lets allowlisted CIDRs through, and nothing else", () => {
    const allow = new DestinationPolicy(["127.0.0.1/32", "10.0.0.0/8"]);
    expect(allow.isAllowed("127.0.0.1")).toBe(true);
    expect(allow.isAllowed("::ffff:127.0.0.1")).toBe(true);
    expect(allow.isAllowed("10.9.9.9")).toBe(true);
    expect(allow.isAllowed("127.0.0.2")).toBe(false);
    expect(allow.isAllowed("192.168.0.1")).toBe(false);
    expect(new DestinationPolicy("all").isAllowed("127.0.0.1")).toBe(true);
  });

  it("allows every port by default, and only the listed ports and ranges when given", () => {
    expect(policy.isPortAllowed(22)).toBe(true);
    const ports = new DestinationPolicy(
      [],
      [
        [443, 443],
        [8000, 8999],
      ],
    );
    expect(ports.isPortAllowed(443)).toBe(true);
    expect(ports.isPortAllowed(8000)).toBe(true);
    expect(ports.isPortAllowed(8999)).toBe(true);
    expect(ports.isPortAllowed(80)).toBe(false);
    expect(ports.isPortAllowed(6379)).toBe(false);
    expect(ports.isPortAllowed(9000)).toBe(false);
  });

  it("filters resolved addresses in its lookup", async () => {
    const result = await new Promise<{ err: Error | null }>((resolve) =>
      policy.lookup("localhost", { all: true }, (err) => resolve({ err })),
    );
    expect(result.err?.name).toBe("BlockedDestinationError");
  });
});
