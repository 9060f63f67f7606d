/** Who is calling, once authenticated. `open` is the loopback development mode with authentication off. */
export type Principal =
  | { kind: "open" }
  | { kind: "admin" }
  | { kind: "publisher"; publisherId: bigint; code: string; isActive: boolean; keyPrefix: string }
  | { kind: "subscriber"; subscriberId: bigint; keyPrefix: string };
