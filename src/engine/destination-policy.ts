import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";

/** Thrown (through the connector) when a push destination resolves only to blocked addresses. */
export class BlockedDestinationError extends Error {
  override readonly name = "BlockedDestinationError";
  readonly code = "HERALD_BLOCKED_DESTINATION";
}

/** Allowed destination ports: inclusive ranges, or any port. */
export type PortPolicy = "any" | readonly (readonly [number, number])[];

const BLOCKED_V4: [string, number][] = [
  ["0.0.0.0", 8], // "this" network
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata (169.254.169.254)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay anycast
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

const BLOCKED_V6: [string, number][] = [
  // ::/96 (unspecified, loopback, IPv4-compatible) and ::ffff:0:0/96 (IPv4-mapped) are refused in
  // isAllowed: node's BlockList applies IPv6 rules of those prefixes to plain IPv4 addresses too.
  ["::ffff:0:0:0", 96], // IPv4-translated (SIIT)
  ["64:ff9b:1::", 48], // local-use NAT64 (RFC 8215): a translator into private networks
  ["100::", 64], // discard
  ["2001::", 23], // IETF special purpose (Teredo, ORCHID, …)
  ["2001:db8::", 32], // documentation
  ["2002::", 16], // 6to4 (embeds arbitrary IPv4)
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
];

/** Expands an IPv6 address (any notation, optional zone) into its 16 bytes. */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.split("%")[0] ?? "";
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4Tail?.[1]) {
    tail = v4Tail[1].split(".").map(Number);
    text = `${text.slice(0, -v4Tail[1].length)}0:0`;
  }
  const [head = "", rest] = text.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const restParts = rest === undefined || rest === "" ? [] : rest.split(":");
  const missing = 8 - headParts.length - restParts.length;
  if (rest === undefined ? missing !== 0 : missing < 0) return undefined;
  const groups = [...headParts, ...Array(Math.max(0, missing)).fill("0"), ...restParts].map((g) =>
    Number.parseInt(g, 16),
  );
  const bytes = groups.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes.length === 16 ? bytes : undefined;
}

/**
 * The SSRF defence of the pusher (Svix's rules): destinations in loopback, private, link-local
 * (cloud metadata), CGNAT, multicast, documentation or reserved ranges are refused, and so are the
 * IPv6 forms that embed an IPv4 address (IPv4-compatible ::/96, IPv4-mapped ::ffff:0:0/96,
 * translated, local-use NAT64 64:ff9b:1::/48) — except the well-known NAT64 prefix 64:ff9b::/96,
 * judged by the IPv4 address it carries — unless an allowlist entry covers them (a mapped address
 * also by the allowlisted IPv4 address it carries). The check runs on the address actually dialled
 * (the connector's DNS lookup), so DNS rebinding cannot slip a private address past it. An optional
 * port policy limits the ports pushes may use.
 */
export class DestinationPolicy {
  private readonly blocked = new BlockList();
  private readonly allowed = new BlockList();
  private readonly allowAll: boolean;

  private readonly ports: PortPolicy;

  constructor(allowPrivate: "all" | readonly string[], allowedPorts: PortPolicy = "any") {
    this.ports = allowedPorts;
    for (const [net, prefix] of BLOCKED_V4) this.blocked.addSubnet(net, prefix, "ipv4");
    for (const [net, prefix] of BLOCKED_V6) this.blocked.addSubnet(net, prefix, "ipv6");
    this.allowAll = allowPrivate === "all";
    if (allowPrivate !== "all") {
      for (const cidr of allowPrivate) {
        const [address = "", bits] = cidr.split("/");
        const family = isIP(address) === 6 ? "ipv6" : "ipv4";
        this.allowed.addSubnet(
          address,
          bits === undefined ? (family === "ipv6" ? 128 : 32) : Number(bits),
          family,
        );
      }
    }
  }

  /** Whether `address` (an IP literal) may be dialled. Anything unparseable is refused. */
  isAllowed(address: string): boolean {
    if (this.allowAll) return true;
    const family = isIP(address);
    if (family === 4) return this.allowed.check(address, "ipv4") || !this.blocked.check(address, "ipv4");
    if (family !== 6) return false;
    const bytes = ipv6Bytes(address);
    if (!bytes) return false;
    const plain = address.split("%")[0] ?? "";
    if (this.allowed.check(plain, "ipv6")) return true;
    const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
    const v4 = bytes.slice(12).join(".");
    // ::ffff:a.b.c.d dials a.b.c.d: an allowlisted IPv4 address stays allowed in this form.
    if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return this.allowed.check(v4, "ipv4");
    if (zeros(0, 12)) return false; // ::/96: unspecified, loopback and the deprecated ::a.b.c.d
    // The well-known NAT64 prefix reaches the IPv4 address it carries: judge that address.
    const wellKnownNat64 =
      bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12);
    if (wellKnownNat64) return this.isAllowed(v4);
    return !this.blocked.check(plain, "ipv6");
  }

  /** Whether pushes may use `port` (HERALD_PUSH_ALLOWED_PORTS; every port when unset). */
  isPortAllowed(port: number): boolean {
    if (this.ports === "any") return true;
    return this.ports.some(([from, to]) => port >= from && port <= to);
  }

  /** A `net.connect` lookup that resolves, then keeps only allowed addresses (or fails). */
  readonly lookup = (
    hostname: string,
    options: { all?: boolean; family?: number | string },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { all: true, family: Number(options.family ?? 0) as 0 | 4 | 6 }, (err, addresses) => {
      if (err) return callback(err, "");
      const usable = addresses.filter((a) => this.isAllowed(a.address));
      if (usable.length === 0) {
        return callback(
          new BlockedDestinationError(`destination ${hostname} resolves only to blocked addresses`),
          "",
        );
      }
      if (options.all) return callback(null, usable);
      const first = usable[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}
