import { randomBytes } from "node:crypto";
import { useAckIdKey } from "../consume/ack-id.js";
import type { Store } from "../ports/store.js";
import type { SecretBox } from "./secret-box.js";

export interface InstanceSecretsReport {
  /** Signing secrets were sealed again under the first key (stored plain or under an older key). */
  resealed(count: number): void;
  /** No HERALD_SECRET_KEYS: signing secrets are stored as issued. */
  storedUnencrypted(): void;
}

/**
 * Start-up step for the secrets an instance needs: seals every webhook signing secret (and every
 * subscription's static push headers, every OIDC signing key) under the
 * first HERALD_SECRET_KEYS key (L2) and installs the ack-id MAC key all instances on the database
 * share (L1), creating it on the first start.
 */
export async function prepareInstanceSecrets(
  store: Store,
  secrets: SecretBox,
  nowMs: number,
  report: InstanceSecretsReport,
): Promise<void> {
  if (secrets.isEncrypting) {
    const resealed =
      (await store.repos.subscribers.resealSigningSecrets()) +
      (await store.repos.subscriptions.resealPushHeaders()) +
      (await store.repos.oidcKeys.resealPrivateKeys());
    if (resealed > 0) report.resealed(resealed);
  } else {
    report.storedUnencrypted();
  }
  const ackKey = await store.repos.instanceKeys.findOrCreate(
    "ack_id_mac",
    randomBytes(32).toString("base64"),
    nowMs,
  );
  useAckIdKey(Buffer.from(ackKey, "base64"));
}
