/**
 * The postgres.js adapter: raw TCP for Deno and Node. One postgres.js instance
 * with `max: 1` per pooled connection, so the core's pool decides everything
 * and postgres.js still pipelines statements on its connection.
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 * const db = await getConnection("postgres://app@localhost/app"); // driver: postgres is the default
 * ```
 *
 * @module
 */

import type { Duplex } from "node:stream";
import postgres from "postgres";
import { raceAbort } from "../src/abort.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import { networkError } from "../src/classify.ts";
import type {
  ConnectRequest,
  Driver,
  DriverConnection,
  DriverCopyOut,
  DriverCursor,
  DriverCursorOptions,
  FieldInfo,
  QueryMode,
  QueryResult,
  Row,
} from "../src/contracts.ts";
import { DatabaseConnectionError, QueryError } from "../src/errors.ts";
import { CancelGate } from "./cancel_gate.ts";
import { DeathWatch, type Ticket } from "./postgres_unsent.ts";
import { fromServerError, linkError, OID, plainBytes, settingMs, shapeResult } from "./kit.ts";
import { notificationReader } from "./notifications.ts";
import { parseArray, serializeArray } from "./pg_array.ts";
import { copyIn, copyOut, openCursor, type PgQuery, type StreamControl } from "./postgres_stream.ts";
import {
  installValueRules,
  lastSet,
  modeResult,
  type PgOptions,
  type PgResult,
  runAs,
  sendAtOnce,
  toParams,
  unnamedParams,
} from "./postgres_values.ts";
import { checkPgBouncerStartup } from "./postgres_pgbouncer.ts";
import { openSocket, type SocketFactory } from "./postgres_socket.ts";
import { handOver, startup as authenticate } from "./postgres_startup.ts";

export type { SocketFactory, SocketRequest } from "./postgres_socket.ts";
import { connectWithTls, prepareTls, securedSockets, type TlsAttempt, type TlsEvent } from "./postgres_tls.ts";
export type { TlsEvent } from "./postgres_tls.ts";
export type { PeerCertificate, TlsNegotiation } from "./tls_negotiate.ts";

type Sql = ReturnType<typeof postgres>;

/** Options for {@linkcode createDriver}. */
export interface PostgresDriverOptions {
  /**
   * How sockets are made. Default: `node:net` TCP (Deno, Node). Pass `null` on
   * Cloudflare Workers to let postgres.js's own `cloudflare:sockets` build dial.
   */
  socket?: SocketFactory | null;
  /**
   * Told of every TLS decision on every connection this driver opens: each attempt, what each
   * negotiation saw (protocol, cipher, certificate, which checks were made and how they came out) and
   * each fallback. For diagnostics: `doctor` reports what it hears here.
   */
  observeTls?: (event: TlsEvent) => void;
}

/**
 * Creates the postgres.js driver for a configuration. Reads and checks the TLS certificates and key
 * first: a `ConfigError` naming the key (`database.postgres.sslrootcert`, ...) before any connection.
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db";
 * import { createDriver } from "jsr:@dewey/db/postgres";
 * const db = new DatabaseConnection("postgres://localhost/app", { driver: createDriver });
 * ```
 */
export async function createDriver(config: DatabaseConfig, options: PostgresDriverOptions = {}): Promise<Driver> {
  checkPgBouncerStartup(config);
  const socket = options.socket === undefined ? openSocket : options.socket;
  const tls = await prepareTls(config, { ownSocket: socket !== null, observe: options.observeTls });
  const arrayTypes: ArrayTypeCache = new Map();
  return {
    name: "postgres",
    pipelining: true,
    remote: true,
    notifications: true,
    // sslmode allow/prefer may take a second attempt, as libpq does.
    connect: (request) =>
      connectWithTls(
        tls,
        request,
        (attempt) => connectOnce(request, attempt, securedSockets(socket, attempt), arrayTypes),
      ),
  };
}

/**
 * The first statement on every connection: proves it works and reads what TLS negotiated, as the server
 * sees it. pg_stat_get_activity(pid) reads one backend's entry where the pg_stat_ssl view reads them all.
 */
const HELLO = "SELECT pid, ssl, sslversion AS version, sslcipher AS cipher, " +
  "current_setting('idle_session_timeout', true) AS idle FROM pg_stat_get_activity(pg_backend_pid())";

/**
 * Parsers and serializers for the server's array types (~300 on a stock server), built once per server from the
 * first connection's answer and shared by all: each connection's own maps inherit them. Installed per connection
 * they would weigh on every pooled connection's heap (the `memory` bench scenario); shared, nothing.
 */
interface ArrayTypes {
  parsers: PgOptions["parsers"];
  serializers: PgOptions["serializers"];
  typeArrayMap: Record<number, number>;
}

type ArrayTypeCache = Map<string, Promise<ArrayTypes>>;

const ARRAY_TYPES = "SELECT b.oid::int AS elem, b.typarray::int AS arr FROM pg_catalog.pg_type a " +
  "JOIN pg_catalog.pg_type b ON b.oid = a.typelem WHERE a.typcategory = 'A' GROUP BY b.oid, b.typarray";

/** Array parsers and serializers for one connection, from the per-server cache (fetched on first use). */
async function installArrayTypes(sql: Sql, cache: ArrayTypeCache, key: string): Promise<void> {
  const options = (sql as unknown as { options: PgOptions }).options;
  let types = cache.get(key);
  if (!types) {
    types = (sql.unsafe(ARRAY_TYPES, [], { prepare: false }) as unknown as Promise<{ elem: number; arr: number }[]>)
      .then((rows) => arrayTypes(rows, options));
    cache.set(key, types);
    types.catch(() => cache.delete(key)); // the next connection asks again
  }
  const shared = await types;
  // Own entries (postgres.js's element types) stay; array types are looked up on the shared maps behind them.
  Object.setPrototypeOf(options.parsers, shared.parsers);
  Object.setPrototypeOf(options.serializers, shared.serializers);
  Object.setPrototypeOf(options.shared.typeArrayMap, shared.typeArrayMap);
}

/** The shared maps, with element parsers and serializers as postgres.js set them up (the same on every connection). */
function arrayTypes(rows: { elem: number; arr: number }[], options: PgOptions): ArrayTypes {
  const shared: ArrayTypes = { parsers: {}, serializers: {}, typeArrayMap: {} };
  for (const { elem, arr } of rows) {
    const delimiter = arr === 1020 ? ";" : ","; // box[] alone uses ';'
    const own = options.parsers[elem];
    // bytea elements as plain Uint8Arrays, like bytea columns (postgres.js makes Node Buffers).
    const parse = elem === OID.BYTEA && own ? (text: string) => plainBytes(own(text)) : own;
    const serialize = options.serializers[elem];
    shared.parsers[arr] = (text: string) => parseArray(text, parse, delimiter);
    shared.serializers[arr] = (xs: unknown) =>
      Array.isArray(xs) ? serializeArray(xs, serialize as (v: unknown) => string, delimiter) : String(xs);
    shared.typeArrayMap[elem] = arr;
  }
  return shared;
}

async function connectOnce(
  request: ConnectRequest,
  attempt: TlsAttempt,
  socket: SocketFactory | null,
  arrayTypes: ArrayTypeCache,
): Promise<DriverConnection> {
  const { config, host, port, signal, onClose, onNotification } = request;
  signal.throwIfAborted();
  const password = (request.password ?? config.password)?.reveal();
  const parameters = startupParameters(config);
  let state: "starting" | "open" | "closed" = "starting";
  let sockets = 0;
  let raw: { bytesWritten?: number } | undefined;
  const watch = new DeathWatch();
  let failStartup: (error: Error) => void = () => {};
  const startupFailed = new Promise<never>((_, reject) => failStartup = reject);
  startupFailed.catch(() => {});

  const sql: Sql = postgres({
    host,
    port,
    database: config.dbname,
    user: config.user,
    pass: password ?? "",
    max: 1,
    ssl: attempt.ssl as never,
    prepare: config.prepare,
    connect_timeout: 0, // the core bounds the whole attempt; postgres.js's timer would only cover part of it
    idle_timeout: 0,
    max_lifetime: 0,
    keep_alive: config.keepalives ? Math.max(1, Math.round(config.keepalives_idle / 1000)) : 0,
    fetch_types: false, // array types come from installArrayTypes: fetched once per server, and without the
    // unhandled rejection postgres.js's own fetch raises when a connection dies during it

    onnotice: () => {},
    // The LISTEN connection reads notifications off the socket we made (with the sender's pid, which postgres.js
    // drops); on Workers, where postgres.js makes its own, from postgres.js.
    ...(onNotification && !socket
      ? { onnotify: (channel: string, payload: string) => onNotification({ channel, payload }) }
      : {}),
    connection: Object.fromEntries(Object.entries(parameters).filter(([k]) => !POSTGRES_JS_OWN.has(k))),
    onclose: () => {
      const was = state;
      state = "closed";
      if (was !== "open") return;
      // postgres.js may hold statements queued behind this connection, waiting for a redial we refuse: end() fails
      // them (CONNECTION_DESTROYED; never written, so the core may send them elsewhere) instead of stranding them.
      void sql.end({ timeout: 0 }).catch(() => {});
      onClose();
    },
    ...(socket
      ? {
        socket: () => {
          // postgres.js redials silently after a close (in a tight loop against a server that accepts and
          // hangs up). Only the first dial and, once open, cancel requests may make a socket.
          if (state === "closed" || (state === "starting" && sockets > 0)) {
            const what = state === "closed" ? "connection is closed" : "closed the connection during startup";
            const error = new DatabaseConnectionError(`${host}:${port}: ${what}`, {
              code: "CONNECTION_CLOSED",
              retryable: true,
              reachedServer: false,
            });
            failStartup(error);
            throw error;
          }
          sockets++;
          const dialled = socket({
            host,
            port,
            address: request.address,
            signal,
            keepalives: config.keepalives,
            keepalivesIdle: config.keepalives_idle,
          });
          // The session's socket: authenticated here (libpq's channel_binding, require_auth, a missing password),
          // then handed to postgres.js. Later sockets carry cancel requests.
          const made = sockets > 1 ? dialled : dialled.then(async (s) => {
            const rest = await authenticate(s as Duplex, {
              parameters,
              password,
              passwordSource: request.password ? undefined : config.sources.password,
              channelBinding: config.channel_binding,
              requireAuth: config.require_auth,
              target: `${host}:${port}`,
              signal,
            });
            handOver(s as Duplex, rest);
            return s;
          });
          // The first socket carries the session (later ones are cancel requests): its byte count tells what was sent.
          if (sockets === 1) {
            made.then((s) => {
              raw = s as typeof raw;
              // Where postgres.js reads the protocol from this socket in plaintext (not its own TLS).
              if (!attempt.ssl) watch.attach(s as Parameters<DeathWatch["attach"]>[0]);
              if (onNotification) {
                (s as { on(e: "data", f: (b: Uint8Array) => void): void }).on(
                  "data",
                  notificationReader(onNotification),
                );
              }
            }, () => {});
          }
          return made;
        },
      }
      : {}),
  } as never);
  installValueRules((sql as unknown as { options: PgOptions }).options);

  let key: { pid: number; secret: number } | undefined;
  const startup = async () => {
    const query = sql.unsafe(HELLO, [], { prepare: false }) as unknown as PgQuery & { state?: typeof key };
    const hello = await query;
    key = query.state; // the backend's pid and cancel key, as BackendKeyData gave them
    await installArrayTypes(sql, arrayTypes, `${host}:${port}`);
    return hello;
  };
  try {
    const rows = await raceAbort(Promise.race([startup(), startupFailed]), signal);
    state = "open";
    const row = rows[0] as
      | { pid?: number; ssl?: boolean; version?: string; cipher?: string; idle?: string | null }
      | undefined;
    const params = (sql as unknown as { options: PgOptions }).options.parameters;
    // Tracked only where postgres.js writes to the socket we made (not to its own TLS wrapper), as the startup
    // bytes counted on it prove.
    const written = !attempt.ssl && (raw?.bytesWritten ?? 0) > 0 ? () => raw!.bytesWritten : undefined;
    return new PostgresConnection(
      sql,
      {
        pid: row?.pid,
        idleSessionTimeout: settingMs(row?.idle),
        serverVersion: params.server_version,
        // What our own negotiation saw (the hop we dialled, also behind a pooler), else the server's view.
        tls: attempt.negotiated !== undefined
          ? attempt.negotiated
          : row?.ssl
          ? { protocol: row.version, cipher: row.cipher }
          : row
          ? null
          : undefined,
        host,
        port,
      },
      () => state === "closed",
      written,
      attempt.ssl ? undefined : watch,
      cancelWith(socket, host, port, key, config.connect_timeout, () => state === "closed"),
    );
  } catch (error) {
    state = "closed";
    await sql.end({ timeout: 0 }).catch(() => {});
    throw mapError(error, true);
  }
}

/**
 * How a connection cancels its running statement: a CancelRequest on a socket from the adapter's own factory,
 * whose outcome can be seen. Where postgres.js dials itself (Workers), through postgres.js, whose outcome cannot:
 * the connection is then closed after the statement, never reused.
 */
function cancelWith(
  socket: SocketFactory | null,
  host: string,
  port: number,
  key: { pid: number; secret: number } | undefined,
  limit: number,
  closed: () => boolean,
): (q: PgQuery) => Promise<boolean> {
  if (socket !== null && key?.pid != null && key.secret != null) {
    return () => closed() ? Promise.resolve(false) : cancelRequest(socket, host, port, key, limit);
  }
  return (q) => {
    q.cancel();
    return Promise.resolve(false);
  };
}

class PostgresConnection implements DriverConnection {
  readonly #gate = new CancelGate();

  constructor(
    readonly sql: Sql,
    readonly info: DriverConnection["info"],
    readonly isClosed: () => boolean,
    /** Bytes handed to the socket so far (queued ones included), when that can be known. */
    readonly written: (() => number | undefined) | undefined,
    /** Tells the statements a dead backend never ran, when the protocol can be read (adapters/postgres_unsent.ts). */
    readonly watch: DeathWatch | undefined,
    /** Cancels the running statement `q`; true once the server took the request, false when that is unknown. */
    readonly sendCancel: (q: PgQuery) => Promise<boolean>,
  ) {}

  /** Closed, or about to be: the backend said FATAL or closed its end, which postgres.js learns a little later. */
  get closed(): boolean {
    return this.#ended || this.isClosed() || this.watch?.gone === true;
  }

  /** Set by close(), whatever postgres.js reports yet. */
  #ended = false;

  query(text: string, params?: readonly unknown[], signal?: AbortSignal, mode?: QueryMode): Promise<QueryResult> {
    const gate = this.#gate;
    const closed = this.closed;
    if (gate.held !== undefined || closed) {
      return gate.refuse(closed, signal, () => this.query(text, params, signal, mode));
    }
    // Array rows or raw values take their own path, which leaves the default one as it is; a malformed mode throws
    // here, before anything is sent.
    const as = mode === undefined ? undefined : runAs(mode);
    const prepare = mode?.prepare !== false;
    if (as !== undefined) {
      const shape = (rows: PgResult) => modeResult(lastSet(rows), mode!, this.parsers);
      if (signal !== undefined) return this.#cancellable(text, params, signal, prepare, as, shape);
      const ticket = this.watch?.issue(params === undefined) ?? -1;
      return gate.last = this.#settleAs(this.#send(text, params, prepare, as), this.written?.(), ticket, shape);
    }
    if (signal !== undefined) return this.#cancellable(text, params, signal, prepare);
    const ticket = this.watch?.issue(params === undefined) ?? -1;
    return gate.last = this.#settle(this.#send(text, params, prepare), this.written?.(), ticket);
  }

  #send(text: string, params: readonly unknown[] | undefined, prepare = true, as?: "values" | "raw"): PgQuery {
    // `unsafe` never prepares unless asked; asking still yields to the instance's `prepare` (config.prepare,
    // off with pgbouncer). Without a parameter list it is the simple protocol (several statements may go at once,
    // nothing is prepared). A list, even empty (a tagged template without values), takes the extended protocol:
    // the server plans the statement once and no RowDescription comes back per call (less CPU on both sides: the
    // `ceiling` scenario's CPU per statement).
    const values = toParams(params);
    // An unnamed statement with parameters goes in one write when they need no type from the server.
    const direct = values.length > 0 && (!prepare || !this.#options.prepare) ? unnamedParams(values) : undefined;
    const q = this.sql.unsafe(
      text,
      (direct ?? values) as never[],
      params === undefined ? SIMPLE : prepare ? EXTENDED : UNNAMED,
    );
    if (direct !== undefined) sendAtOnce(q);
    if (as !== undefined) (q as unknown as PgQuery)[as]();
    return q as unknown as PgQuery;
  }

  /**
   * One `then` instead of an async function: no extra promise and microtask per statement on the hot path. How this
   * chain is shaped also moves V8's GC between two states; bench/README.md ("The ceiling") has what was measured.
   */
  #settle(q: PgQuery, before: number | undefined, ticket: Ticket): Promise<QueryResult> {
    if (this.watch === undefined) return q.then(lastResult, (error: unknown) => this.#failed(error, q, before, -1));
    return q.then(this.#settled, (error: unknown) => {
      this.watch!.settle();
      return this.#failed(error, q, before, ticket);
    });
  }

  #settled = (rows: PgResult): QueryResult => {
    this.watch!.settle();
    return lastResult(rows);
  };

  /** {@linkcode PostgresConnection.#settle} for a statement in a row or type mode: its rows shaped by `shape`. */
  #settleAs(
    q: PgQuery,
    before: number | undefined,
    ticket: Ticket,
    shape: (rows: PgResult) => QueryResult,
  ): Promise<QueryResult> {
    return q.then((rows) => {
      this.watch?.settle();
      return shape(rows);
    }, (error: unknown) => {
      this.watch?.settle();
      return this.#failed(error, q, before, this.watch === undefined ? -1 : ticket);
    });
  }

  #failed(error: unknown, q: PgQuery, before: number | undefined, ticket: Ticket): never {
    // Provably never reached the server, so it may go elsewhere: a statement postgres.js never handed to its
    // connection (it queues one that cannot be pipelined yet); one issued when no byte reached the socket since
    // (postgres.js writes on the next tick and refuses to write after the server's FIN); one whose backend died
    // before answering it (adapters/postgres_unsent.ts).
    const unsent = (q as { state?: unknown }).state == null || (before !== undefined && this.written?.() === before) ||
      this.watch?.unsent(ticket) === true;
    throw mapError(error, !unsent);
  }

  /** A statement with a signal: alone on the connection, so its cancel can hit nothing else (adapters/cancel_gate.ts). */
  #cancellable(
    text: string,
    params: readonly unknown[] | undefined,
    signal: AbortSignal,
    prepare: boolean,
    as?: "values" | "raw",
    shape?: (rows: PgResult) => QueryResult,
  ): Promise<QueryResult> {
    let q: PgQuery | undefined;
    return this.#gate.alone(signal, {
      send: () => {
        const before = this.written?.();
        const ticket = this.watch?.issue(params === undefined) ?? -1;
        q = this.#send(text, params, prepare, as);
        return shape === undefined ? this.#settle(q, before, ticket) : this.#settleAs(q, before, ticket, shape);
      },
      cancel: async () => {
        // postgres.js hands a statement to its connection a microtask after it is issued. Its own cancel of a
        // statement not handed over yet would leave the connection stuck (it counts as full, and no answer ever
        // frees it), so wait for the hand-over and cancel on the server.
        if ((q as { state?: unknown }).state == null) await new Promise((resolve) => setTimeout(resolve, 0));
        if ((q as { state?: unknown }).state == null) return false;
        return await this.sendCancel(q!);
      },
      discard: () => this.close(),
    });
  }

  cursor(text: string, params: readonly unknown[] | undefined, options: DriverCursorOptions): DriverCursor {
    if (this.closed) throw closedBeforeSent();
    // A portal is unnamed: its statement goes in one write when its parameters need no type from the server.
    const values = toParams(params);
    const direct = values.length > 0 ? unnamedParams(values) : undefined;
    return openCursor(this.sql, text, direct ?? values, direct !== undefined, options, this.parsers, this.#stream);
  }

  copyFrom(text: string, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ rowCount: number }> {
    if (this.closed) return Promise.reject(closedBeforeSent());
    return copyIn(this.sql, text, source, signal, this.#stream);
  }

  copyTo(text: string, signal?: AbortSignal): DriverCopyOut {
    if (this.closed) throw closedBeforeSent();
    return copyOut(this.sql, text, signal, this.#stream);
  }

  /**
   * What a cursor or COPY needs of the connection: to start after a statement whose cancel is pending, to cancel
   * with a known outcome, to close a connection whose cancel's outcome is unknown, and the error mapping.
   */
  #stream: StreamControl = {
    ready: () => this.#gate.held ?? Promise.resolve(),
    cancel: (q) => this.sendCancel(q),
    discard: () => this.close(),
    fail: (error) => mapError(error, true),
  };

  /** The instance's result parsers, for results in raw mode. */
  get parsers(): PgOptions["parsers"] {
    return this.#options.parsers;
  }

  get #options(): PgOptions {
    return (this.sql as unknown as { options: PgOptions }).options;
  }

  async close(): Promise<void> {
    this.#ended = true;
    await this.sql.end({ timeout: 0 }).catch(() => {});
  }
}

function closedBeforeSent(): DatabaseConnectionError {
  return networkError("connection closed before the statement was sent", "CONNECTION_CLOSED", false);
}

/**
 * Sends a CancelRequest for backend `key` on a socket of its own (TLS too when the session uses it), as libpq's
 * PQcancel does; resolves true once the server has closed that socket, which it does after signalling the
 * backend, and false when the socket failed or `limit` ms passed first.
 */
async function cancelRequest(
  socket: SocketFactory,
  host: string,
  port: number,
  key: { pid: number; secret: number },
  limit: number,
): Promise<boolean> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error("cancel request timed out")), limit);
  try {
    const made = await socket({ host, port, signal: ctl.signal, keepalives: false, keepalivesIdle: 0 }) as CancelSocket;
    return await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        ctl.signal.removeEventListener("abort", onAbort);
        made.destroy();
        resolve(ok);
      };
      const onAbort = () => done(false);
      ctl.signal.addEventListener("abort", onAbort, { once: true });
      made.once("end", () => done(true));
      made.once("error", () => done(false));
      made.once("close", () => done(false));
      const packet = new Uint8Array(16);
      const view = new DataView(packet.buffer);
      view.setInt32(0, 16);
      view.setInt32(4, CANCEL_REQUEST_CODE);
      view.setInt32(8, key.pid);
      view.setInt32(12, key.secret);
      made.write(packet);
    });
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

type CancelSocket = {
  write(data: Uint8Array): unknown;
  once(event: string, listener: () => void): unknown;
  destroy(): void;
};

const CANCEL_REQUEST_CODE = 80877102;

const SIMPLE = { prepare: true, simple: true };
const EXTENDED = { prepare: true, simple: false };
/** `{ prepare: false }` in the statement's mode: the unnamed statement, parsed (and its parameters typed) anew. */
const UNNAMED = { prepare: false, simple: false };

/** Several statements (simple protocol) give one Result each: report the last, as every adapter does. */
function lastResult(rows: PgResult): QueryResult {
  return toResult(lastSet(rows));
}

function toResult(rows: PgResult): QueryResult {
  const columns = rows.columns ?? [];
  const fields: FieldInfo[] = new Array(columns.length);
  for (let i = 0; i < columns.length; i++) fields[i] = { name: columns[i].name, dataTypeID: columns[i].type };
  // A plain array, so rows compare equal across adapters. Copied by hand: `slice()` on postgres.js's Array
  // subclass takes V8's species path, a loop does not (see the c64 bench scenario).
  const n = rows.length;
  const plain: Row[] = [];
  for (let i = 0; i < n; i++) plain.push(rows[i]);
  return shapeResult(plain, fields, rows.command, rows.count);
}

/** Startup parameters postgres.js writes itself (from `user`, `database`); the rest go in its `connection`. */
const POSTGRES_JS_OWN = new Set(["user", "database", "client_encoding"]);

/**
 * The startup parameters of a connection, as libpq sends them: user, database, `client_encoding`,
 * `application_name`, `options` (`-c name=value` server settings), and `statement_timeout`.
 *
 * @example
 * ```ts ignore
 * startupParameters(config); // { user: "app", database: "shop", client_encoding: "UTF8", application_name: "dewey" }
 * ```
 */
export function startupParameters(config: DatabaseConfig): Record<string, string> {
  return {
    user: config.user,
    database: config.dbname,
    client_encoding: config.client_encoding,
    application_name: config.application_name,
    ...(config.options !== undefined ? { options: config.options } : {}),
    ...(config.statement_timeout !== undefined ? { statement_timeout: String(config.statement_timeout) } : {}),
  };
}

/** Maps a postgres.js error to a `QueryError` or a `DatabaseConnectionError`. */
function mapError(error: unknown, reachedServer: boolean): unknown {
  if (error instanceof DatabaseConnectionError || error instanceof QueryError) return error;
  const server = fromServerError(error, reachedServer);
  if (server) return server;
  const code = (error as { code?: unknown })?.code;
  // Socket codes (ECONNRESET...) and postgres.js's own link codes (CONNECTION_CLOSED, CONNECT_TIMEOUT...).
  if (typeof code === "string" && /^(E[A-Z]+|CONNECT(ION)?_[A-Z]+)$/.test(code)) return linkError(error, reachedServer);
  return error;
}
