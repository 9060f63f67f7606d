import { DomainError } from "./domain-error.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8");

function sextet(i: number): string {
  return ALPHABET[i & 63] as string;
}

/** Standard base64 (RFC 4648 §4, `+/`, padded) of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    parts.push(sextet(n >> 18) + sextet(n >> 12) + sextet(n >> 6) + sextet(n));
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    parts.push(`${sextet(n >> 18)}${sextet(n >> 12)}==`);
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    parts.push(`${sextet(n >> 18)}${sextet(n >> 12)}${sextet(n >> 6)}=`);
  }
  return parts.join("");
}

/**
 * Decodes strict standard base64: only `A-Z a-z 0-9 + /`, length a multiple of 4, at most two `=`
 * at the end, unused trailing bits zero (canonical), no whitespace. "" decodes to no bytes.
 * @throws DomainError invalid_argument naming `field` on any other input.
 */
export function decodeBase64(text: string, field = "data"): Uint8Array {
  if (text.length % 4 !== 0) throw DomainError.invalid(field, "base64 length must be a multiple of 4");
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  const dataChars = text.length - padding;
  let out = 0;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < dataChars; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? (DECODE[code] as number) : -1;
    if (value < 0) throw DomainError.invalid(field, `invalid base64 character at offset ${i}`);
    buffer = ((buffer << 6) | value) & 0xffff; // only the unread low bits matter
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[out++] = (buffer >> bits) & 0xff;
    }
  }
  // Leftover bits (4 after "==", 2 after "=") must be zero, or two strings would decode alike.
  if ((buffer & ((1 << bits) - 1)) !== 0)
    throw DomainError.invalid(field, "base64 has non-zero padding bits");
  return bytes;
}

/** Input of {@link newDataMessage}. */
export interface NewDataMessageInput {
  messageId: string;
  /** Publication time, epoch ms. */
  publishTimeMs: number;
  identifier: string;
  /** Payload bytes, or text stored as its UTF-8 bytes. */
  data: Uint8Array | string;
  /** Default "" (no ordering). */
  orderingKey?: string;
  /** Default none; copied. */
  attributes?: Record<string, string>;
}

/** A message with the metadata a subscriber receives; the payload is bytes. */
export class DataMessage {
  messageId: string;
  /** Publication time, epoch ms. */
  publishTimeMs: number;
  orderingKey: string;
  attributes: Record<string, string>;
  data: Uint8Array;
  identifier: string;

  constructor(input: NewDataMessageInput) {
    this.messageId = input.messageId;
    this.publishTimeMs = input.publishTimeMs;
    this.orderingKey = input.orderingKey ?? "";
    this.attributes = { ...input.attributes };
    this.data = typeof input.data === "string" ? utf8Encoder.encode(input.data) : input.data;
    this.identifier = input.identifier;
  }

  /** The payload as standard padded base64. */
  toBase64(): string {
    return encodeBase64(this.data);
  }

  /** The payload decoded as UTF-8; invalid sequences become U+FFFD. */
  toString(): string {
    return utf8Decoder.decode(this.data);
  }

  /** Replaces the payload with the UTF-8 bytes of `text`. */
  fromString(text: string): void {
    this.data = utf8Encoder.encode(text);
  }

  /**
   * Replaces the payload with the bytes of strict base64 `text`; on invalid input the payload is unchanged.
   * @throws DomainError invalid_argument (field `data`) when `text` is not strict standard base64.
   */
  fromBase64(text: string): void {
    this.data = decodeBase64(text);
  }
}

/**
 * Creates a data message, keeping the publish time.
 * A string payload is stored as UTF-8.
 */
export function newDataMessage(input: NewDataMessageInput): DataMessage {
  return new DataMessage(input);
}
