/**
 * How results reach stdout: aligned tables and "field: value" lists for people, protobuf JSON
 * (camelCase, int64 as strings, timestamps RFC 3339, bytes base64) for scripts with --json.
 */
import { type DescMessage, type JsonValue, type MessageShape, toJson } from "@bufbuild/protobuf";

export type JsonObject = { [key: string]: JsonValue };

/** A message as protobuf JSON, including fields at their default (false, 0, "") so scripts can rely on them. */
export function messageJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonObject {
  return toJson(schema, message, { alwaysEmitImplicit: true }) as JsonObject;
}

/** One JSON document (--json). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One JSON line (--json for pull and tail, which print a stream of messages). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** A JSON value as a table cell or field value: arrays comma-joined, objects as compact JSON. */
export function cell(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map((v) => cell(v)).join(", ");
  if (typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => `${k}=${cell(v)}`)
      .join(" ");
  }
  return String(value);
}

export type Column<Row> = readonly [header: string, value: (row: Row) => string];

const MAX_CELL_CHARS = 60;

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, " ");
  return oneLine.length > MAX_CELL_CHARS ? `${oneLine.slice(0, MAX_CELL_CHARS - 1)}…` : oneLine;
}

/** An aligned table with a header row; long cells are clipped (the --json output keeps everything). */
export function printTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): void {
  const cells = rows.map((row) => columns.map(([, value]) => clip(value(row))));
  const widths = columns.map(([header], i) =>
    Math.max(header.length, ...cells.map((r) => r[i]?.length ?? 0)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  printLine(line(columns.map(([header]) => header)));
  for (const row of cells) printLine(line(row));
}

/** "field: value" lines for one object, in its field order. */
export function printFields(object: JsonObject): void {
  const width = Math.max(0, ...Object.keys(object).map((k) => k.length));
  for (const [key, value] of Object.entries(object))
    printLine(`${`${key}:`.padEnd(width + 1)} ${cell(value)}`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A payload for people: its text when it is printable UTF-8, else "base64:…". */
export function formatData(data: Uint8Array): string {
  try {
    const text = utf8.decode(data);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
    if (!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return text;
  } catch {
    // not UTF-8
  }
  return `base64:${Buffer.from(data).toString("base64")}`;
}

/** Tells the user (on stderr, so stdout stays clean) how to get the next page. */
export function printNextPageHint(nextPageToken: string): void {
  if (nextPageToken !== "") process.stderr.write(`more results: add --page-token ${nextPageToken}\n`);
}
