/**
 * The OpenTelemetry database semantic conventions (stable since semconv 1.26;
 * names as of 1.33+: `db.system.name`, `db.query.summary`,
 * `db.client.connection.state`...) applied to @dewey/db: the attributes of a
 * statement and its metric, the error classification, the pool name and the
 * metric names. Shared by `@dewey/db/otel` and `@dewey/db/prometheus`; it
 * imports nothing of OpenTelemetry.
 *
 * What is reported, and from where:
 * - `db.namespace`: the database name from the configuration (the schema is not known without a round trip).
 * - `server.address` / `server.port`: the first configured host, as the convention asks (the address in the
 *   client configuration, not the server a statement landed on); absent for an embedded database.
 * - `db.query.summary` (also the span name): operations and tables in order, from one lexical pass.
 * - `db.operation.name` / `db.collection.name`: from the same pass, only when the text holds a single statement
 *   (always so for statements with parameters), where the convention's concern, several operations in one text,
 *   cannot arise; the session's own statements (BEGIN, SAVEPOINT, COMMIT...) name their operation.
 * - `db.query.text`: statements with parameters as written (the values are never recorded), statements
 *   without parameters with their literals replaced by `?`; always through redaction.
 * - `error.type`: the SQLSTATE when the server answered with one, else the library's code (`POOL_TIMEOUT`,
 *   `CONNECTION_CLOSED`, `CONNECT_TIMEOUT`, `ECONNREFUSED`...), else the error's name, else `_OTHER`.
 *   `db.response.status_code` carries the SQLSTATE.
 *
 * @module
 */

import type { DatabaseConfig } from "../src/config/types.ts";
import { describeError, type Redactor, redactorOf } from "../src/redact.ts";
import { type QueryShape, queryShape, sanitizeSql } from "./sql_shape.ts";

/** Attribute values as OpenTelemetry takes them. */
export type Attributes = Record<string, string | number | boolean>;

/** How `db.query.text` is recorded: literals sanitised in text without parameters (default), as written, or not at all. */
export type QueryTextMode = "sanitized" | "raw" | "off";

/** Buckets the conventions give for `db.client.operation.duration`, seconds; used for the pool timings too. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** A metric of the conventions: its name, UCUM unit and description. */
export interface MetricSpec {
  /** The OpenTelemetry name. */
  readonly name: string;
  /** `s`, or an annotation such as `{connection}`. */
  readonly unit: string;
  /** As the conventions word it. */
  readonly description: string;
}

/** The metrics, for both exporters. */
export const METRIC = {
  operationDuration: {
    name: "db.client.operation.duration",
    unit: "s",
    description: "Duration of database client operations.",
  },
  connectionCount: {
    name: "db.client.connection.count",
    unit: "{connection}",
    description: "The number of connections that are currently in state described by the state attribute.",
  },
  connectionMax: {
    name: "db.client.connection.max",
    unit: "{connection}",
    description: "The maximum number of open connections allowed.",
  },
  idleMin: {
    name: "db.client.connection.idle.min",
    unit: "{connection}",
    description: "The minimum number of idle open connections allowed.",
  },
  pendingRequests: {
    name: "db.client.connection.pending_requests",
    unit: "{request}",
    description: "The number of current pending requests for an open connection.",
  },
  timeouts: {
    name: "db.client.connection.timeouts",
    unit: "{timeout}",
    description: "The number of connection timeouts that have occurred trying to obtain a connection from the pool.",
  },
  createTime: {
    name: "db.client.connection.create_time",
    unit: "s",
    description: "The time it took to create a new connection.",
  },
  waitTime: {
    name: "db.client.connection.wait_time",
    unit: "s",
    description: "The time it took to obtain an open connection from the pool.",
  },
  useTime: {
    name: "db.client.connection.use_time",
    unit: "s",
    description: "The time between borrowing a connection and returning it to the pool.",
  },
} as const satisfies Record<string, MetricSpec>;

/** `db.client.connection.pool.name`. */
export const POOL_NAME = "db.client.connection.pool.name";
/** `db.client.connection.state` (`idle` or `used`). */
export const CONNECTION_STATE = "db.client.connection.state";

/** Distinct texts remembered per database before the memo starts over: a bound on memory, not on speed. */
const SHAPES_KEPT = 1000;

/**
 * A statement text's shape and attributes, worked out once per distinct text
 * (the hot path then only copies references).
 */
export class Described {
  /** Span attributes when sent with parameters, and without; metric attributes of a success. */
  parameterized: Attributes | undefined;
  plain: Attributes | undefined;
  ok: Attributes | undefined;

  constructor(readonly text: string, readonly shape: QueryShape) {}
}

/**
 * The conventions for one database: its constant attributes, a memo of
 * statement shapes, and the attributes of each statement.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../src/config/parse.ts";
 * import { Conventions } from "./semconv.ts";
 * const c = new Conventions(parseConfig("postgres://app:pw@db.example:6432/shop", { env: {} }), {});
 * assert.equal(c.poolName, "db.example:6432/shop");
 * const users = c.describe("SELECT * FROM users WHERE id = $1");
 * assert.equal(c.statement(users, [1])["db.collection.name"], "users");
 * assert.equal(c.statement(c.describe("SELECT 'x'"), [])["db.query.text"], "SELECT ?");
 * assert.equal(c.metric(users, { code: "57014" })["error.type"], "57014");
 * ```
 */
export class Conventions {
  /** `db.system.name`, `db.namespace`, `server.address`, `server.port`. */
  readonly base: Readonly<Attributes>;
  /** `db.client.connection.pool.name`: the option, else `host:port/dbname` as the conventions suggest. */
  readonly poolName: string;
  /** The configuration's redactor: every text recorded goes through it. */
  readonly redactor: Redactor;
  #mode: QueryTextMode;
  #described = new Map<string, Described>();

  constructor(config: DatabaseConfig, options: { poolName?: string; queryText?: QueryTextMode }) {
    const host = config.hosts[0];
    const remote = config.driver !== "pglite" && host !== undefined;
    const base: Attributes = { "db.system.name": "postgresql", "db.namespace": config.dbname };
    if (remote) {
      base["server.address"] = host.host;
      base["server.port"] = host.port;
    }
    this.base = Object.freeze(base);
    this.poolName = options.poolName ?? (remote ? `${host.host}:${host.port}/${config.dbname}` : config.dbname);
    this.#mode = options.queryText ?? "sanitized";
    this.redactor = redactorOf(config);
  }

  /** What is known of `text`, remembered. */
  describe(text: string): Described {
    let described = this.#described.get(text);
    if (described === undefined) {
      if (this.#described.size >= SHAPES_KEPT) this.#described.clear();
      described = new Described(text, queryShape(text));
      this.#described.set(text, described);
    }
    return described;
  }

  /** A statement span's attributes at its start: base, summary, operation, collection and the text. */
  statement(d: Described, params: readonly unknown[] | undefined): Attributes {
    const parameterized = params !== undefined && params.length > 0;
    const cached = parameterized ? d.parameterized : d.plain;
    if (cached !== undefined) return cached;
    const attributes: Attributes = { ...this.#shaped(d.shape) };
    const query = this.#queryText(d.text, parameterized);
    if (query !== undefined) attributes["db.query.text"] = query;
    return parameterized ? d.parameterized = attributes : d.plain = attributes;
  }

  /** A span status message for `error`: its code and message, redacted. */
  message(error: unknown): string {
    return describeError(error, this.redactor);
  }

  /** The attributes of `db.client.operation.duration` for a statement that ended with `error`. */
  metric(d: Described, error: unknown): Attributes {
    const ok = d.ok ??= this.#shaped(d.shape);
    return error === undefined ? ok : { ...ok, ...errorAttributes(error) };
  }

  #shaped(shape: QueryShape): Attributes {
    const attributes: Attributes = { ...this.base };
    if (shape.summary) attributes["db.query.summary"] = shape.summary;
    if (shape.operation !== undefined) attributes["db.operation.name"] = shape.operation;
    if (shape.collection !== undefined) attributes["db.collection.name"] = shape.collection;
    return attributes;
  }

  /** `db.query.text` for `text`, or undefined when it is not recorded. */
  #queryText(text: string, parameterized: boolean): string | undefined {
    if (this.#mode === "off") return undefined;
    return this.redactor.redact(this.#mode === "raw" || parameterized ? text : sanitizeSql(text));
  }
}

/**
 * `error.type`, and `db.response.status_code` when the error carries a SQLSTATE: its own, or, for a statement
 * cancelled on the server by its timeout or signal (`QUERY_TIMEOUT`, `QUERY_ABORTED`), the server's 57014.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorAttributes } from "./semconv.ts";
 * assert.deepEqual(errorAttributes({ code: "23505" }), { "error.type": "23505", "db.response.status_code": "23505" });
 * assert.deepEqual(errorAttributes({ code: "POOL_TIMEOUT" }), { "error.type": "POOL_TIMEOUT" });
 * assert.deepEqual(errorAttributes({ code: "QUERY_TIMEOUT", cause: { code: "57014" } }), {
 *   "error.type": "QUERY_TIMEOUT",
 *   "db.response.status_code": "57014",
 * });
 * assert.deepEqual(errorAttributes(new TypeError("x")), { "error.type": "TypeError" });
 * ```
 */
export function errorAttributes(error: unknown): Attributes {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && SQLSTATE.test(code)) return { "error.type": code, "db.response.status_code": code };
  const server = (error as { cause?: { code?: unknown } })?.cause?.code;
  if (typeof code === "string" && code && typeof server === "string" && SQLSTATE.test(server)) {
    return { "error.type": code, "db.response.status_code": server };
  }
  if (typeof code === "string" && code) return { "error.type": code };
  const name = (error as { name?: unknown })?.name;
  return { "error.type": typeof name === "string" && name && name !== "Error" ? name : "_OTHER" };
}

/** A SQLSTATE: a known class (two characters) and a subclass; `EPIPE` and friends are not. */
const SQLSTATE = /^(?:[0-5][0-9A-Z]|F0|HV|P0|XX)[0-9A-Z]{3}$/;
