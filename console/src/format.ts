import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";

/** "3 s", "4 min", "2 h", "5 d": a compact age for tables. */
export function age(seconds: number | bigint): string {
  const s = Number(seconds);
  if (s <= 0) return "–";
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** Local date and time of a timestamp, or "–". */
export function when(ts: Timestamp | undefined): string {
  if (ts === undefined) return "–";
  return new Date(timestampMs(ts)).toLocaleString();
}

export function count(n: number | bigint): string {
  return Number(n).toLocaleString();
}

/** The payload as UTF-8 text when it decodes cleanly, else undefined. */
export function asText(data: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return undefined;
  }
}

/** Pretty-printed JSON when the payload is JSON text, else undefined. */
export function asJson(data: Uint8Array): string | undefined {
  const text = asText(data);
  if (text === undefined) return undefined;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}

/** A hex dump: offset, 16 bytes in hex, and their printable ASCII. */
export function asHex(data: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < data.length; offset += 16) {
    const row = data.subarray(offset, offset + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${offset.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join("\n");
}
