import type { TopicGrants } from "../../domain/topic-grants.js";

/** Who is calling, once authenticated. `open` is the loopback development mode with authentication off. */
export type Principal =
  | { kind: "open" }
  | { kind: "admin" }
  | {
      kind: "publisher";
      publisherId: bigint;
      code: string;
      isActive: boolean;
      keyPrefix: string;
      /** Where the key may publish (read with the key, so a change applies within the cache TTL). */
      topics: TopicGrants;
    }
  | { kind: "subscriber"; subscriberId: bigint; keyPrefix: string };
