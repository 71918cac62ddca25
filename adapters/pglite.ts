/**
 * The PGlite adapter: PostgreSQL compiled to WebAssembly, running in this
 * process (`npm:@electric-sql/pglite`). For demos, tests and small tools; no
 * server to install.
 *
 * - `pglite://memory` (or `driver: pglite` without `data_dir`): a fresh
 *   database in memory, gone when the connection closes. Creating it runs
 *   initdb: ~3.5 s and ~0.7 GB of memory here.
 * - `pglite:///path/to/dir` (or `data_dir:`): kept in that directory; the
 *   first open takes ~3 s, later opens ~0.5 s.
 *
 * PGlite is one connection: the driver reports `maxConnections: 1`, so the
 * pool serialises sessions onto it, whatever `pool_max` says. It has one
 * database (`postgres`) and one user (`postgres`): `dbname` and `user` are
 * not used. A statement cannot be interrupted once it runs (PGlite runs it
 * synchronously on the JavaScript thread), so an abort or timeout only stops
 * statements that have not started yet.
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 * const db = await getConnection("pglite://memory");
 * console.log(await db.sql`SELECT version()`);
 * await db.close();
 * ```
 *
 * @module
 */

import type { PGlite } from "@electric-sql/pglite";
import { resolve } from "node:path";
import { raceAbort } from "../src/abort.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type {
  ConnectionInfo,
  ConnectRequest,
  Driver,
  DriverConnection,
  DriverCopyOut,
  QueryMode,
  QueryResult,
} from "../src/contracts.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import {
  customMode,
  fromServerError,
  isPlainObject,
  jsonText,
  missingPackage,
  OID,
  parseTimestamp,
  rawTypes,
  shapeResult,
} from "./kit.ts";
import { collect, copyFromBlob, copyToBlob, pgliteClosed, PgliteListenConnection, readBlob } from "./pglite_stream.ts";

/**
 * One result set as PGlite returns it.
 *
 * @example
 * ```ts ignore
 * const r: PgliteResults = await new PGlite().query("SELECT 1 AS one");
 * ```
 */
export interface PgliteResults {
  /** Rows, values already parsed. */
  rows: Record<string, unknown>[];
  /** The command tag's verb. */
  command?: string;
  /** Rows returned or affected by this statement. */
  rowCount?: number;
  /** Rows affected, summed over the statements of an `exec`. */
  affectedRows?: number;
  /** The columns. */
  fields: { name: string; dataTypeID: number }[];
  /** The `/dev/blob` output of a COPY. */
  blob?: Blob;
}

/**
 * The parts of a `PGlite` instance (from `npm:@electric-sql/pglite`) the adapter uses.
 *
 * @example
 * ```ts ignore
 * import { PGlite } from "@electric-sql/pglite";
 * const instance: PgliteInstance = new PGlite();
 * ```
 */
export interface PgliteInstance {
  /** Resolves once the database is ready. */
  readonly waitReady: Promise<void>;
  /** Whether it was closed. */
  readonly closed: boolean;
  /** Result parsers by type OID. */
  parsers: Record<number | string, (text: string, typeId?: number) => unknown>;
  /** Parameter serializers by type OID. */
  serializers: Record<number | string, (value: unknown) => string>;
  /** One statement, with parameters (extended protocol). */
  query(text: string, params?: unknown[], options?: PgliteQueryOptions): Promise<PgliteResults>;
  /** Statements without parameters (simple protocol). */
  exec(text: string, options?: PgliteQueryOptions): Promise<PgliteResults[]>;
  /** Calls `callback` with every notification; returns the function that stops it. */
  onNotification(callback: (channel: string, payload: string) => void): () => void;
  /** Runs `fn` with the query lock held (for protocol messages of our own). */
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  /** Sends protocol messages as they are. */
  execProtocol(message: Uint8Array, options?: { syncToFs?: boolean }): Promise<{ messages: { name: string }[] }>;
  /** Shuts the database down. */
  close(): Promise<void>;
}

/**
 * Options for {@linkcode createDriver}.
 *
 * @example
 * ```ts ignore
 * const options: PgliteDriverOptions = { instance: new PGlite() };
 * ```
 */
export interface PgliteDriverOptions {
  /**
   * A PGlite instance to use instead of creating one from the configuration.
   * The driver never closes it: its owner does. It sets its result parsers
   * on it (int8 as a string). Handy to share one in-memory database between
   * several tests, one `DatabaseConnection` at a time.
   */
  instance?: PgliteInstance;
}

/**
 * Per-statement options PGlite's `query` and `exec` take.
 *
 * @example
 * ```ts ignore
 * const options: PgliteQueryOptions = { rowMode: "array" };
 * ```
 */
export interface PgliteQueryOptions {
  /** Rows as arrays. */
  rowMode?: "array" | "object";
  /** Result parsers for this statement, by type OID. */
  parsers?: Record<number | string, (text: string) => unknown>;
  /** The `/dev/blob` input of a COPY. */
  blob?: Blob;
}

// Results come back the way the postgres.js adapter gives them: int8 as a string (PGlite's default is a number,
// or a bigint beyond 2^53), timestamp read as UTC (PGlite reads it in the process's time zone). Array parsers look
// their element parser up by OID, so int8[] and timestamp[] follow.
const PARSERS = { [OID.INT8]: (text: string) => text, [OID.TIMESTAMP]: parseTimestamp };

const PASSES_STRINGS = Symbol("passes strings");

/**
 * The adapters' parameter rule on a PGlite instance: a string is sent as it is, the text the server parses (PGlite
 * would refuse a string bound to bytea, and re-read a timestamp string as a `Date`).
 */
function installValueRules(pg: PgliteInstance): void {
  Object.assign(pg.parsers, PARSERS);
  for (const key of Object.keys(pg.serializers)) {
    const own = pg.serializers[key];
    if ((own as { [PASSES_STRINGS]?: true })[PASSES_STRINGS]) continue;
    const passing = (value: unknown) => typeof value === "string" ? value : own(value);
    pg.serializers[key] = Object.assign(passing, { [PASSES_STRINGS]: true as const });
  }
}

// Data directories open in this process: a second PGlite on the same files would corrupt them.
const openDirs = new Set<string>();

/**
 * Creates the PGlite driver for a configuration. The database opens on the
 * first connection and closes with `db.close()`. Imports `@electric-sql/pglite`
 * unless `options.instance` is given: a `ConfigError` says to install it when
 * it is missing (it is an optional peer dependency of the npm package).
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db";
 * import { createDriver } from "jsr:@dewey/db/pglite";
 * const db = new DatabaseConnection("pglite:///var/lib/myapp/db", { driver: createDriver });
 * ```
 *
 * @example Share one in-memory database between tests
 * ```ts ignore
 * import { PGlite } from "@electric-sql/pglite";
 * const pg = new PGlite();
 * const db = new DatabaseConnection("pglite://memory", { driver: (c) => createDriver(c, { instance: pg }) });
 * ```
 */
export async function createDriver(config: DatabaseConfig, options: PgliteDriverOptions = {}): Promise<Driver> {
  const pglite = options.instance
    ? undefined
    : await import("@electric-sql/pglite").catch(missingPackage(config, "@electric-sql/pglite"));
  let opening: Promise<PgliteInstance> | undefined;
  let current: PgliteConnection | undefined;
  let dirKey: string | undefined;

  const open = (): Promise<PgliteInstance> => {
    if (opening) return opening;
    const pending = options.instance ? ready(options.instance) : start(config, pglite!.PGlite).then(({ pg, key }) => {
      dirKey = key;
      return pg;
    });
    opening = pending;
    // A failed start (a missing parent directory, a corrupt data directory) is tried afresh next time.
    pending.catch(() => {
      if (opening === pending) opening = undefined;
    });
    return pending;
  };

  return {
    name: "pglite",
    pipelining: true, // statements queue on the one connection; no checkout needed for autocommit queries
    maxConnections: 1,
    remote: false,
    notifications: true,
    async connect(request: ConnectRequest): Promise<DriverConnection> {
      const { signal } = request;
      signal.throwIfAborted();
      // The start keeps going when this attempt gives up, so the next attempt finds it further along.
      const pg = await raceAbort(open(), signal);
      if (request.onNotification) {
        // Outside the pool's one connection: the same backend, which it leaves alone when closed.
        const { rows } = await pg.query("SELECT pg_backend_pid() AS pid, current_setting('server_version') AS v");
        const row = rows[0] as { pid: number; v: string };
        return new PgliteListenConnection(
          pg,
          { pid: row.pid, serverVersion: row.v, tls: null },
          request.onNotification,
        );
      }
      // The pool holds at most one connection; a retired one may still be cleaning up.
      await current?.closing;
      signal.throwIfAborted();
      const conn = new PgliteConnection(pg, request.onClose);
      await conn.init(config);
      current = conn;
      return conn;
    },
    async end(): Promise<void> {
      const pending = opening;
      opening = undefined;
      if (!pending || options.instance) return;
      const pg = await pending.catch(() => undefined);
      try {
        if (pg && !pg.closed) await pg.close();
      } finally {
        if (dirKey) openDirs.delete(dirKey);
      }
    },
  };
}

async function ready(pg: PgliteInstance): Promise<PgliteInstance> {
  await pg.waitReady;
  installValueRules(pg);
  return pg;
}

/** Opens the configured database; `key` marks its data directory as open in this process. */
async function start(
  config: DatabaseConfig,
  PGliteClass: typeof PGlite,
): Promise<{ pg: PgliteInstance; key?: string }> {
  const dir = config.data_dir;
  const where = dir === undefined ? "in memory" : `in ${dir}`;
  // Prefixes other than file:// (memory://, idb://...) are PGlite's own stores, not files on this machine.
  const key = dir === undefined || (/^[a-z][a-z0-9+.-]*:\/\//i.test(dir) && !dir.startsWith("file://"))
    ? undefined
    : resolve(dir.replace(/^file:\/\//, ""));
  if (key !== undefined) {
    if (openDirs.has(key)) {
      throw new DatabaseConnectionError(
        `the PGlite data directory ${dir} is already open in this process; close the other DatabaseConnection first`,
        { code: "PGLITE_IN_USE", retryable: true, reachedServer: false },
      );
    }
    openDirs.add(key);
  }
  let pg: PGlite | undefined;
  try {
    pg = new PGliteClass({ dataDir: dir, parsers: PARSERS });
    await pg.waitReady;
    installValueRules(pg as unknown as PgliteInstance);
    return { pg: pg as unknown as PgliteInstance, key };
  } catch (error) {
    if (key !== undefined) openDirs.delete(key);
    await pg?.close().catch(() => {});
    throw new DatabaseConnectionError(`could not open the PGlite database ${where}: ${messageOf(error)}`, {
      code: "PGLITE_OPEN",
      reachedServer: false,
      cause: error,
    });
  }
}

class PgliteConnection implements DriverConnection {
  info: ConnectionInfo = {};
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Statements run one after another, so one not yet started can still be dropped when its signal aborts. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(readonly pg: PgliteInstance, readonly onClose: (error?: Error) => void) {}

  get closed(): boolean {
    return this.#closed || this.pg.closed;
  }

  /** Resolves when a close in progress has finished. */
  get closing(): Promise<void> | undefined {
    return this.#closing;
  }

  async init(config: DatabaseConfig): Promise<void> {
    const settings = [`SET application_name = ${literal(config.application_name)}`];
    // Accepted, but PGlite has no timer to enforce it (see the module doc); kept so SHOW reports the config.
    if (config.statement_timeout !== undefined) settings.push(`SET statement_timeout = ${config.statement_timeout}`);
    await this.query(settings.join("; "));
    const { rows } = await this.query("SELECT pg_backend_pid() AS pid, current_setting('server_version') AS version");
    const row = rows[0] as { pid: number; version: string };
    this.info = { pid: row.pid, serverVersion: row.version, tls: null };
  }

  query(text: string, params?: readonly unknown[], signal?: AbortSignal, mode?: QueryMode): Promise<QueryResult> {
    const options = customMode(mode) ? this.#modeOptions(mode) : undefined;
    return this.#enqueue((s) => this.#run(text, params, s, options, mode), signal);
  }

  copyFrom(text: string, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ rowCount: number }> {
    const statement = copyFromBlob(text);
    // PGlite reads a COPY's input from a Blob: the whole source first, then the statement in its turn.
    return collect(source, signal).then((blob) =>
      this.#enqueue(async () => {
        const results = await this.#exec(statement, { blob });
        return { rowCount: results.at(-1)?.rowCount ?? 0 };
      }, signal)
    );
  }

  copyTo(text: string, signal?: AbortSignal): DriverCopyOut {
    const statement = copyToBlob(text);
    const output = this.#enqueue(async () => {
      const blob = (await this.#exec(statement)).at(-1)?.blob;
      if (blob === undefined) throw new TypeError("expected a COPY ... TO STDOUT statement");
      return readBlob(blob);
    }, signal);
    output.catch(() => {});
    return { read: () => output.then((out) => out.read()) };
  }

  /** PGlite's per-statement options for `mode`: array rows, and the server's text where asked. */
  #modeOptions(mode: QueryMode): PgliteQueryOptions {
    const raw = rawTypes(mode);
    const options: PgliteQueryOptions = mode.rowMode === "array" ? { rowMode: "array" } : {};
    if (raw === undefined) return options;
    const parsers: Record<string, (text: string) => string> = {};
    for (const oid of Object.keys(this.pg.parsers)) if (raw(Number(oid))) parsers[oid] = keepText;
    if (typeof mode.types === "object") { for (const oid of mode.types.raw) parsers[oid] = keepText; }
    return { ...options, parsers };
  }

  async #exec(text: string, options?: PgliteQueryOptions): Promise<PgliteResults[]> {
    try {
      return await this.pg.exec(text, options);
    } catch (error) {
      throw this.#mapError(error);
    }
  }

  /**
   * Runs `task` after every statement queued before it. One still waiting for its turn gives up when `signal`
   * aborts; one already running finishes (it cannot be stopped).
   */
  #enqueue<T>(task: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closed) {
      this.#lost();
      return Promise.reject(pgliteClosed("is closed"));
    }
    let started = false;
    const run = this.#tail.then(() => {
      started = true;
      return task(signal);
    });
    this.#tail = run.catch(() => {});
    if (!signal) return run;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        if (!started) reject(signal.reason);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  async #run(
    text: string,
    params: readonly unknown[] | undefined,
    signal: AbortSignal | undefined,
    options: PgliteQueryOptions | undefined,
    mode: QueryMode | undefined,
  ): Promise<QueryResult> {
    // The statement before this one blocked the thread, so a deadline that passed meanwhile has not fired yet:
    // let due timers run first, so a statement past its deadline is dropped instead of run.
    if (signal && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 0));
    if (signal?.aborted) throw signal.reason; // never started: the core reports it as cancelled before it was sent
    if (this.closed) throw pgliteClosed("closed before the statement ran");
    try {
      // Like postgres.js: without parameters the simple protocol, which allows several statements.
      if (params === undefined || params.length === 0) {
        const results = await this.pg.exec(text, options);
        return toResult(results.at(-1), mode);
      }
      const values = params.some(isPlainObject) ? params.map((v) => isPlainObject(v) ? jsonText(v) : v) : params;
      return toResult(await this.pg.query(text, values as unknown[], options), mode);
    } catch (error) {
      throw this.#mapError(error);
    }
  }

  /** The database was closed under this connection (not by close()): report it, once. */
  #lost(error?: unknown): void {
    if (!this.pg.closed || this.#closed) return;
    this.#closed = true;
    this.onClose(error instanceof Error ? error : undefined);
  }

  #mapError(error: unknown): unknown {
    const server = fromServerError(error, true);
    if (server) return server;
    this.#lost(error);
    if (this.closed || error instanceof WebAssembly.RuntimeError) {
      // The WebAssembly instance is gone (closed, or aborted): nothing more can run on it.
      this.#closed = true;
      return new DatabaseConnectionError(`PGlite stopped: ${messageOf(error)}`, {
        code: "CONNECTION_CLOSED",
        retryable: false,
        cause: error,
      });
    }
    return error;
  }

  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    if (this.#closed || this.pg.closed) {
      this.#closed = true;
      return;
    }
    // The database outlives this connection (a retired connection is replaced on the same database), so leave
    // nothing behind for the next one: no open transaction, no session settings, temp tables or prepared statements.
    // DISCARD ALL but its UNLISTEN: the backend is also the LISTEN connection's.
    await this.query("ROLLBACK").catch(() => {});
    await this.query(DISCARD_ALL_BUT_LISTEN).catch(() => {});
    this.#closed = true;
  }
}

/** What `DISCARD ALL` does (the PostgreSQL documentation lists it), except `UNLISTEN *`. */
const DISCARD_ALL_BUT_LISTEN = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; " +
  "SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES";

const keepText = (text: string) => text;

function toResult(r: PgliteResults | undefined, mode?: QueryMode): QueryResult {
  if (!r) return { rows: [], rowCount: 0, command: "", fields: [] };
  const count = r.rowCount ?? (r.command === "SELECT" ? undefined : r.affectedRows);
  return shapeResult(r.rows, r.fields, r.command, count, mode);
}

/** A SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
