/**
 * `DatabaseConnectionBase`: the facade over configuration, pool, sessions,
 * health and events. Each entry point's `DatabaseConnection` extends it to bind
 * its runtime (as Hono's presets extend `HonoBase`); the base works with no
 * runtime when given a driver.
 *
 * @module
 */

import { modeOnly, type QueryOptions, withDeadline } from "./abort.ts";
import { isConnectionFailure, isTransientSqlState } from "./classify.ts";
import { parseConfig } from "./config/parse.ts";
import type { DatabaseConfig, HostPort } from "./config/types.ts";
import { connectorFor } from "./connect.ts";
import type {
  ConnectorOptions,
  Driver,
  DriverFactory,
  Instrumentation,
  PoolStats,
  QueryMode,
  QueryResult,
  Router,
  Row,
  ScopeStorage,
  SessionTrace,
  StatementTrace,
  Telemetry,
} from "./contracts.ts";
import { copyFrom, type CopyOptions, type CopyResult, type CopySource, copyTo } from "./copy.ts";
import { Cursor, type CursorOptions } from "./cursor.ts";
import { DatabaseConnectionError, NotSupportedError, PoolTimeoutError, QueryError } from "./errors.ts";
import { type DatabaseEventMap, type DatabaseEventName, Emitter } from "./events.ts";
import { Listener, type NotificationHandler, quoteChannel, type Subscription } from "./listen.ts";
import type { Pin } from "./pinned.ts";
import { HealthMonitor, type HealthSnapshot } from "./health.ts";
import { PooledConnection } from "./pooled_connection.ts";
import { attachLogger, consoleLogger, type Logger, type LogLevel } from "./logger.ts";
import { backoffDelay } from "./backoff.ts";
import { Pool } from "./pool.ts";
import { type Redactor, redactorOf } from "./redact.ts";
import {
  BARE_RUNTIME,
  loadOptionalParts,
  type OptionalParts,
  resolveDriver,
  type Runtime,
  timerUnref,
} from "./runtime.ts";
import { beginStatement, type RetryOptions, Session, type SessionOptions } from "./session.ts";
import type { Slot } from "./slot.ts";
import { rowsOf, type SqlTag, sqlTag } from "./sql.ts";
import { combineTelemetry, traced } from "./telemetry.ts";

/** Options beside the configuration. */
export interface DatabaseConnectionOptions {
  /**
   * What the connection may use beyond the core: host services (files, env, `AsyncLocalStorage`), the adapters
   * by `driver:` name, host lists and replicas. The entry points pass theirs (`@dewey/db`: Deno and Node;
   * `@dewey/db/edge`: Deno Deploy and Workers); the core alone has none.
   */
  runtime?: Runtime;
  /** The adapter to use instead of the one `config.driver` names in the runtime (a driver, or a factory). */
  driver?: Driver | DriverFactory;
  /** Where events are logged: a `Logger`, or `false` for silence. Default: one logfmt line per event on the console. */
  logger?: Logger | false;
  /** The quietest level logged (default `info`; `debug` listens to every checkout). */
  logLevel?: LogLevel;
  /** Environment for `${VAR}` and `PG*` when `config` is not parsed yet (Workers bindings); default the runtime's. */
  env?: Record<string, string | undefined>;
  /**
   * Tracing and metrics: `otel()` from `@dewey/db/otel`, or several. Attached before anything runs, so the
   * first connection is traced too. Without it the library does no telemetry work at all.
   */
  telemetry?: Instrumentation | readonly Instrumentation[];
}

/** What `new DatabaseConnection()` accepts as configuration. */
export type ConnectionConfig = DatabaseConfig | string | Record<string, unknown>;

interface Ready {
  driver: Driver;
  pool: Pool;
  replicas: Pool[];
  router: Router<Pool>;
  monitor: HealthMonitor;
}

/** Without replicas: every read goes to the primary. */
const NO_REPLICAS: Router<Pool> = {
  pick: () => Promise.resolve(undefined),
  failed() {},
  health: () => undefined,
  close: () => Promise.resolve(),
};

/**
 * A PostgreSQL database: a pool of connections, sessions, health and events.
 * Creating one does no I/O; the pool opens on first use. Prefer
 * {@linkcode getConnection}, which also proves the database answers.
 *
 * Events (`db.on(name, listener)` or `addEventListener`): `connect`,
 * `disconnect`, `checkout`, `checkin`, `validation-failed`, `reconnecting`,
 * `reconnected`, `pool-exhausted`, `leak-suspected`, `schema-version`,
 * `health-change`, `failover`, `listen-gap`, `listen-error`. See
 * `DatabaseEventMap` for their details.
 *
 * Every error its methods throw, every event detail, log line and health
 * snapshot passes through the redactor of its configuration, which knows
 * that configuration's secrets (see `redactorOf`).
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db";
 * const db = new DatabaseConnection({ postgres: { host: "localhost", dbname: "mydb", user: "app" } });
 * const { rows } = await db.query("SELECT $1::int AS n", [1]);
 * await db.close();
 * ```
 */
export class DatabaseConnectionBase extends Emitter {
  /** The validated configuration (secrets hidden when printed). */
  readonly config: DatabaseConfig;
  /** `await db.engine.connect()` checks out a connection in autocommit mode (SQLAlchemy's `engine.connect()`). */
  readonly engine: { connect(options?: { signal?: AbortSignal }): Promise<PooledConnection> };
  /**
   * Tagged template returning rows; every interpolated value is a parameter.
   *
   * @example
   * ```ts ignore
   * const users = await db.sql`SELECT * FROM users WHERE id = ${id}`;
   * ```
   */
  readonly sql: SqlTag;

  #options: DatabaseConnectionOptions;
  #runtime: Runtime;
  #unref: (handle: unknown) => void;
  #scope: ScopeStorage<Session> | undefined;
  #ready: Promise<Ready> | undefined;
  #pool: Pool | undefined;
  #pipelining = false;
  #state: Ready | undefined;
  #closed: Promise<void> | undefined;
  #detachLogger: (() => void) | undefined;
  #redactor: Redactor;
  #attached: Telemetry[] = [];
  /** Every attached instrumentation as one; undefined when none, which is the only check on the hot path. */
  #telemetry: Telemetry | undefined;
  #listener: Listener | undefined;

  /** Validates `config` (a parsed config, an object, or a URL) without connecting. Throws `ConfigError`. */
  constructor(config: ConnectionConfig, options: DatabaseConnectionOptions = {}) {
    super();
    this.#runtime = options.runtime ?? BARE_RUNTIME;
    const { platform } = this.#runtime;
    this.config = isParsed(config)
      ? config
      : parseConfig(config, { env: options.env ?? platform.env?.() ?? {}, files: this.#runtime.libpqFiles });
    this.#redactor = redactorOf(this.config);
    this.#options = options;
    this.#unref = timerUnref(platform);
    const logger = options.logger ?? consoleLogger;
    if (logger) this.#detachLogger = attachLogger(this, logger, options.logLevel);
    for (const i of [options.telemetry ?? []].flat()) this.instrument(i);
    this.engine = { connect: (o) => this.#connect(o?.signal) };
    this.sql = sqlTag((text, values) => {
      const pool = this.#pool;
      // The shared path maps to rows in the same `then` that settles the statement; the rest goes through query().
      if (pool !== undefined && this.#pipelining && this.#scope?.getStore() === undefined) {
        const trace = this.#telemetry?.statement(text, values);
        if (trace !== undefined) return this.#traced(trace, text, values, undefined).then(rowsOf);
        const slot = pool.pick();
        if (slot !== undefined) return this.#runShared(pool, slot, text, values, true) as Promise<Row[]>;
      }
      return this.query(text, values).then(rowsOf);
    });
  }

  /**
   * Dispatches event `type` with its detail redacted, if anyone listens: the
   * pool, the health monitor and the replica router all emit through here.
   */
  override emit<K extends DatabaseEventName>(type: K, detail: DatabaseEventMap[K]): void {
    if (this.wants(type)) super.emit(type, this.#redactor.redactValue(detail));
  }

  /**
   * Runs one statement in autocommit mode (or in the caller's session, inside
   * `getSession`). Without a signal or timeout it is pipelined on the least
   * loaded connection instead of taking one exclusively.
   *
   * @example
   * ```ts ignore
   * const { rows, rowCount, command } = await db.query("SELECT $1::int AS n", [1]);
   * ```
   */
  query<R = Row>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    const session = this.#scope?.getStore();
    if (session !== undefined && session.owner === this && session.active) {
      return session.query<R>(text, params, options);
    }
    const trace = this.#telemetry?.statement(text, params);
    if (trace !== undefined) return this.#traced(trace, text, params, options) as Promise<QueryResult<R>>;
    const pool = this.#pool;
    if (pool !== undefined && this.#pipelining && modeOnly(options)) {
      const slot = pool.pick();
      if (slot !== undefined) {
        return this.#runShared(pool, slot, text, params, false, undefined, options) as Promise<QueryResult<R>>;
      }
    }
    return this.#querySlow<R>(text, params, options).catch(this.#redact);
  }

  /**
   * Attaches an instrumentation (tracing, metrics) and returns a function that
   * detaches it. Several may be attached at once. Prefer the `telemetry`
   * option, which also sees the first connection open.
   *
   * @example
   * ```ts ignore
   * import { otel } from "jsr:@dewey/db/otel";
   * const detach = db.instrument(otel());
   * ```
   */
  instrument(instrumentation: Instrumentation): () => void {
    const telemetry = instrumentation.attach(this);
    this.#attached = [...this.#attached, telemetry];
    this.#retelemetry();
    return () => {
      if (!this.#attached.includes(telemetry)) return;
      this.#attached = this.#attached.filter((t) => t !== telemetry);
      this.#retelemetry();
      telemetry.close();
    };
  }

  #retelemetry(): void {
    this.#telemetry = combineTelemetry(this.#attached);
    const state = this.#state;
    if (state) { for (const pool of [state.pool, ...state.replicas]) pool.telemetry = this.#telemetry; }
  }

  /**
   * Reads a statement's rows in batches, holding one connection for the
   * loop (inside `getSession`, the session's). `break`, a throw or an aborted
   * `signal` closes the cursor and gives the connection back. `rowMode` and
   * `types` work as for `query`. Memory stays at one batch.
   *
   * @example
   * ```ts ignore
   * for await (const rows of db.cursor("SELECT id, body FROM events WHERE day = $1", [day], { batchSize: 500 })) {
   *   for (const row of rows) await archive(row);
   * }
   * ```
   */
  cursor<R = Row>(text: string, params?: readonly unknown[], options?: CursorOptions): Cursor<R> {
    const session = this.currentSession();
    if (session !== undefined) return session.cursor<R>(text, params, options);
    return new Cursor<R>(this.#pin, text, params, options);
  }

  /**
   * Runs `COPY ... FROM STDIN` with `source`'s data: a string, bytes, a
   * `ReadableStream` or an (async) iterable of strings or bytes, read no
   * faster than the server takes it. A failing source, an abort or a bad row
   * rolls the COPY back and rejects; the connection goes back clean.
   *
   * @example
   * ```ts ignore
   * const { rowCount } = await db.copyFrom("COPY items (id, name) FROM STDIN (FORMAT csv)", "1,pen\n2,ink\n");
   * ```
   */
  copyFrom(text: string, source: CopySource, options?: CopyOptions): Promise<CopyResult> {
    const session = this.currentSession();
    if (session !== undefined) return session.copyFrom(text, source, options);
    return copyFrom(this.#pin, text, source, options);
  }

  /**
   * Runs `COPY ... TO STDOUT` and returns its output as a stream, read off
   * the connection as fast as the stream is read. The statement starts on
   * the first read; read it to the end or `cancel()` it.
   *
   * @example
   * ```ts ignore
   * const csv = db.copyTo("COPY (SELECT id, name FROM items) TO STDOUT (FORMAT csv)");
   * await csv.pipeTo((await Deno.create("items.csv")).writable);
   * ```
   */
  copyTo(text: string, options?: CopyOptions): ReadableStream<Uint8Array> {
    const session = this.currentSession();
    if (session !== undefined) return session.copyTo(text, options);
    return copyTo(this.#pin, text, options);
  }

  /**
   * Calls `handler` with each notification sent to `channel` (`NOTIFY`,
   * `pg_notify`, `db.notify`). Resolves once the server listens. Channels
   * share one dedicated connection, opened outside the pool (it does not
   * count against `pool_max`); after it is lost it is reopened and every
   * channel LISTENed again, with a `listen-gap` event for the downtime.
   *
   * @example
   * ```ts ignore
   * await using sub = await db.listen("jobs", (payload, { pid }) => console.log(payload, "from", pid));
   * await db.notify("jobs", "42");
   * ```
   */
  async listen(channel: string, handler: NotificationHandler): Promise<Subscription> {
    quoteChannel(channel);
    const { pool, driver } = await this.#init().catch(this.#redact);
    if (!driver.notifications) throw new NotSupportedError(driver.name, "LISTEN/NOTIFY");
    if (this.#closed) throw closedError();
    this.#listener ??= new Listener({
      connect: pool.connector,
      events: this,
      backoffBase: this.config.reconnect_backoff_base,
      backoffMax: this.config.reconnect_backoff_max,
    });
    return await this.#listener.listen(channel, handler).catch(this.#redact);
  }

  /**
   * Sends a notification (`pg_notify(channel, payload)`); inside `getSession`
   * it joins the session and is delivered when it commits.
   *
   * @example
   * ```ts ignore
   * await db.notify("jobs", JSON.stringify({ id: 42 }));
   * ```
   */
  async notify(channel: string, payload = ""): Promise<void> {
    quoteChannel(channel);
    await this.query("SELECT pg_notify($1, $2)", [channel, payload]);
  }

  /** A connection of its own for a cursor or a COPY outside a session. */
  #pin: Pin = async (signal) => {
    const { pool } = await this.#init().catch(this.#redact);
    const lease = await pool.acquire(signal).catch(this.#redact);
    return { lease, own: true, session: false, release: (discard) => lease.release(discard) };
  };

  /** The session whose callback is running in this async context, if any. */
  currentSession(): Session | undefined {
    const session = this.#scope?.getStore();
    return session !== undefined && session.owner === this && session.active ? session : undefined;
  }

  /**
   * Opens a session: one connection, one transaction. Rolled back when disposed
   * without `commit()`.
   */
  getSession(options?: SessionOptions): Promise<Session>;
  /**
   * Runs `fn` in a transaction: COMMIT on return, ROLLBACK on throw. Inside
   * `fn`, `db.query`/`db.sql` join this transaction. Called inside another
   * session's callback, it opens a SAVEPOINT in that session instead.
   */
  getSession<T>(fn: (session: Session) => Promise<T>, options?: SessionOptions): Promise<T>;
  getSession<T>(
    fnOrOptions?: ((session: Session) => Promise<T>) | SessionOptions,
    maybeOptions?: SessionOptions,
  ): Promise<T | Session> {
    return this.#getSession(fnOrOptions, maybeOptions).catch(this.#redact);
  }

  async #getSession<T>(
    fnOrOptions?: ((session: Session) => Promise<T>) | SessionOptions,
    maybeOptions?: SessionOptions,
  ): Promise<T | Session> {
    if (typeof fnOrOptions !== "function") return await this.#begin(fnOrOptions ?? {});
    const fn = fnOrOptions;
    const options = maybeOptions ?? {};
    const outer = this.currentSession();
    if (outer) {
      if (options.isolation || options.readOnly || options.deferrable) {
        throw new TypeError("isolation and access mode cannot be set on a nested session (a SAVEPOINT)");
      }
      return await outer.getSession(fn);
    }
    const retry = retryOptions(options.retry);
    for (let attempt = 1;; attempt++) {
      try {
        const session = await this.#begin(options, attempt);
        const store = this.#scope ??= this.#runtime.platform.createScope<Session>?.();
        return store ? await store.run(session, () => session.run(fn)) : await session.run(fn);
      } catch (error) {
        if (attempt >= retry.attempts || !retryable(error)) throw error;
        const delay = backoffDelay(attempt - 1, retry.baseDelay, retry.maxDelay);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Proves the database answers: a round trip on a pooled connection (opening
   * one if needed). Throws `DatabaseConnectionError` naming the cause.
   *
   * @example
   * ```ts ignore
   * await db.validateConnection();
   * ```
   */
  async validateConnection(): Promise<void> {
    const { pool, monitor } = await this.#init().catch(this.#redact);
    try {
      monitor.record(await pool.warm());
    } catch (error) {
      if (error instanceof DatabaseConnectionError) throw this.#redact(error);
      throw this.#redact(
        new DatabaseConnectionError(`validation failed: ${(error as Error)?.message ?? error}`, {
          code: (error as { code?: string })?.code,
          cause: error,
        }),
      );
    }
  }

  /**
   * Checks the database now and returns the health snapshot; `{ cached: true }`
   * returns the last one without I/O.
   *
   * @example
   * ```ts ignore
   * const { status, latencyMs, pool } = await db.health();
   * ```
   */
  async health(options: { cached?: boolean } = {}): Promise<HealthSnapshot> {
    try {
      const { monitor } = await this.#init();
      return this.#redactor.redactValue(options.cached ? monitor.snapshot() : await monitor.check());
    } catch (error) {
      throw this.#redact(error);
    }
  }

  /**
   * Pool numbers: sizes, waiters, counters, and who holds each checked-out connection.
   *
   * @example
   * ```ts ignore
   * const { total, idle, inUse, waiting } = db.stats();
   * ```
   */
  stats(): PoolStats {
    return this.#state?.pool.stats() ?? {
      total: 0,
      idle: 0,
      inUse: 0,
      waiting: 0,
      opening: 0,
      min: this.config.pool_min,
      max: this.config.pool_max,
      checkouts: 0,
      timeouts: 0,
      opened: 0,
      closed: 0,
      connectFailures: 0,
      leases: [],
    };
  }

  /**
   * Stops taking work, waits up to `close_timeout` for checked-out work, then
   * closes every connection. Safe to call more than once.
   */
  close(): Promise<void> {
    return this.#closed ??= this.#close();
  }

  /** Same as {@linkcode DatabaseConnectionBase.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `DatabaseConnection(postgres://user:***@host:port/db)`. */
  override toString(): string {
    return `DatabaseConnection(${String(this.config)})`;
  }

  /** Deno's `inspect` hook. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Node's `util.inspect` hook. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** Throws `error` redacted by this configuration's redactor: `.catch(this.#redact)`, or `throw this.#redact(e)`. */
  #redact = (error: unknown): never => {
    throw this.#redactor.redactError(error);
  };

  async #close(): Promise<void> {
    this.#detachLogger?.();
    await this.#listener?.close();
    try {
      await this.#closePools();
    } finally {
      // After the pools: statements drained by the close still end their traces.
      for (const t of this.#attached) t.close();
      this.#attached = [];
      this.#telemetry = undefined;
    }
  }

  async #closePools(): Promise<void> {
    const ready = this.#ready;
    if (!ready) return;
    let state: Ready;
    try {
      state = await ready;
    } catch {
      return;
    }
    state.monitor.stop();
    const timeout = this.config.close_timeout;
    await Promise.all([state.pool.close(timeout), ...state.replicas.map((r) => r.close(timeout))]);
    await state.router.close();
    await state.driver.end?.();
  }

  #init(): Promise<Ready> {
    if (this.#closed) return Promise.reject(closedError());
    return this.#ready ??= this.#start();
  }

  async #start(): Promise<Ready> {
    const parts = await loadOptionalParts(this.config, this.#runtime);
    const driver = await resolveDriver(this.config, this.#runtime, this.#options.driver);
    const primary = hostsLabel(this.config.hosts);
    const pool = this.#makePool(driver, parts, this.config.hosts, primary, undefined, { events: this });
    // A replica is whatever answers at its address: target_session_attrs is about the primary's host list.
    const replicas = this.config.replicas.map((r) =>
      this.#makePool(driver, parts, [r], `replica ${r.host}:${r.port}`, 0, { attrs: "any" })
    );
    const router = replicas.length === 0 || !parts.replicas ? NO_REPLICAS : parts.replicas(
      replicas,
      this.config.replicas,
      {
        maxLag: this.config.max_replica_lag,
        pipelining: driver.pipelining,
        checkTimeout: this.config.connect_timeout,
        events: this,
        primary,
      },
    );
    const monitor = new HealthMonitor({
      pool,
      replicas,
      events: this,
      config: this.config,
      replicaHealth: () => router.health(),
      unref: this.#unref,
    });
    const state: Ready = { driver, pool, replicas, router, monitor };
    if (this.#closed) {
      await driver.end?.();
      throw closedError();
    }
    pool.start();
    for (const r of replicas) r.start();
    monitor.start();
    this.#state = state;
    this.#pipelining = driver.pipelining;
    this.#pool = pool;
    return state;
  }

  #makePool(
    driver: Driver,
    parts: OptionalParts,
    targets: readonly HostPort[],
    label: string,
    min?: number,
    connector?: ConnectorOptions,
  ): Pool {
    const c = this.config;
    const cap = driver.maxConnections ?? Infinity;
    const pool = new Pool(
      {
        min: Math.min(min ?? c.pool_min, cap),
        max: Math.min(c.pool_max, cap),
        acquireTimeout: c.pool_acquire_timeout,
        idleTimeout: c.pool_idle_timeout,
        maxLifetime: c.pool_max_lifetime,
        prePing: c.pre_ping,
        leakThreshold: c.leak_detection_threshold,
        backoffBase: c.reconnect_backoff_base,
        backoffMax: c.reconnect_backoff_max,
        label,
        adapter: driver.name,
        unref: this.#unref,
        redactor: this.#redactor,
      },
      connectorFor(driver, c, targets, connector, parts.hostList),
      this,
    );
    pool.telemetry = this.#telemetry;
    return pool;
  }

  /** One autocommit statement on a shared slot, settled in a single `then`: the result, or its rows. */
  #runShared(
    pool: Pool,
    slot: Slot,
    text: string,
    params: readonly unknown[] | undefined,
    rows: boolean,
    trace?: StatementTrace,
    mode?: QueryMode,
  ): Promise<QueryResult | Row[]> {
    return pool.send(slot, text, params, undefined, mode).then<QueryResult | Row[], QueryResult | Row[]>(
      (result) => {
        pool.done(slot);
        return rows ? result.rows : result;
      },
      (error) => {
        pool.failed(slot, error);
        pool.done(slot);
        // Provably never sent (the connection was found dead first): safe to send on another one.
        if ((error as DatabaseConnectionError).reachedServer === false && !pool.closing) {
          trace?.retry(error);
          const again = this.#querySlow<Row>(text, params, mode, trace).catch(this.#redact);
          return rows ? again.then(rowsOf) : again;
        }
        throw this.#redactor.redactError(error);
      },
    );
  }

  /** A statement traced from its call to its outcome (pool waits and retries included). */
  #traced(
    trace: StatementTrace,
    text: string,
    params: readonly unknown[] | undefined,
    options: QueryOptions | undefined,
  ): Promise<QueryResult> {
    const pool = this.#pool;
    const slot = pool !== undefined && this.#pipelining && modeOnly(options) ? pool.pick() : undefined;
    const run = slot !== undefined
      ? this.#runShared(pool!, slot, text, params, false, trace, options) as Promise<QueryResult>
      : this.#querySlow<Row>(text, params, options, trace).catch(this.#redact);
    return traced(trace, run);
  }

  async #querySlow<R>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
    trace?: StatementTrace,
  ): Promise<QueryResult<R>> {
    const { pool, router } = await this.#init();
    const replica = options?.readOnly ? await router.pick() : undefined;
    if (replica === undefined) return await this.#queryOn<R>(pool, text, params, options, trace);
    try {
      return await this.#queryOn<R>(replica, text, params, options, trace);
    } catch (error) {
      if (!isConnectionFailure(error) || replica.closing) throw error;
      router.failed(replica, error);
      trace?.retry(error);
      // readOnly promises the statement writes nothing (and a standby applies no writes): running it
      // on the next replica or the primary cannot apply anything twice.
      return await this.#querySlow<R>(text, params, options, trace);
    }
  }

  async #queryOn<R>(
    target: Pool,
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
    trace?: StatementTrace,
  ): Promise<QueryResult<R>> {
    if (options?.signal || options?.timeout || !this.#pipelining) {
      return await withDeadline(options, async (signal, running) => {
        const lease = await target.acquire(signal, trace);
        try {
          running();
          return await lease.query(text, params, signal, options) as QueryResult<R>;
        } finally {
          await lease.release();
        }
      });
    }
    for (let attempt = 0;; attempt++) {
      const slot = target.pick() ?? await target.waitShared(undefined, trace);
      try {
        const result = await target.run(slot, text, params, undefined, options);
        target.done(slot);
        return result as QueryResult<R>;
      } catch (error) {
        target.done(slot);
        if ((error as DatabaseConnectionError).reachedServer !== false || attempt >= 2 || target.closing) throw error;
        trace?.retry(error);
      }
    }
  }

  /**
   * A session with BEGIN done. BEGIN is its own round trip, as in postgres.js's `sql.begin`: sent in the same
   * write as the first statement it would save one, but postgres.js ends every statement with a Sync, so a BEGIN
   * that failed would not stop the statement behind it from running, and committing, outside the transaction.
   */
  #begin(options: SessionOptions, attempt = 1): Promise<Session> {
    const trace = this.#telemetry?.session(attempt);
    if (trace === undefined) return this.#beginOn(options, undefined);
    return this.#beginOn(options, trace).catch((error) => {
      trace.end(error, "rolled back");
      throw error;
    });
  }

  async #beginOn(options: SessionOptions, trace: SessionTrace | undefined): Promise<Session> {
    // Once started, no `await` on #init(): a microtask hop less per transaction.
    const { pool, router, replicas } = this.#state !== undefined && this.#closed === undefined
      ? this.#state
      : await this.#init();
    let target = options.readOnly && replicas.length > 0 ? (await router.pick()) ?? pool : pool;
    const begin = beginStatement(options);
    const verify = options.verifyCommit ?? options.retry !== undefined;
    const settle = verify ? this.#settleCommit : undefined;
    for (let attempt = 0;; attempt++) {
      const lease = await target.acquire(options.signal, trace);
      try {
        await traced(trace?.statement(begin, undefined), lease.query(begin));
        lease.inTransaction = true;
        return new Session(this, lease, undefined, undefined, settle, trace);
      } catch (error) {
        await lease.release(isConnectionFailure(error));
        if (target !== pool && isConnectionFailure(error) && !target.closing) {
          // Only BEGIN was sent: another replica or the primary may take the session.
          router.failed(target, error);
          trace?.retry(error);
          target = (await router.pick()) ?? pool;
          continue;
        }
        // BEGIN alone changes nothing: one that failed with its connection, sent or not, can go on another.
        const again = (error as DatabaseConnectionError).reachedServer === false || isConnectionFailure(error);
        if (!again || attempt >= 2) throw error;
        trace?.retry(error);
      }
    }
  }

  /**
   * How transaction `txid` ended, asked on a fresh connection after its own died
   * during COMMIT. Polls while the old backend is still finishing; gives up
   * ("unknown") after `connect_timeout` (at least 5 s).
   */
  #settleCommit = async (txid: string): Promise<"committed" | "aborted" | "unknown"> => {
    const { pool } = await this.#init();
    const give = Math.max(this.config.connect_timeout, 5000);
    const end = performance.now() + give;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new Error("gave up settling a COMMIT")), give);
    try {
      while (performance.now() < end) {
        try {
          const lease = await pool.acquire(ctl.signal);
          let status: unknown;
          try {
            status = (await lease.query("SELECT txid_status($1::bigint) AS s", [txid])).rows[0]?.s;
          } finally {
            await lease.release();
          }
          if (status === "committed" || status === "aborted") return status;
          if (status !== "in progress") return "unknown"; // null: too old to tell
        } catch (error) {
          // The server may still be restarting: keep asking until the deadline; a query error is final.
          if (ctl.signal.aborted || error instanceof QueryError) return "unknown";
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return "unknown";
    } finally {
      clearTimeout(timer);
    }
  };

  async #connect(signal?: AbortSignal): Promise<PooledConnection> {
    try {
      const { pool } = await this.#init();
      return new PooledConnection(await pool.acquire(signal), this.#telemetry);
    } catch (error) {
      throw this.#redact(error);
    }
  }
}

/**
 * Builds a {@linkcode DatabaseConnectionBase} and proves it connects (one round
 * trip), failing fast with `DatabaseConnectionError` (unreachable host, wrong
 * password, TLS failure) or `ConfigError` (invalid configuration).
 *
 * `config` is a parsed config, an object (the whole YAML document, its
 * `database` section, or the `postgres` section), or a `postgres://` URL.
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 * const db = await getConnection("postgres://app@localhost:5432/app");
 * console.log(await db.sql`SELECT now()`);
 * await db.close();
 * ```
 */
export function getConnection(
  config: ConnectionConfig,
  options?: DatabaseConnectionOptions,
): Promise<DatabaseConnectionBase> {
  return validated(new DatabaseConnectionBase(config, options));
}

/**
 * `db` once it has proved it connects (one round trip); closed, and the error
 * thrown, when it does not. What every entry point's `getConnection` does
 * after building its `DatabaseConnection`.
 *
 * @example
 * ```ts ignore
 * const db = await validated(new DatabaseConnection("postgres://app@localhost/app", { runtime }));
 * ```
 */
export async function validated<T extends DatabaseConnectionBase>(db: T): Promise<T> {
  try {
    await db.validateConnection();
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

function isParsed(config: ConnectionConfig): config is DatabaseConfig {
  return typeof config === "object" && config !== null && "sources" in config && Object.isFrozen(config);
}

function hostsLabel(hosts: readonly HostPort[]): string {
  return hosts.map((h) => `${h.host}:${h.port}`).join(",");
}

function retryOptions(retry: number | RetryOptions | undefined): Required<RetryOptions> {
  const o = typeof retry === "number" ? { attempts: retry } : retry ?? { attempts: 1 };
  return { attempts: o.attempts ?? 3, baseDelay: o.baseDelay ?? 20, maxDelay: o.maxDelay ?? 1000 };
}

/**
 * Worth re-running a whole transaction for: serialization failure, deadlock,
 * or a lost connection that certainly rolled it back. Never an in-doubt COMMIT
 * or a pool timeout.
 */
function retryable(error: unknown): boolean {
  if (isTransientSqlState((error as { code?: string })?.code)) return true;
  return error instanceof DatabaseConnectionError && error.retryable && !error.inDoubt &&
    !(error instanceof PoolTimeoutError);
}

function closedError(): DatabaseConnectionError {
  return new DatabaseConnectionError("the database connection is closed", {
    code: "POOL_CLOSED",
    reachedServer: false,
  });
}
