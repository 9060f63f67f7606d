import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** Prefix of a secret sealed by SecretBox, version 1: `enc1:<key id>:<base64url(iv ‖ ciphertext ‖ tag)>`. */
const SEALED_V1 = "enc1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Encrypts secrets Herald must keep readable (webhook signing secrets) before they reach the database. */
export interface SecretSealer {
  /** The stored form of `plain` (unchanged when no key is configured). */
  seal(plain: string): string;
  /** The plain secret of a stored value: sealed under any configured key, or plain (older rows). */
  open(stored: string): string;
  /** Whether a stored value should be sealed again: plain while a key is configured, or under a non-primary key. */
  needsReseal(stored: string): boolean;
}

/** Short public id of a key, stored with each sealed value so decryption picks the right key. */
function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

/**
 * AES-256-GCM under keys from HERALD_SECRET_KEYS (L2). The first key seals; every key opens, so
 * keys rotate by putting a new key first and keeping the old one listed until the start-up reseal
 * has run. Without keys it stores secrets as issued (the caller warns loudly).
 */
export class SecretBox implements SecretSealer {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly primaryId: string | undefined;

  /** `keys`: 32-byte AES keys, the first one seals. */
  constructor(keys: readonly Buffer[]) {
    for (const key of keys) if (key.length !== 32) throw new Error("secret keys must be 32 bytes");
    this.keys = new Map(keys.map((k) => [keyIdOf(k), k]));
    this.primaryId = keys[0] ? keyIdOf(keys[0]) : undefined;
  }

  get isEncrypting(): boolean {
    return this.primaryId !== undefined;
  }

  seal(plain: string): string {
    if (this.primaryId === undefined) return plain;
    const key = this.keys.get(this.primaryId) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    // The key id is authenticated too: a value cannot be moved under another key's label.
    cipher.setAAD(Buffer.from(this.primaryId));
    const body = Buffer.concat([iv, cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${SEALED_V1}${this.primaryId}:${body.toString("base64url")}`;
  }

  open(stored: string): string {
    if (!stored.startsWith(SEALED_V1)) return stored;
    const [keyId = "", encoded = ""] = stored.slice(SEALED_V1.length).split(":");
    const key = this.keys.get(keyId);
    if (!key) {
      throw new Error(
        `a signing secret is sealed under key ${keyId}, which HERALD_SECRET_KEYS does not list`,
      );
    }
    const body = Buffer.from(encoded, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, body.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
  }

  needsReseal(stored: string): boolean {
    if (this.primaryId === undefined) return false;
    return !stored.startsWith(`${SEALED_V1}${this.primaryId}:`);
  }
}

/** Stores secrets as issued: the store's default when nothing seals (tests, tools). */
export const PLAIN_SECRETS: SecretSealer = new SecretBox([]);
