/**
 * A small OTLP/HTTP receiver for tests: accepts what an exporter posts to
 * `/v1/traces` and `/v1/metrics` (protobuf, Deno's default, or JSON) and
 * decodes the parts tests look at: spans with their ids, parents, names and
 * attributes, and metric names. The protobuf reader covers the wire format
 * only as far as those messages need.
 *
 * @module
 */

/** A received span. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  scope: string;
}

/** What the receiver got so far. */
export interface OtlpReceiver extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  endpoint: string;
  spans: OtlpSpan[];
  metricNames: Set<string>;
  /** Content types seen, by path. */
  contentTypes: Map<string, string>;
}

/** Starts a receiver on a free port. */
export function otlpReceiver(): OtlpReceiver {
  const spans: OtlpSpan[] = [];
  const metricNames = new Set<string>();
  const contentTypes = new Map<string, string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const type = req.headers.get("content-type") ?? "";
    contentTypes.set(path, type);
    const body = new Uint8Array(await req.arrayBuffer());
    if (type.includes("json")) {
      const json = JSON.parse(new TextDecoder().decode(body));
      if (path === "/v1/traces") spans.push(...spansFromJson(json));
      else if (path === "/v1/metrics") { for (const n of metricNamesFromJson(json)) metricNames.add(n); }
    } else {
      if (path === "/v1/traces") spans.push(...spansFromProtobuf(body));
      else if (path === "/v1/metrics") { for (const n of metricNamesFromProtobuf(body)) metricNames.add(n); }
    }
    return new Response(null, { status: 200 });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    spans,
    metricNames,
    contentTypes,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

// ---- protobuf -----------------------------------------------------------------------------------

type Field = { no: number; wire: number; bytes?: Uint8Array; int?: bigint };

/** The fields of one message, in order. */
function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, int: varint() });
    else if (wire === 1) out.push({ no, wire, bytes: buf.subarray(i, i += 8) });
    else if (wire === 5) out.push({ no, wire, bytes: buf.subarray(i, i += 4) });
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, bytes: buf.subarray(i, i += len) });
    } else throw new Error(`protobuf wire type ${wire} not handled`);
  }
  return out;
}

const all = (buf: Uint8Array, no: number) => fields(buf).filter((f) => f.no === no).map((f) => f.bytes!);
const first = (buf: Uint8Array, no: number) => fields(buf).find((f) => f.no === no);
const text = (b?: Uint8Array) => b ? new TextDecoder().decode(b) : "";
const hex = (b?: Uint8Array) => b ? [...b].map((x) => x.toString(16).padStart(2, "0")).join("") : "";

function anyValue(buf: Uint8Array): string | number | boolean {
  const f = fields(buf)[0];
  if (!f) return "";
  if (f.no === 1) return text(f.bytes);
  if (f.no === 2) return f.int === 1n;
  if (f.no === 3) return Number(f.int);
  if (f.no === 4) return new DataView(f.bytes!.buffer, f.bytes!.byteOffset, 8).getFloat64(0, true);
  return `(field ${f.no})`;
}

/** ExportTraceServiceRequest → ResourceSpans(1) → ScopeSpans(2) → Span(2). */
function spansFromProtobuf(body: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (const resource of all(body, 1)) {
    for (const scopeSpans of all(resource, 2)) {
      const scope = text(first(first(scopeSpans, 1)?.bytes ?? new Uint8Array(), 1)?.bytes);
      for (const s of all(scopeSpans, 2)) {
        const attributes: OtlpSpan["attributes"] = {};
        for (const kv of all(s, 9)) {
          attributes[text(first(kv, 1)?.bytes)] = anyValue(first(kv, 2)?.bytes ?? new Uint8Array());
        }
        spans.push({
          traceId: hex(first(s, 1)?.bytes),
          spanId: hex(first(s, 2)?.bytes),
          parentSpanId: hex(first(s, 4)?.bytes),
          name: text(first(s, 5)?.bytes),
          kind: Number(first(s, 6)?.int ?? 0),
          attributes,
          scope,
        });
      }
    }
  }
  return spans;
}

/** ExportMetricsServiceRequest → ResourceMetrics(1) → ScopeMetrics(2) → Metric(2) → name(1). */
function metricNamesFromProtobuf(body: Uint8Array): string[] {
  const names: string[] = [];
  for (const resource of all(body, 1)) {
    for (const scope of all(resource, 2)) for (const metric of all(scope, 2)) names.push(text(first(metric, 1)?.bytes));
  }
  return names;
}

// ---- JSON ---------------------------------------------------------------------------------------

// deno-lint-ignore no-explicit-any
type Json = any;

function spansFromJson(json: Json): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (const r of json.resourceSpans ?? []) {
    for (const ss of r.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const attributes: OtlpSpan["attributes"] = {};
        for (const kv of s.attributes ?? []) {
          const v = kv.value ?? {};
          attributes[kv.key] = v.stringValue ?? v.boolValue ??
            (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue);
        }
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? "",
          name: s.name,
          kind: s.kind ?? 0,
          attributes,
          scope: ss.scope?.name ?? "",
        });
      }
    }
  }
  return spans;
}

function metricNamesFromJson(json: Json): string[] {
  return (json.resourceMetrics ?? []).flatMap((r: Json) =>
    (r.scopeMetrics ?? []).flatMap((s: Json) => (s.metrics ?? []).map((m: Json) => m.name))
  );
}
