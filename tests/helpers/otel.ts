/**
 * The real OpenTelemetry SDK for tests: a tracer provider recording every
 * span into memory, a meter provider read on demand, and Node-style context
 * (`AsyncLocalStorage`) registered as the global context manager, as the
 * Node SDK would. Nothing else is registered globally.
 *
 * @module
 */

import { context, type Span, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

/** A tracer provider that keeps every finished span. */
export function recordingTracer(): { tracerProvider: BasicTracerProvider; spans: () => ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { tracerProvider, spans: () => exporter.getFinishedSpans() };
}

class ManualReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A meter provider and a function that collects every metric by name. */
export function recordingMeter(): { meterProvider: MeterProvider; collect: () => Promise<Map<string, MetricData>> } {
  const reader = new ManualReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async collect() {
      const { resourceMetrics } = await reader.collect();
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) byName.set(m.descriptor.name, m);
      return byName;
    },
  };
}

/** The data point of `metric` whose attributes include `match`. */
export function point<T = number>(metric: MetricData | undefined, match: Record<string, unknown> = {}): DataPoint<T> {
  const found = (metric?.dataPoints as DataPoint<T>[] | undefined)?.find((p) =>
    Object.entries(match).every(([k, v]) => p.attributes[k] === v)
  );
  if (!found) throw new Error(`no point ${JSON.stringify(match)} in ${metric?.descriptor.name ?? "(missing metric)"}`);
  return found;
}

/** Sum of histogram counts over the points of `metric` matching `match`. */
export function histogramCount(metric: MetricData | undefined, match: Record<string, unknown> = {}): number {
  let n = 0;
  for (const p of (metric?.dataPoints ?? []) as DataPoint<Histogram>[]) {
    if (Object.entries(match).every(([k, v]) => p.attributes[k] === v)) n += p.value.count;
  }
  return n;
}

/** Runs `fn` inside a `request` span of `provider`, as an HTTP server instrumentation would; returns the span's id. */
export async function inRequest(
  provider: BasicTracerProvider,
  fn: () => Promise<unknown>,
): Promise<string> {
  const span: Span = provider.getTracer("test").startSpan("request");
  try {
    await context.with(trace.setSpan(context.active(), span), fn);
  } finally {
    span.end();
  }
  return span.spanContext().spanId;
}

/** The parent span id of `span`. */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
