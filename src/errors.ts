/**
 * The typed errors @dewey/db throws.
 *
 * @module
 */

import type { ErrorCode } from "./error_codes.ts";
import { redactText } from "./redact.ts";

/** One problem found while loading or validating a configuration. */
export interface ConfigIssue {
  /** Key path, for example `database.postgres.pool_max`. */
  path: string;
  /** What is wrong, for example `expected an integer, found "ten"`. */
  message: string;
  /** Where the value came from: `config/dewey.yaml:9`, `env DB_PORT`, `DATABASE_URL`... */
  source?: string;
}

/**
 * A configuration could not be loaded or is invalid. Lists every problem at
 * once, each with its key path and where the value came from; never a secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "./errors.ts";
 * const err = new ConfigError([{ path: "database.postgres.port", message: "expected an integer, found \"54x\"" }]);
 * assert(err.issues.length === 1 && err.message.includes("database.postgres.port"));
 * ```
 */
export class ConfigError extends Error {
  /** Every problem found. */
  readonly issues: readonly ConfigIssue[];

  /** Builds the error from its issues; the message lists them all. */
  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    const lines = issues.map((i) => `  - ${i.path}: ${i.message}${i.source ? ` (${i.source})` : ""}`);
    super(redactText(`invalid database configuration:\n${lines.join("\n")}`), options);
    this.name = "ConfigError";
    this.issues = issues.map((i) => ({ ...i, message: redactText(i.message) }));
  }
}

/** Options for {@linkcode DatabaseConnectionError}. */
export interface DatabaseConnectionErrorOptions {
  /** SQLSTATE (`08006`, `57P01`...) or network code (`ECONNREFUSED`, `CONNECT_TIMEOUT`...). */
  code?: string;
  /** Whether trying again later may succeed (the server was down, the connection dropped). */
  retryable?: boolean;
  /**
   * Whether the failed statement may have reached the server. `false` means it
   * provably did not, so it is safe to send again.
   */
  reachedServer?: boolean;
  /**
   * The connection was lost after COMMIT was sent and the outcome could not be
   * settled: the transaction may or may not have committed.
   */
  inDoubt?: boolean;
  /** The original error. */
  cause?: unknown;
}

/**
 * A connection could not be opened, was lost, or failed validation.
 *
 * @example Tell a retryable failure from a permanent one
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseConnectionError } from "./errors.ts";
 * const err = new DatabaseConnectionError("connection lost", { code: "57P01", retryable: true });
 * assert(err instanceof DatabaseConnectionError && err.retryable && err.code === "57P01");
 * ```
 */
export class DatabaseConnectionError extends Error {
  /** SQLSTATE or network code, when known. */
  readonly code?: string;
  /** Whether trying again later may succeed. */
  readonly retryable: boolean;
  /** `false` when the statement provably never reached the server. */
  readonly reachedServer: boolean;
  /** True when a COMMIT's outcome is unknown: re-running the transaction could apply it twice. */
  readonly inDoubt: boolean;

  /** Builds the error; the message is redacted. */
  constructor(message: string, options: DatabaseConnectionErrorOptions = {}) {
    super(redactText(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DatabaseConnectionError";
    this.code = options.code;
    this.retryable = options.retryable ?? false;
    this.reachedServer = options.reachedServer ?? true;
    this.inDoubt = options.inDoubt ?? false;
  }
}

/**
 * No connection became free within `pool_acquire_timeout`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseConnectionError, PoolTimeoutError } from "./errors.ts";
 * const err = new PoolTimeoutError("timed out", { inUse: 10, waiting: 3, max: 10 });
 * assert(err instanceof DatabaseConnectionError && err.waiting === 3);
 * ```
 */
export class PoolTimeoutError extends DatabaseConnectionError {
  /** Connections checked out when the wait ended. */
  readonly inUse: number;
  /** Callers still waiting when the wait ended. */
  readonly waiting: number;
  /** `pool_max`. */
  readonly max: number;

  /** Builds the error from the pool's numbers at the moment of the timeout. */
  constructor(
    message: string,
    counts: { inUse: number; waiting: number; max: number },
    options: DatabaseConnectionErrorOptions = {},
  ) {
    super(message, { code: "POOL_TIMEOUT", retryable: true, reachedServer: false, ...options });
    this.name = "PoolTimeoutError";
    this.inUse = counts.inUse;
    this.waiting = counts.waiting;
    this.max = counts.max;
  }
}

/** Where a cancelled statement was: waiting for a connection (`queued`), or handed to one (`running`). */
export type CancelPhase = "queued" | "running";

/** Options for {@linkcode QueryCancelledError}. */
export interface QueryCancelledErrorOptions {
  /** `QUERY_TIMEOUT` (the `timeout` option, or a signal aborted with a `TimeoutError`) or `QUERY_ABORTED`. */
  code: "QUERY_TIMEOUT" | "QUERY_ABORTED";
  /** Where the statement was when it was cancelled. */
  phase: CancelPhase;
  /** Whether the statement may have reached the server (it was sent and cancelled there). */
  reachedServer: boolean;
  /** The server's 57014 `QueryError`, or the signal's reason when the statement never reached the server. */
  cause?: unknown;
}

/**
 * A statement was cancelled by its `timeout` or `signal`, wherever it was:
 * still waiting for a connection, waiting its turn on one, or running on the
 * server (cancelled there: SQLSTATE 57014, kept as `cause`). One class on every
 * adapter, so every timeout is caught the same way.
 *
 * - `code`: `QUERY_TIMEOUT` for the `timeout` option (and a `signal` aborted
 *   with a `TimeoutError`, as `AbortSignal.timeout()` does), `QUERY_ABORTED`
 *   for any other abort of the `signal` (its reason is the `cause`).
 * - `phase`: `queued` (no connection yet) or `running` (handed to a connection).
 * - `reachedServer`: false when the statement provably never reached the
 *   server, so nothing of it ran; true when it was sent (a cancelled
 *   statement is rolled back, but inside a transaction the transaction is
 *   then aborted).
 *
 * @example Catch every timeout the same way
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueryCancelledError } from "./errors.ts";
 * const err = new QueryCancelledError("statement timed out after 50 ms", {
 *   code: "QUERY_TIMEOUT",
 *   phase: "queued",
 *   reachedServer: false,
 * });
 * assert(err instanceof QueryCancelledError && err.code === "QUERY_TIMEOUT" && !err.reachedServer);
 * ```
 */
export class QueryCancelledError extends Error {
  /** `QUERY_TIMEOUT` or `QUERY_ABORTED`. */
  readonly code: "QUERY_TIMEOUT" | "QUERY_ABORTED";
  /** `queued` or `running`. */
  readonly phase: CancelPhase;
  /** `false` when the statement provably never reached the server. */
  readonly reachedServer: boolean;

  /** Builds the error; the message is redacted. */
  constructor(message: string, options: QueryCancelledErrorOptions) {
    super(redactText(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "QueryCancelledError";
    this.code = options.code;
    this.phase = options.phase;
    this.reachedServer = options.reachedServer;
  }
}

/** Fields a PostgreSQL `ErrorResponse` carries. */
export interface ServerErrorFields {
  /** SQLSTATE, for example `23505`. */
  code: string;
  /** The primary message. */
  message: string;
  /** `ERROR`, `FATAL`... */
  severity?: string;
  /** Secondary detail. */
  detail?: string;
  /** A suggestion. */
  hint?: string;
  /** 1-based character position of the error in the statement text. */
  position?: number;
  /** Context the error occurred in. */
  where?: string;
  /** Schema of the object involved. */
  schema?: string;
  /** Table involved. */
  table?: string;
  /** Column involved. */
  column?: string;
  /** Constraint involved. */
  constraint?: string;
}

/**
 * The server rejected a statement (syntax, constraint, serialization failure,
 * a cancelled statement...). Keeps the server's SQLSTATE, message, detail and
 * position; the connection stays usable.
 *
 * @example Handle a unique violation
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueryError } from "./errors.ts";
 * const err = new QueryError({ code: "23505", message: "duplicate key value", constraint: "users_pkey" });
 * assert(err.code === "23505" && err.constraint === "users_pkey");
 * ```
 */
export class QueryError extends Error {
  /** SQLSTATE. */
  readonly code: string;
  /** `ERROR`, `FATAL`... */
  readonly severity?: string;
  /** Secondary detail. */
  readonly detail?: string;
  /** A suggestion. */
  readonly hint?: string;
  /** 1-based position of the error in the statement text. */
  readonly position?: number;
  /** Context the error occurred in. */
  readonly where?: string;
  /** Schema of the object involved. */
  readonly schema?: string;
  /** Table involved. */
  readonly table?: string;
  /** Column involved. */
  readonly column?: string;
  /** Constraint involved. */
  readonly constraint?: string;

  /** Builds the error from the server's fields. */
  constructor(fields: ServerErrorFields, options?: ErrorOptions) {
    super(redactText(fields.message), options);
    this.name = "QueryError";
    this.code = fields.code;
    this.severity = fields.severity;
    this.detail = fields.detail === undefined ? undefined : redactText(fields.detail);
    this.hint = fields.hint;
    this.position = fields.position;
    this.where = fields.where;
    this.schema = fields.schema;
    this.table = fields.table;
    this.column = fields.column;
    this.constraint = fields.constraint;
  }
}

/**
 * The adapter in use cannot do what was asked (COPY, LISTEN...); nothing was
 * sent to the server. Names the adapter and the feature.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotSupportedError } from "./errors.ts";
 * const err = new NotSupportedError("acme", "COPY");
 * assert(err.code === "NOT_SUPPORTED" && err.message === "the acme adapter does not support COPY");
 * ```
 */
export class NotSupportedError extends Error {
  /** Always `NOT_SUPPORTED`. */
  readonly code: "NOT_SUPPORTED" = "NOT_SUPPORTED" satisfies ErrorCode;
  /** The adapter's name (`Driver.name`). */
  readonly adapter: string;
  /** What it cannot do. */
  readonly feature: string;

  /** Builds the error; `hint` follows the message. */
  constructor(adapter: string, feature: string, hint?: string) {
    super(`the ${adapter} adapter does not support ${feature}${hint ? `: ${hint}` : ""}`);
    this.name = "NotSupportedError";
    this.adapter = adapter;
    this.feature = feature;
  }
}
