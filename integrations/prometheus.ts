/**
 * `@dewey/db/prometheus`: the database client metrics of the OpenTelemetry
 * conventions in Prometheus text exposition format (0.0.4), served by a
 * web-standard handler, with no OpenTelemetry setup. Names follow what an
 * OpenTelemetry collector's Prometheus exporter would produce
 * (`db.client.operation.duration` in seconds → `db_client_operation_duration_seconds`),
 * so one dashboard works for both.
 *
 * @example A `/metrics` route next to `/healthz`
 * ```ts ignore
 * import { getConnection, healthHandler } from "jsr:@dewey/db";
 * import { metricsHandler } from "jsr:@dewey/db/prometheus";
 * const db = await getConnection(Deno.env.get("DATABASE_URL")!);
 * const healthz = healthHandler(db);
 * const metrics = metricsHandler(db);
 * Deno.serve((req) => {
 *   const { pathname } = new URL(req.url);
 *   return pathname === "/metrics" ? metrics(req) : pathname === "/healthz" ? healthz(req) : new Response("hi");
 * });
 * ```
 *
 * @module
 */

import type {
  Instrumentation,
  InstrumentedDatabase,
  SessionTrace,
  StatementTrace,
  Telemetry,
} from "../src/contracts.ts";
import { poolGauges, watchPool } from "./pool_metrics.ts";
import {
  type Attributes,
  CONNECTION_STATE,
  Conventions,
  DURATION_BUCKETS,
  METRIC,
  type MetricSpec,
  POOL_NAME,
  type QueryTextMode,
} from "./semconv.ts";

export type { Instrumentation, InstrumentedDatabase };

/** A database `metricsHandler` can observe: a `DatabaseConnection`. */
export interface MeteredDatabase extends InstrumentedDatabase {
  /** Attaches an instrumentation; returns the detach function. */
  instrument(instrumentation: Instrumentation): () => void;
}

/** Options of {@linkcode metricsHandler}. */
export interface MetricsHandlerOptions {
  /** `db.client.connection.pool.name`; default `host:port/dbname`. */
  poolName?: string;
}

/** Label sets kept per histogram; past it, new statements are counted without summary, operation and table. */
const SERIES_MAX = 500;

/**
 * A web-standard handler for a `/metrics` route: the pool and statement
 * metrics of `db` in Prometheus text format 0.0.4. Statement and pool timings
 * are collected from the moment it is created; the pool sizes and the timeout
 * counter cover the database's whole life.
 *
 * @example
 * ```ts ignore
 * import { metricsHandler } from "jsr:@dewey/db/prometheus";
 * const metrics = metricsHandler(db);
 * const text = await metrics(new Request("http://localhost/metrics")).text();
 * ```
 */
export function metricsHandler(db: MeteredDatabase, options: MetricsHandlerOptions = {}): (req: Request) => Response {
  const collector = new Collector(db, options.poolName);
  db.instrument({ attach: () => collector });
  return (_req: Request) =>
    new Response(collector.render(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
    });
}

/** Bucket counts, sum and count of one label set. */
class Series {
  readonly counts: number[] = new Array(DURATION_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  record(seconds: number): void {
    this.sum += seconds;
    this.count++;
    const i = DURATION_BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) this.counts[i]++;
  }
}

/** A histogram in seconds: a series per label set. */
class Histogram {
  readonly series = new Map<string, { labels: Attributes; values: Series }>();

  readonly name: string;
  readonly help: string;

  constructor(spec: MetricSpec) {
    this.name = promName(spec);
    this.help = spec.description;
  }

  /** Label text by attributes object: a statement's success attributes are one object per text. */
  readonly #keys = new WeakMap<Attributes, string>();

  record(seconds: number, labels: Attributes, fallback?: () => Attributes): void {
    let key = this.#keys.get(labels);
    if (key === undefined) this.#keys.set(labels, key = labelText(labels));
    let entry = this.series.get(key);
    if (entry === undefined) {
      if (this.series.size >= SERIES_MAX && fallback) {
        labels = fallback();
        key = labelText(labels);
        entry = this.series.get(key);
      }
      if (entry === undefined) this.series.set(key, entry = { labels, values: new Series() });
    }
    entry.values.record(seconds);
  }
}

/** The hooks `metricsHandler` attaches: statement durations here, pool timings from events. */
class Collector implements Telemetry {
  readonly #db: MeteredDatabase;
  readonly #conventions: Conventions;
  readonly #pool: Attributes;
  readonly #duration = new Histogram(METRIC.operationDuration);
  readonly #create = new Histogram(METRIC.createTime);
  readonly #wait = new Histogram(METRIC.waitTime);
  readonly #use = new Histogram(METRIC.useTime);
  readonly #unwatch: () => void;
  readonly #session: SessionTrace;

  constructor(db: MeteredDatabase, poolName: string | undefined) {
    this.#db = db;
    // The query text is never exported here: only its summary, as a label.
    const queryText: QueryTextMode = "off";
    this.#conventions = new Conventions(db.config, { poolName, queryText });
    this.#pool = { [POOL_NAME]: this.#conventions.poolName };
    this.#unwatch = watchPool(db, {
      created: (s) => this.#create.record(s, this.#pool),
      waited: (s) => this.#wait.record(s, this.#pool),
      used: (s) => this.#use.record(s, this.#pool),
    });
    // A session records nothing of its own: only its statements, as any other.
    const session: SessionTrace = {
      statement: (text) => this.statement(text),
      savepoint: () => session,
      waiting: () => noop,
      retry: noop,
      settling: () => noop,
      within: (fn) => fn(),
      end: noop,
    };
    this.#session = session;
  }

  statement(text: string): StatementTrace {
    const start = performance.now();
    const described = this.#conventions.describe(text);
    return {
      waiting: () => noop,
      retry: noop,
      end: (error) => {
        const labels = this.#conventions.metric(described, error);
        this.#duration.record((performance.now() - start) / 1000, labels, () => coarse(labels));
      },
    };
  }

  session(): SessionTrace {
    return this.#session;
  }

  connect(): undefined {
    return undefined;
  }

  close(): void {
    this.#unwatch();
  }

  /** The exposition text. */
  render(): string {
    const g = poolGauges(this.#db.stats());
    const lines: string[] = [];
    histogram(lines, this.#duration);
    gauge(lines, METRIC.connectionCount, [
      [{ ...this.#pool, [CONNECTION_STATE]: "idle" }, g.idle],
      [{ ...this.#pool, [CONNECTION_STATE]: "used" }, g.used],
    ]);
    gauge(lines, METRIC.connectionMax, [[this.#pool, g.max]]);
    gauge(lines, METRIC.idleMin, [[this.#pool, g.idleMin]]);
    gauge(lines, METRIC.pendingRequests, [[this.#pool, g.pending]]);
    const timeouts = promName(METRIC.timeouts) + "_total";
    lines.push(
      `# HELP ${timeouts} ${METRIC.timeouts.description}`,
      `# TYPE ${timeouts} counter`,
      `${timeouts}${labelText(this.#pool)} ${g.timeouts}`,
    );
    histogram(lines, this.#create);
    histogram(lines, this.#wait);
    histogram(lines, this.#use);
    return lines.join("\n") + "\n";
  }
}

function noop(): void {}

/** `labels` without the per-statement ones, for statements past the series limit. */
function coarse(labels: Attributes): Attributes {
  const { "db.query.summary": _summary, "db.operation.name": _operation, "db.collection.name": _collection, ...rest } =
    labels;
  return rest;
}

/** The Prometheus name of an OpenTelemetry metric: dots to underscores, seconds as a suffix, annotations dropped. */
function promName({ name, unit }: MetricSpec): string {
  return name.replace(/[^A-Za-z0-9_:]/g, "_") + (unit === "s" ? "_seconds" : "");
}

function gauge(lines: string[], spec: MetricSpec, values: [Attributes, number][]): void {
  const name = promName(spec);
  lines.push(`# HELP ${name} ${spec.description}`, `# TYPE ${name} gauge`);
  for (const [labels, value] of values) lines.push(`${name}${labelText(labels)} ${value}`);
}

function histogram(lines: string[], h: Histogram): void {
  lines.push(`# HELP ${h.name} ${h.help}`, `# TYPE ${h.name} histogram`);
  for (const { labels, values } of h.series.values()) {
    let cumulative = 0;
    DURATION_BUCKETS.forEach((bound, i) => {
      cumulative += values.counts[i];
      lines.push(`${h.name}_bucket${labelText(labels, ["le", String(bound)])} ${cumulative}`);
    });
    lines.push(`${h.name}_bucket${labelText(labels, ["le", "+Inf"])} ${values.count}`);
    lines.push(`${h.name}_sum${labelText(labels)} ${values.sum}`);
    lines.push(`${h.name}_count${labelText(labels)} ${values.count}`);
  }
}

/** `{name="value",...}` with attribute names as label names and values escaped as the format asks. */
function labelText(labels: Attributes, extra?: [string, string]): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(labels)) parts.push(`${promLabel(key)}="${escape(String(value))}"`);
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function promLabel(key: string): string {
  return key.replace(/[^A-Za-z0-9_]/g, "_");
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
