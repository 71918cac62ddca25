/**
 * `@dewey/db/otel`: OpenTelemetry traces and metrics for @dewey/db, following
 * the database client semantic conventions. It uses `@opentelemetry/api` only:
 * whatever SDK the application registered (Deno's built-in one under
 * `OTEL_DENO=true`, the Node SDK, a Workers setup) receives the spans and
 * metrics; with none registered it does no span or metric work.
 *
 * - A span per statement (`SELECT users`, kind CLIENT) under the caller's
 *   active span, with a `pool wait` child when it queued for a connection and a
 *   `retry` event when it was sent again on another connection.
 * - A `transaction` span per session over its statements (BEGIN, the caller's,
 *   COMMIT), `savepoint` spans inside it, a `settle COMMIT` span when the
 *   connection died during COMMIT; the session callback runs in its context.
 * - A `connect` span per connection attempt (TLS protocol and cipher when the
 *   driver tells), under a `reconnect` span while the server is down.
 * - The metrics `db.client.operation.duration` and `db.client.connection.*`
 *   (see `docs/operations.md`).
 *
 * @example Deno (`OTEL_DENO=true deno run -A app.ts`)
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 * import { otel } from "jsr:@dewey/db/otel";
 * const db = await getConnection(Deno.env.get("DATABASE_URL")!, { telemetry: otel() });
 * ```
 *
 * @module
 */

import {
  type BatchObservableResult,
  type Context,
  context,
  createNoopMeter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import type {
  ConnectionInfo,
  ConnectTrace,
  Instrumentation,
  InstrumentedDatabase,
  QueryResult,
  SessionTrace,
  StatementTrace,
  Telemetry,
} from "../src/contracts.ts";
import { poolGauges, watchPool } from "./pool_metrics.ts";
import {
  type Attributes,
  CONNECTION_STATE,
  Conventions,
  type Described,
  DURATION_BUCKETS,
  errorAttributes,
  METRIC,
  type MetricSpec,
  POOL_NAME,
  type QueryTextMode,
} from "./semconv.ts";

export type { Instrumentation, QueryTextMode };

/** An `@opentelemetry/api` `TracerProvider`, such as an SDK's; typed loosely so any API version's fits. */
export interface TracerProviderLike {
  /** Returns a tracer. */
  getTracer(name: string, version?: string): unknown;
}

/** An `@opentelemetry/api` `MeterProvider`, such as an SDK's; typed loosely so any API version's fits. */
export interface MeterProviderLike {
  /** Returns a meter. */
  getMeter(name: string, version?: string): unknown;
}

/** Options of {@linkcode otel}. */
export interface OtelOptions {
  /** Where spans go; default the globally registered provider (Deno's built-in one, the Node SDK's). */
  tracerProvider?: TracerProviderLike;
  /** Where metrics go; default the globally registered provider. */
  meterProvider?: MeterProviderLike;
  /** Record spans (default true). */
  traces?: boolean;
  /** Record metrics (default true). */
  metrics?: boolean;
  /** `db.client.connection.pool.name`; default `host:port/dbname`. Give each database of a process its own. */
  poolName?: string;
  /**
   * `db.query.text`: `sanitized` (default: statements without parameters get their literals replaced by `?`;
   * parameter values are never recorded), `raw` (as written, still redacted), or `off`.
   */
  queryText?: QueryTextMode;
}

/** The instrumentation scope of every span and instrument. */
const SCOPE = "@dewey/db";

/**
 * The OpenTelemetry instrumentation, for the `telemetry` option (or `db.instrument()`).
 *
 * @example Node: register the SDK first, then hand `otel()` to the database
 * ```ts ignore
 * import { NodeSDK } from "@opentelemetry/sdk-node";
 * import { getConnection } from "@dewey/db";
 * import { otel } from "@dewey/db/otel";
 * new NodeSDK().start();
 * const db = await getConnection(process.env.DATABASE_URL!, { telemetry: otel() });
 * ```
 *
 * @example With explicit providers (no global registration)
 * ```ts ignore
 * const db = new DatabaseConnection(url, { telemetry: otel({ tracerProvider, meterProvider }) });
 * ```
 */
export function otel(options: OtelOptions = {}): Instrumentation {
  return { attach: (db) => new OtelTelemetry(db, options) };
}

/** Operations between two looks at the registered providers: an SDK registered later is used from the next look. */
const LOOK_EVERY = 256;

/** The prototype of the API's no-op meter: a meter from the no-op provider means no SDK is registered. */
const NOOP_METER = Object.getPrototypeOf(createNoopMeter());

interface Instruments {
  duration: Histogram;
  stop(): void;
}

/** The hooks of `otel()` on one database. */
class OtelTelemetry implements Telemetry {
  readonly conventions: Conventions;
  #db: InstrumentedDatabase;
  #options: OtelOptions;
  #tracerSource: unknown;
  #tracer: Tracer | undefined;
  #meterSource: MeterProvider | undefined;
  #instruments: Instruments | undefined;
  #outage: Span | undefined;
  #countdown = 0;
  #offEvents: (() => void)[] = [];

  constructor(db: InstrumentedDatabase, options: OtelOptions) {
    this.#db = db;
    this.#options = options;
    this.conventions = new Conventions(db.config, options);
    if (options.traces !== false) {
      this.#offEvents.push(
        db.on("reconnecting", (e) => this.#reconnecting(e.detail)),
        db.on("reconnected", (e) => this.#reconnected(e.detail)),
      );
    }
  }

  /** The tracer of the current provider, or undefined when no SDK is registered (as of the last look). */
  tracer(): Tracer | undefined {
    return this.#tracer;
  }

  /**
   * Looks at the registered providers again, every {@linkcode LOOK_EVERY} operations: registration is rare, and
   * looking costs more than the rest of declining a statement when no SDK is there.
   */
  #look(): void {
    if (--this.#countdown > 0) return;
    this.#countdown = LOOK_EVERY;
    this.#lookTracer();
    this.#lookMeter();
  }

  #lookTracer(): void {
    if (this.#options.traces === false) return;
    const explicit = this.#options.tracerProvider;
    // The API's provider is a proxy whose delegate stays a no-op until an SDK registers: ask it, once per delegate.
    const provider = (explicit as TracerProvider | undefined ?? trace.getTracerProvider()) as TracerProvider & {
      getDelegate?: () => TracerProvider;
      getDelegateTracer?: (name: string) => Tracer | undefined;
    };
    const source = provider.getDelegate?.() ?? provider;
    if (source !== this.#tracerSource) {
      this.#tracerSource = source;
      this.#tracer = provider.getDelegateTracer ? provider.getDelegateTracer(SCOPE) : provider.getTracer(SCOPE);
    }
  }

  #lookMeter(): void {
    if (this.#options.metrics === false) return;
    const provider = this.#options.meterProvider as MeterProvider | undefined ?? metrics.getMeterProvider();
    if (provider !== this.#meterSource) {
      this.#meterSource = provider;
      this.#instruments?.stop();
      const meter = provider.getMeter(SCOPE);
      this.#instruments = Object.getPrototypeOf(meter) === NOOP_METER ? undefined : this.#instrument(meter);
    }
  }

  statement(text: string, params: readonly unknown[] | undefined): StatementTrace | undefined {
    return this.child(text, params, undefined);
  }

  /** A statement under `parent` (a session's span), or under the caller's active context. */
  child(text: string, params: readonly unknown[] | undefined, parent: Span | undefined): StatementTrace | undefined {
    this.#look();
    const tracer = this.#tracer;
    const instruments = this.#instruments;
    if (tracer === undefined && instruments === undefined) return undefined;
    const described = this.conventions.describe(text);
    let span: Span | undefined;
    if (tracer !== undefined) {
      span = recording(tracer.startSpan(
        described.shape.summary || "postgresql",
        { kind: SpanKind.CLIENT, attributes: this.conventions.statement(described, params) },
        under(parent),
      ));
    }
    if (span === undefined && instruments === undefined) return undefined;
    return new OtelStatement(this, span, instruments, described);
  }

  session(attempt: number): SessionTrace | undefined {
    this.#look();
    const tracer = this.#tracer;
    const instruments = this.#instruments;
    if (tracer === undefined && instruments === undefined) return undefined;
    const attributes: Attributes = { ...this.conventions.base };
    if (attempt > 1) attributes["dewey.session.attempt"] = attempt;
    const span = tracer && recording(tracer.startSpan("transaction", { attributes }, context.active()));
    if (span === undefined && instruments === undefined) return undefined;
    return new OtelSession(this, span);
  }

  connect(target: string): ConnectTrace | undefined {
    this.#look();
    const tracer = this.#tracer;
    if (tracer === undefined) return undefined;
    const attributes: Attributes = { ...this.conventions.base, "dewey.connect.target": target };
    const span = recording(tracer.startSpan("connect", { kind: SpanKind.CLIENT, attributes }, under(this.#outage)));
    if (span === undefined) return undefined;
    const conventions = this.conventions;
    return {
      end(error: unknown, info?: ConnectionInfo) {
        if (info?.host !== undefined) span.setAttribute("network.peer.address", info.host);
        if (info?.port !== undefined) span.setAttribute("network.peer.port", info.port);
        if (info?.tls === null) span.setAttribute("tls.established", false);
        else if (info?.tls) {
          span.setAttribute("tls.established", true);
          span.setAttribute("tls.protocol.name", "tls");
          const version = /^TLSv?(\d(?:\.\d)?)$/i.exec(info.tls.protocol ?? "")?.[1];
          if (version) span.setAttribute("tls.protocol.version", version);
          if (info.tls.cipher) span.setAttribute("tls.cipher", info.tls.cipher);
        }
        finish(span, error, conventions);
      },
    };
  }

  /** A `pool wait` span under `parent`, ended by the returned function. */
  waiting(parent: Span | undefined): () => void {
    if (parent === undefined) return noop;
    const span = this.#tracer?.startSpan(
      "pool wait",
      { attributes: { [POOL_NAME]: this.conventions.poolName } },
      under(parent),
    );
    return span ? () => span.end() : noop;
  }

  close(): void {
    for (const off of this.#offEvents.splice(0)) off();
    this.#instruments?.stop();
    this.#instruments = undefined;
    this.#meterSource = undefined;
    this.#outage?.end();
    this.#outage = undefined;
  }

  #instrument(meter: Meter): Instruments {
    const pool = { [POOL_NAME]: this.conventions.poolName };
    const seconds = ({ name, unit, description }: MetricSpec) =>
      meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] } });
    const gauge = ({ name, unit, description }: MetricSpec) =>
      meter.createObservableUpDownCounter(name, { unit, description });
    const duration = seconds(METRIC.operationDuration);
    const create = seconds(METRIC.createTime);
    const wait = seconds(METRIC.waitTime);
    const use = seconds(METRIC.useTime);
    const count = gauge(METRIC.connectionCount);
    const max = gauge(METRIC.connectionMax);
    const idleMin = gauge(METRIC.idleMin);
    const pending = gauge(METRIC.pendingRequests);
    const { name, unit, description } = METRIC.timeouts;
    const timeouts = meter.createObservableCounter(name, { unit, description });
    const observables = [count, max, idleMin, pending, timeouts];
    const observe = (result: BatchObservableResult) => {
      const g = poolGauges(this.#db.stats());
      result.observe(count, g.idle, { ...pool, [CONNECTION_STATE]: "idle" });
      result.observe(count, g.used, { ...pool, [CONNECTION_STATE]: "used" });
      result.observe(max, g.max, pool);
      result.observe(idleMin, g.idleMin, pool);
      result.observe(pending, g.pending, pool);
      result.observe(timeouts, g.timeouts, pool);
    };
    meter.addBatchObservableCallback(observe, observables);
    const unwatch = watchPool(this.#db, {
      created: (s) => create.record(s, pool),
      waited: (s) => wait.record(s, pool),
      used: (s) => use.record(s, pool),
    });
    return {
      duration,
      stop() {
        unwatch();
        meter.removeBatchObservableCallback(observe, observables);
      },
    };
  }

  #reconnecting(detail: { attempt: number; delayMs: number; downSince: string; error: string }): void {
    this.#look();
    const tracer = this.#tracer;
    if (tracer === undefined) return;
    this.#outage ??= tracer.startSpan("reconnect", {
      attributes: { ...this.conventions.base, [POOL_NAME]: this.conventions.poolName },
      startTime: new Date(detail.downSince),
      root: true, // an outage belongs to no caller's request
    });
    this.#outage.addEvent("retry scheduled", {
      "dewey.reconnect.attempt": detail.attempt,
      "dewey.reconnect.delay_ms": detail.delayMs,
      "dewey.reconnect.error": detail.error,
    });
  }

  #reconnected(detail: { downtimeMs: number; attempts: number }): void {
    const span = this.#outage;
    if (span === undefined) return;
    this.#outage = undefined;
    span.setAttribute("dewey.reconnect.attempts", detail.attempts);
    span.setAttribute("dewey.reconnect.downtime_ms", detail.downtimeMs);
    span.end();
  }
}

/** One statement: its span (when sampled) and its duration metric (when metrics are on). */
class OtelStatement implements StatementTrace {
  #owner: OtelTelemetry;
  #span: Span | undefined;
  #instruments: Instruments | undefined;
  #described: Described;
  #start = performance.now();

  constructor(
    owner: OtelTelemetry,
    span: Span | undefined,
    instruments: Instruments | undefined,
    described: Described,
  ) {
    this.#owner = owner;
    this.#span = span;
    this.#instruments = instruments;
    this.#described = described;
  }

  waiting(): () => void {
    return this.#owner.waiting(this.#span);
  }

  retry(error: unknown): void {
    this.#span?.addEvent("retry", errorAttributes(error));
  }

  end(error: unknown, _result?: QueryResult): void {
    if (this.#span !== undefined) finish(this.#span, error, this.#owner.conventions);
    const seconds = (performance.now() - this.#start) / 1000;
    this.#instruments?.duration.record(seconds, this.#owner.conventions.metric(this.#described, error));
  }
}

/** A session or savepoint: a span over its statements. */
class OtelSession implements SessionTrace {
  #owner: OtelTelemetry;
  #span: Span | undefined;

  constructor(owner: OtelTelemetry, span: Span | undefined) {
    this.#owner = owner;
    this.#span = span;
  }

  statement(text: string, params: readonly unknown[] | undefined): StatementTrace | undefined {
    return this.#owner.child(text, params, this.#span);
  }

  savepoint(name: string): SessionTrace {
    const attributes = { ...this.#owner.conventions.base, "dewey.savepoint": name };
    const span = this.#span &&
      recording(this.#owner.tracer()?.startSpan("savepoint", { attributes }, under(this.#span)));
    return new OtelSession(this.#owner, span);
  }

  waiting(): () => void {
    return this.#owner.waiting(this.#span);
  }

  retry(error: unknown): void {
    this.#span?.addEvent("retry", errorAttributes(error));
  }

  settling(): (outcome: "committed" | "aborted" | "unknown") => void {
    const span = this.#span && this.#owner.tracer()?.startSpan("settle COMMIT", {}, under(this.#span));
    return (outcome) => {
      span?.setAttribute("dewey.commit.outcome", outcome);
      span?.end();
    };
  }

  within<T>(fn: () => T): T {
    return this.#span === undefined ? fn() : context.with(trace.setSpan(context.active(), this.#span), fn);
  }

  end(error: unknown, outcome: "committed" | "rolled back"): void {
    if (this.#span === undefined) return;
    this.#span.setAttribute("dewey.session.outcome", outcome);
    finish(this.#span, error, this.#owner.conventions);
  }
}

/** The context a child of `parent` starts in: under `parent`, else under the caller's active span. */
function under(parent: Span | undefined): Context {
  return parent === undefined ? context.active() : trace.setSpan(context.active(), parent);
}

/** `span` when it records (sampled, an SDK behind it), else undefined: nothing more is spent on it. */
function recording(span: Span | undefined): Span | undefined {
  return span?.isRecording() ? span : undefined;
}

/** Ends `span`, marking it failed with `error` (redacted by the configuration's redactor) when there is one. */
function finish(span: Span, error: unknown, conventions: Conventions): void {
  if (error !== undefined) {
    span.setAttributes(errorAttributes(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: conventions.message(error) });
  }
  span.end();
}

function noop(): void {}
