import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { BinaryReader, type WireType } from "@bufbuild/protobuf/wire";

/** One span as the receiver decoded it (OTLP protobuf or JSON), ids as lowercase hex. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  /** service.name of the resource that sent it. */
  serviceName: string;
}

/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1:0: POST /v1/traces in protobuf
 * (application/x-protobuf) or JSON (application/json), answered 200 with an empty
 * ExportTraceServiceResponse. Records every span and the content type each export used.
 */
export async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const type = String(req.headers["content-type"] ?? "");
      contentTypes.push(type);
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      try {
        spans.push(...(type.includes("json") ? decodeJson(body) : decodeProtobuf(body)));
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (type.includes("json")) res.writeHead(200, { "content-type": "application/json" }).end("{}");
      else res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    /** The base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to /v1/traces under it. */
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

// OTLP JSON: ids are hex strings, enums numbers, AnyValue one of stringValue/intValue/boolValue/doubleValue.
interface JsonAnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: JsonKeyValue[];
  links?: { traceId: string; spanId: string }[];
}

function jsonValue(v: JsonAnyValue | undefined): string | number | boolean {
  if (v?.stringValue !== undefined) return v.stringValue;
  if (v?.intValue !== undefined) return Number(v.intValue);
  if (v?.boolValue !== undefined) return v.boolValue;
  return v?.doubleValue ?? "";
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));
}

function decodeJson(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString("utf8")) as {
    resourceSpans?: {
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans?: { spans?: JsonSpan[] }[];
    }[];
  };
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const serviceName = String(jsonAttributes(rs.resource?.attributes)["service.name"] ?? "");
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId.toLowerCase(),
        spanId: s.spanId.toLowerCase(),
        parentSpanId: (s.parentSpanId ?? "").toLowerCase(),
        name: s.name,
        kind: s.kind ?? 0,
        attributes: jsonAttributes(s.attributes),
        links: (s.links ?? []).map((l) => ({
          traceId: l.traceId.toLowerCase(),
          spanId: l.spanId.toLowerCase(),
        })),
        serviceName,
      })),
    );
  });
}

/** Reads the length-delimited fields of one message, calling `on` with each field number and a reader at its value. */
function fields(
  bytes: Uint8Array,
  on: (field: number, reader: BinaryReader, wireType: WireType) => void,
): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    const before = reader.pos;
    on(field, reader, wireType);
    if (reader.pos === before) reader.skip(wireType, field);
  }
}

function anyValue(bytes: Uint8Array): string | number | boolean {
  let value: string | number | boolean = "";
  fields(bytes, (field, r) => {
    if (field === 1) value = r.string();
    else if (field === 2) value = r.bool();
    else if (field === 3) value = Number(r.int64());
    else if (field === 4) value = r.double();
  });
  return value;
}

function keyValue(bytes: Uint8Array): [string, string | number | boolean] {
  let key = "";
  let value: string | number | boolean = "";
  fields(bytes, (field, r) => {
    if (field === 1) key = r.string();
    else if (field === 2) value = anyValue(r.bytes());
  });
  return [key, value];
}

function decodeSpan(bytes: Uint8Array, serviceName: string): ReceivedSpan {
  const span: ReceivedSpan = {
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    kind: 0,
    attributes: {},
    links: [],
    serviceName,
  };
  fields(bytes, (field, r) => {
    if (field === 1) span.traceId = hex(r.bytes());
    else if (field === 2) span.spanId = hex(r.bytes());
    else if (field === 4) span.parentSpanId = hex(r.bytes());
    else if (field === 5) span.name = r.string();
    else if (field === 6) span.kind = r.int32();
    else if (field === 9) {
      const [k, v] = keyValue(r.bytes());
      span.attributes[k] = v;
    } else if (field === 13) {
      const link = { traceId: "", spanId: "" };
      fields(r.bytes(), (f, lr) => {
        if (f === 1) link.traceId = hex(lr.bytes());
        else if (f === 2) link.spanId = hex(lr.bytes());
      });
      span.links.push(link);
    }
  });
  return span;
}

/** ExportTraceServiceRequest → ResourceSpans (1) → Resource (1), ScopeSpans (2) → Span (2). */
function decodeProtobuf(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  fields(body, (field, r) => {
    if (field !== 1) return;
    let serviceName = "";
    const scopes: Uint8Array[] = [];
    fields(r.bytes(), (f, rr) => {
      if (f === 1) {
        fields(rr.bytes(), (af, ar) => {
          if (af !== 1) return;
          const [k, v] = keyValue(ar.bytes());
          if (k === "service.name") serviceName = String(v);
        });
      } else if (f === 2) scopes.push(rr.bytes());
    });
    for (const scope of scopes) {
      fields(scope, (sf, sr) => {
        if (sf === 2) spans.push(decodeSpan(sr.bytes(), serviceName));
      });
    }
  });
  return spans;
}
