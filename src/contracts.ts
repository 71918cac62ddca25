/**
 * The interfaces shared across modules, in one place: the driver contract
 * adapters implement, the connector the pool opens connections with, the
 * host-runtime services, and the seams of the optional parts (host lists,
 * replicas). Implementation files import their types from here, so the import
 * graph of the core has no cycle, types included.
 *
 * @module
 */

import type { DatabaseConfig, HostPort, TargetSessionAttrs } from "./config/types.ts";
import type { Emitter } from "./events.ts";
import type { Secret } from "./redact.ts";

// ---- the driver contract ------------------------------------------------------------------------
//
// What an adapter promises, checked for every adapter and for the fake driver by
// tests/conformance/driver_suite.ts (a third-party adapter can run it too):
// - a statement on a closed connection fails at once, unsent (`reachedServer: false`);
// - `onClose` fires at most once, only for a connection `connect` returned;
// - a statement whose signal aborted before it was sent is not sent; one whose signal aborts while it runs is
//   cancelled on the server where the adapter can, and the cancel lands on no other statement;
// - values come back normalised the same way on every adapter (the suite's `NORMALISED` table).

/** A result row: column name to normalised value. */
export type Row = Record<string, unknown>;

/** A column of a result. */
export interface FieldInfo {
  /** Column name. */
  readonly name: string;
  /** Type OID. */
  readonly dataTypeID: number;
}

/**
 * A query result, the same shape on every adapter. Values are normalised:
 * int8 and numeric as strings, timestamptz as `Date`, timestamp and date as
 * `Date` (their wall-clock time taken as UTC), json/jsonb parsed, bytea as a
 * plain `Uint8Array`, arrays (nested, with NULLs) as arrays; rows are plain
 * objects. `command` is the tag's verb; `rowCount` the tag's count (for a
 * SELECT, the rows). Several statements in one text give the last one's
 * result. A {@linkcode QueryMode} changes the rows: `rowMode: "array"` gives
 * each row as an array, `types: "raw"` the server's text for every value.
 */
export interface QueryResult<R = Row> {
  /** The rows. */
  rows: R[];
  /** Rows returned or affected (`INSERT 0 3` → 3), 0 when the command reports none. */
  rowCount: number;
  /** The command tag's verb: `SELECT`, `INSERT`, `BEGIN`... */
  command: string;
  /** The result's columns. */
  fields: readonly FieldInfo[];
}

/** What a live connection negotiated. */
export interface ConnectionInfo {
  /** Backend process id. */
  readonly pid?: number;
  /** `server_version` as the server reports it. */
  readonly serverVersion?: string;
  /** TLS details, or `null` for a plaintext connection; undefined when unknown. */
  readonly tls?: { readonly protocol?: string; readonly cipher?: string } | null;
  /** The host and port actually connected to. */
  readonly host?: string;
  /** The port actually connected to. */
  readonly port?: number;
  /**
   * The server's `idle_session_timeout` for this session, ms (0 or undefined: none). The pool retires a
   * connection before the server closes it for idleness, so no statement is sent into that close.
   */
  readonly idleSessionTimeout?: number;
}

/** What the core hands an adapter to open one connection. */
export interface ConnectRequest {
  /** The validated configuration. */
  readonly config: DatabaseConfig;
  /** The host to dial (one of `config.hosts`, or a replica). */
  readonly host: string;
  /** The port to dial. */
  readonly port: number;
  /** libpq's `hostaddr` for this host: the IP address to dial instead of resolving `host` (TLS still checks `host`). */
  readonly address?: string;
  /** The password for this host when a password file gave it one other than `config.password`. */
  readonly password?: Secret;
  /** Aborted at `connect_timeout` or when the pool closes; the attempt must then fail promptly. */
  readonly signal: AbortSignal;
  /**
   * Called at most once, when a connection that `connect` returned is lost (the server or the network ended it);
   * it may also be called after `close()`. Never for an attempt that failed or was aborted, and never before
   * `connect` has returned the connection.
   */
  readonly onClose: (error?: Error) => void;
  /**
   * Set only for the connection the core dedicates to `LISTEN` (when the driver says `notifications: true`): the
   * adapter calls it for every notification the connection receives, in the order received.
   */
  readonly onNotification?: (notification: ServerNotification) => void;
}

/**
 * How a statement's rows come back. Absent (the default path, which must cost nothing extra): objects keyed by
 * column name, values normalised as {@linkcode QueryResult} says.
 */
export interface QueryMode {
  /**
   * `"array"`: each row is an array of its values in column order, so columns with the same name are all kept
   * (`fields` names them). Default `"object"`.
   */
  readonly rowMode?: "object" | "array";
  /**
   * `"raw"`: every value is the server's text form (`"t"`, `"2024-01-02 03:04:05"`, `"{1,2}"`, `"\\x01"`), NULL
   * stays `null`; `{ raw: [oid, ...] }`: only columns of those type OIDs stay text. Default `"parsed"`.
   */
  readonly types?: "parsed" | "raw" | { readonly raw: readonly number[] };
  /**
   * `false`: send a parameterised statement unnamed, parsed and its parameters typed anew each time, instead of
   * preparing it once per connection (adapters that prepare: postgres.js). What ORMs ask for statements their
   * users did not name, as their own drivers do: a prepared statement keeps the parameter types it was planned
   * with, across a `DROP`/`CREATE` of what it names. Default `true` (subject to the `prepare` setting).
   */
  readonly prepare?: boolean;
}

/** Options of {@linkcode DriverConnection.cursor}. */
export interface DriverCursorOptions {
  /** Rows per batch, at least 1. */
  readonly batchSize: number;
  /** Row and type mode of every batch. */
  readonly mode?: QueryMode;
  /** Aborts the batch being fetched (cancelled on the server); the core then closes the cursor. */
  readonly signal?: AbortSignal;
}

/** A server-side cursor open on one connection, from {@linkcode DriverConnection.cursor}. */
export interface DriverCursor {
  /**
   * The next batch (at most `batchSize` rows, `fields` set), or `undefined` once the statement has no more rows.
   * Rejects as `query()` does. Never called again after it rejected or returned `undefined`.
   */
  next(): Promise<QueryResult | undefined>;
  /**
   * Ends the cursor, exhausted or not, after an error too; resolves once the connection takes statements again.
   * Rejects only when the connection cannot be made usable again: the core then discards it.
   */
  close(): Promise<void>;
}

/** The output of a `COPY ... TO STDOUT`, from {@linkcode DriverConnection.copyTo}. */
export interface DriverCopyOut {
  /**
   * The next chunk of output, or `undefined` once the COPY completed. Nothing more is read from the server until
   * the next call (backpressure), where the transport allows it. Rejects as `query()` does; after the signal given
   * to `copyTo` aborted, the adapter has asked the server to stop and the core reads until this settles.
   */
  read(): Promise<Uint8Array | undefined>;
}

/** A `NOTIFY` delivered on a listening connection. */
export interface ServerNotification {
  /** The channel, as the server spells it. */
  readonly channel: string;
  /** The payload (`""` when none was given). */
  readonly payload: string;
  /** The notifying backend's process id, when the driver reports it. */
  readonly pid?: number;
}

/**
 * One open connection to the server. The optional members are capabilities: an adapter leaves out what it cannot
 * do, and the core then fails that call with a `NotSupportedError` naming the adapter (or, for `cursor`, declares
 * a SQL cursor with `query()` instead).
 */
export interface DriverConnection {
  /** What the connection negotiated. */
  readonly info: ConnectionInfo;
  /**
   * True once the connection is known to be closed (at the latest once `close()` was called or `onClose` fired);
   * the core then never sends on it again.
   */
  readonly closed: boolean;
  /**
   * Runs one statement (or, without parameters, possibly several separated by `;`).
   *
   * - A statement the server refused rejects with `QueryError`; the connection stays usable.
   * - A lost or closed connection rejects with a retryable `DatabaseConnectionError`, with `reachedServer: false`
   *   only when the statement provably never ran on the server (the core may then send it elsewhere). On a
   *   closed connection, at once and without sending anything.
   * - A statement whose `signal` aborted before it was sent is not sent: it rejects with `signal.reason`.
   * - When `signal` aborts while it runs, the adapter cancels it on the server (it then rejects with the server's
   *   `QueryError` 57014), or lets it finish where nothing can stop it (PGlite). The cancel lands on this statement
   *   and on no other: statements issued after it wait until the cancel's outcome is known, and a connection whose
   *   cancel's outcome cannot be known is closed, not reused.
   * - `mode` (often the caller's whole options object: read only its two fields) asks for array rows or raw
   *   values; undefined, or neither field set, is the default path, which must cost nothing extra.
   */
  query(text: string, params?: readonly unknown[], signal?: AbortSignal, mode?: QueryMode): Promise<QueryResult>;
  /** Closes the connection; resolves when it is closed. Never rejects; calling it again is harmless. */
  close(): Promise<void>;
  /** Whether a transaction is open, when the driver knows; undefined otherwise. */
  inTransaction?(): boolean | undefined;
  /**
   * Opens a cursor over any row-returning statement with the protocol's own portal (Bind, then Execute with a row
   * limit per batch), without a transaction. No other statement is sent on the connection until `close()`
   * resolved. Without it the core declares a SQL cursor (`DECLARE ... CURSOR` and `FETCH`, SELECT and VALUES only).
   */
  cursor?(text: string, params: readonly unknown[] | undefined, options: DriverCursorOptions): DriverCursor;
  /**
   * Runs `COPY ... FROM STDIN`, sending `source`'s chunks as they come, no faster than the connection takes them.
   * Resolves to the rows copied. When `source` throws or `signal` aborts, the adapter fails the COPY on the server
   * (CopyFail: the server rolls the statement back), waits for the server's answer and rejects with the source's
   * error or the signal's reason; a bad row rejects with the server's `QueryError`. In every case the connection is
   * left usable, or closed.
   */
  copyFrom?(text: string, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ rowCount: number }>;
  /**
   * Starts `COPY ... TO STDOUT` and returns its output to read. When `signal` aborts, the adapter cancels the
   * statement on the server; the core keeps reading until the output settles.
   */
  copyTo?(text: string, signal?: AbortSignal): DriverCopyOut;
}

/** A database driver behind @dewey/db. */
export interface Driver {
  /** Adapter name, for messages: `postgres`, `neon`, `pglite`. */
  readonly name: string;
  /** Whether several statements may be in flight on one connection at once. */
  readonly pipelining: boolean;
  /** An upper bound on connections the driver can hold (PGlite: 1). */
  readonly maxConnections?: number;
  /** Whether the driver dials hosts (TCP/WebSocket); false for an embedded database. */
  readonly remote?: boolean;
  /**
   * Whether a connection opened with `onNotification` delivers notifications; without it `db.listen()` fails with
   * `NotSupportedError`. Such a connection is opened outside the pool and only runs `LISTEN` and `UNLISTEN`.
   */
  readonly notifications?: boolean;
  /** Opens one connection; rejects (without calling `onClose`) when the attempt fails or `request.signal` aborts. */
  connect(request: ConnectRequest): Promise<DriverConnection>;
  /** Releases driver-wide resources after the last connection closed. */
  end?(): Promise<void>;
}

/** Builds a driver for a configuration; what an adapter module exports as `createDriver`. */
export type DriverFactory = (config: DatabaseConfig) => Driver | Promise<Driver>;

/** Loads an adapter's `createDriver` on first use, so an unused adapter is never imported. */
export type DriverLoader = () => DriverFactory | Promise<DriverFactory>;

// ---- opening connections ------------------------------------------------------------------------

/**
 * Opens one connection for the pool; `onClose` fires when it later dies. `onNotification` is passed on to the
 * driver (`ConnectRequest.onNotification`) for the connection the core dedicates to `LISTEN`.
 */
export type Connector = (
  signal: AbortSignal,
  onClose: (error?: Error) => void,
  onNotification?: (notification: ServerNotification) => void,
) => Promise<DriverConnection>;

/** Options of a connector for a list of targets. */
export interface ConnectorOptions {
  /** Overrides `config.target_session_attrs` (replica pools take `any`). */
  attrs?: TargetSessionAttrs;
  /** Receives a `failover` event when new connections stop landing on the host the last one did. */
  events?: Emitter;
}

/** Builds the pool's connector for a host list or server-role checks (`src/connect_hosts.ts`). */
export type HostListConnector = (
  driver: Driver,
  config: DatabaseConfig,
  targets: readonly HostPort[],
  options?: ConnectorOptions,
) => Connector;

// ---- pool numbers and health --------------------------------------------------------------------

/** Pool counters and sizes, as `db.stats()` reports them. */
export interface PoolStats {
  /** Open connections. */
  total: number;
  /** Connections doing nothing. */
  idle: number;
  /** Connections leased or running shared statements. */
  inUse: number;
  /** Callers waiting for a connection. */
  waiting: number;
  /** Connection attempts in progress. */
  opening: number;
  /** `pool_min`. */
  min: number;
  /** `pool_max`. */
  max: number;
  /** Exclusive checkouts so far. */
  checkouts: number;
  /** Waits that ended in `PoolTimeoutError`. */
  timeouts: number;
  /** Connections opened so far. */
  opened: number;
  /** Connections closed so far. */
  closed: number;
  /** Failed connection attempts so far. */
  connectFailures: number;
  /** Who holds each leased connection, and since when. */
  leases: { id: number; since: string; heldMs: number; stack?: string }[];
}

/** `healthy`: answering. `degraded`: answering, but waiting callers or recent failures. `unhealthy`: not answering. */
export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** One read replica in the health snapshot. */
export interface ReplicaHealth {
  /** `host:port`. */
  target: string;
  /** Its status. */
  status: HealthStatus;
  /** Since when it has been unreachable (ISO 8601). */
  downSince?: string;
  /** Its last failure, redacted. */
  lastError?: string;
  /** Replay lag at the last check, ms (measured with `max_replica_lag`). */
  lagMs?: number;
}

// ---- read replicas ------------------------------------------------------------------------------

/**
 * What the facade asks of a replica router; `P` is the pool type (the core's
 * `Pool`), kept generic so this module does not depend on the pool's.
 */
export interface Router<P> {
  /** A usable replica pool, or undefined: use the primary. */
  pick(): Promise<P | undefined>;
  /** A replica just failed a caller. */
  failed(pool: P, error: unknown): void;
  /** The replicas' part of the health snapshot; undefined without replicas. */
  health(): { degraded: boolean; replicas: ReplicaHealth[] } | undefined;
  /** Stops checking. */
  close(): Promise<void>;
}

/** Options of a {@linkcode ReplicaRouterFactory}. */
export interface RouterOptions {
  /** `max_replica_lag` in ms; unset = replicas are not measured. */
  maxLag?: number;
  /** Whether the driver pipelines (the lag query then shares a connection instead of leasing one). */
  pipelining: boolean;
  /** Bound on one check, ms. */
  checkTimeout: number;
  /** Where `failover` events go. */
  events: Emitter;
  /** The primary's `host:port` list, for events. */
  primary: string;
}

/** Builds the router over replica pools (`src/replicas.ts`); `pools[i]` serves `targets[i]`. */
export type ReplicaRouterFactory<P> = (
  pools: readonly P[],
  targets: readonly HostPort[],
  options: RouterOptions,
) => Router<P>;

// ---- the host runtime ---------------------------------------------------------------------------

/** The minimal `AsyncLocalStorage` surface the core uses for scoped sessions. */
export interface ScopeStorage<T> {
  /** The value of the innermost `run` in this async context. */
  getStore(): T | undefined;
  /** Runs `fn` with `store` as the context value. */
  run<R>(store: T, fn: () => R): R;
}

/** What {@linkcode Platform.statSync} tells about a path. */
export interface FileInfo {
  /** A regular file, a directory, a Unix-domain socket, or anything else. */
  readonly kind: "file" | "directory" | "socket" | "other";
  /** Permission bits (`0o600`); 0 where the runtime does not report them. */
  readonly mode: number;
}

/**
 * Host-runtime services the core uses instead of touching `Deno.*` or
 * `node:*`. Every member is optional: the core does without (no files, an
 * empty environment, unscoped sessions).
 *
 * The synchronous file members serve what libpq reads while a configuration
 * is resolved (password and service files, the default socket), which
 * `new DatabaseConnection()` does synchronously.
 */
export interface Platform {
  /** The process environment, when the runtime has one and permits reading it. */
  env?(): Record<string, string | undefined>;
  /** Reads a UTF-8 file. */
  readTextFile?(path: string): Promise<string>;
  /** Whether a file exists. */
  fileExists?(path: string): Promise<boolean>;
  /** Reads a UTF-8 file synchronously; throws when it cannot. */
  readTextFileSync?(path: string): string;
  /**
   * What `path` is, or `undefined` when it does not exist or the runtime may not look (Deno without read
   * permission for it: never a prompt).
   */
  statSync?(path: string): FileInfo | undefined;
  /** Builds an `AsyncLocalStorage`-like store; undefined while none is available (yet). */
  createScope?<T>(): ScopeStorage<T> | undefined;
  /** Lets a timer not keep the process alive (for runtimes whose timer handles have no `unref()`). */
  unrefTimer?(handle: unknown): void;
}

// ---- instrumentation ----------------------------------------------------------------------------

/**
 * What an instrumentation may read of the database it is attached to: the
 * configuration (redacted when printed), the pool numbers and the events.
 * A `DatabaseConnection` is one.
 */
export interface InstrumentedDatabase {
  /** The validated configuration. */
  readonly config: DatabaseConfig;
  /** Pool numbers, as `db.stats()` reports them. */
  stats(): PoolStats;
  /** Subscribes to an event; returns a function that unsubscribes. */
  on: Emitter["on"];
}

/**
 * Tracing and metrics, plugged in explicitly (`telemetry` option or
 * `db.instrument()`): the core calls these hooks at the few places that
 * matter and imports nothing of OpenTelemetry. `@dewey/db/otel` and
 * `@dewey/db/prometheus` implement it.
 *
 * @example An instrumentation that counts statements
 * ```ts
 * import type { Instrumentation } from "./contracts.ts";
 * let statements = 0;
 * const counting: Instrumentation = {
 *   attach: () => ({
 *     statement: () => ({ waiting: () => () => {}, retry() {}, end: () => void statements++ }),
 *     session: () => undefined,
 *     connect: () => undefined,
 *     close() {},
 *   }),
 * };
 * ```
 */
export interface Instrumentation {
  /** Called once per database it is given to; returns the hooks for that database. */
  attach(db: InstrumentedDatabase): Telemetry;
}

/**
 * The hooks of one instrumentation on one database. Each start hook returns
 * `undefined` when nothing would be recorded (no SDK registered, nothing
 * sampled), and the core then does no more work for it. Hooks never throw.
 */
export interface Telemetry {
  /** A statement outside any session starts (autocommit, or on an `engine.connect()` connection). */
  statement(text: string, params: readonly unknown[] | undefined): StatementTrace | undefined;
  /** A session starts (before it waits for a connection and sends BEGIN); `attempt` counts callback retries from 1. */
  session(attempt: number): SessionTrace | undefined;
  /** The pool starts opening a connection to `target` (`host:port`, or a replica's label). */
  connect(target: string): ConnectTrace | undefined;
  /** The database closed, or the instrumentation was detached: stop observing. */
  close(): void;
}

/** What statements and sessions have in common: they may queue for a connection, and be retried. */
export interface TracedWork {
  /** The work queues for a connection; the returned function is called once it has one. */
  waiting(): () => void;
  /** The work provably never reached the server on one connection and starts again on another. */
  retry(error: unknown): void;
}

/** One statement, from its call to its outcome, retries included. */
export interface StatementTrace extends TracedWork {
  /** The statement ended: `error` when it failed, else its `result`. Called once. */
  end(error: unknown, result?: QueryResult): void;
}

/** One session (a transaction) or a savepoint inside one, from its start to COMMIT or ROLLBACK. */
export interface SessionTrace extends TracedWork {
  /** A statement of this session starts (BEGIN, the caller's, SAVEPOINT, COMMIT...). */
  statement(text: string, params: readonly unknown[] | undefined): StatementTrace | undefined;
  /** A savepoint (a nested session) named `name` starts inside this one. */
  savepoint(name: string): SessionTrace;
  /** The connection died during COMMIT: the session asks the server how it ended; call the result with the answer. */
  settling(): (outcome: "committed" | "aborted" | "unknown") => void;
  /** Runs `fn` (the session callback) with this session as the caller's current context. */
  within<T>(fn: () => T): T;
  /** The session ended, `committed` or `rolled back`; `error` when it failed. Called once. */
  end(error: unknown, outcome: "committed" | "rolled back"): void;
}

/** One connection attempt by the pool (TCP or WebSocket, TLS, startup). */
export interface ConnectTrace {
  /** The attempt ended: `error` when it failed, else what the connection negotiated. Called once. */
  end(error: unknown, info?: ConnectionInfo): void;
}
