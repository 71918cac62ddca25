/**
 * The Neon serverless adapter: PostgreSQL over WebSocket with
 * `@neondatabase/serverless`, for Deno Deploy, Cloudflare Workers and other
 * runtimes without raw TCP. One Neon `Client` per pooled connection, so the
 * core's pool, sessions, savepoints and timeouts work as on TCP.
 *
 * Configuration: `driver: neon`, the usual host/port/user/password/dbname,
 * `sslmode` (`wss:` or `ws:`, see {@linkcode neonSocketSettings}) and
 * `ws_proxy` for a WebSocket-to-TCP proxy (`deno task wsproxy` locally).
 * `neon_http` (Neon's HTTP query endpoint) is refused with a `ConfigError`.
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db/edge";
 * const db = await getConnection("postgres://app:secret@ep-x.neon.tech/app?driver=neon&sslmode=require");
 * ```
 *
 * @module
 */

import type { Client, types } from "@neondatabase/serverless";
import { raceAbort } from "../src/abort.ts";
import { networkError } from "../src/classify.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type {
  ConnectRequest,
  Driver,
  DriverConnection,
  DriverCopyOut,
  FieldInfo,
  QueryMode,
  QueryResult,
  Row,
} from "../src/contracts.ts";
import { ConfigError, type ConfigIssue, DatabaseConnectionError } from "../src/errors.ts";
import { CancelGate } from "./cancel_gate.ts";
import {
  customMode,
  fromServerError,
  jsonText,
  missingPackage,
  OID,
  parseTimestamp,
  rawTypes,
  settingMs,
  shapeResult,
} from "./kit.ts";
import { type NeonSocketSettings, neonSocketSettings, sendCancel } from "./neon_socket.ts";
import { CopyIn, CopyOut, DescribeParams, type PgWire } from "./neon_stream.ts";
import { parseArray } from "./pg_array.ts";

export { neonSocketSettings } from "./neon_socket.ts";
export type { NeonSocketSettings } from "./neon_socket.ts";

/** Options for {@linkcode createDriver}. */
export interface NeonDriverOptions {
  /** A WebSocket implementation for runtimes without a global `WebSocket` (Node before 22: `ws`). */
  webSocketConstructor?: typeof WebSocket;
}

/**
 * Creates the Neon driver for a configuration, importing
 * `@neondatabase/serverless` (an optional peer dependency of the npm package).
 * Rejects with a `ConfigError` for settings a WebSocket connection cannot
 * honour (client certificates, a custom root certificate, `neon_http`,
 * `sslmode=require` with a `ws://` proxy), or when that package is missing.
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db/edge";
 * import { createDriver } from "jsr:@dewey/db/neon";
 * const db = new DatabaseConnection("postgres://app@db.example.com/app", { driver: createDriver });
 * ```
 */
export async function createDriver(config: DatabaseConfig, options: NeonDriverOptions = {}): Promise<Driver> {
  refuseAuthRules(config);
  const settings = neonSocketSettings(config, options.webSocketConstructor);
  const neon = await import("@neondatabase/serverless").catch(missingPackage(config, "@neondatabase/serverless"));
  const driver: NeonDriver = { Client: neon.Client, parsers: parsersOf(neon.types), described: new Map() };
  return {
    name: "neon",
    // A Neon Client queues statements and sends the next after the previous one finished: not pipelining.
    pipelining: false,
    remote: true,
    notifications: true,
    connect: (request) => connectClient(request, settings, driver),
  };
}

/**
 * libpq's rules on authentication need the adapter to authenticate itself, which the Neon driver does on its own:
 * asking for them here would be a promise it cannot keep.
 */
function refuseAuthRules(config: DatabaseConfig): void {
  const issues: ConfigIssue[] = [];
  if (config.channel_binding === "require") {
    issues.push({
      path: "database.postgres.channel_binding",
      message: "require cannot be kept by the neon driver: it reaches PostgreSQL over a WebSocket, whose TLS SCRAM " +
        "cannot bind to; write channel_binding=prefer (the WebSocket is still TLS), or use driver postgres",
      source: config.sources.channel_binding,
    });
  }
  if (config.require_auth !== undefined) {
    issues.push({
      path: "database.postgres.require_auth",
      message: "is not enforced by the neon driver, which authenticates on its own; use driver postgres",
      source: config.sources.require_auth,
    });
  }
  if (issues.length) throw new ConfigError(issues);
}

type PgClient = InstanceType<typeof Client> & {
  processID: number | null;
  secretKey: number | null;
  connection: PgWire & {
    stream: { destroy(): void };
    on(event: string, fn: (msg: { status?: string; dataTypeIDs?: number[] }) => void): void;
  };
};

/** Parameter types by statement text, learned for statements that bind arrays (a bounded memo per driver). */
type ParamTypes = Map<string, readonly number[]>;
const PARAM_TYPES_KEPT = 256;
type PgResult = { rows: Row[]; rowCount: number | null; command: string | null; fields?: FieldInfo[] };

/** What the adapter takes from the imported package, and what its connections share. */
interface NeonDriver {
  Client: typeof Client;
  parsers: TypeParsers;
  described: ParamTypes;
}

/** pg's per-client (or per-query) type parsers. */
type TypeParsers = { getTypeParser(oid: number, format?: "text" | "binary"): unknown };

/** pg's parsers, aligned with the postgres.js adapter where they differ (date, interval, timestamp read as UTC). */
function parsersOf(pgTypes: typeof types): TypeParsers {
  return {
    getTypeParser(oid: number, format?: "text" | "binary") {
      if (format !== "binary") {
        if (oid === OID.DATE) return (s: string) => new Date(s);
        if (oid === OID.INTERVAL) return (s: string) => s;
        if (oid === OID.TIMESTAMP) return parseTimestamp;
        if (oid === OID.TIMESTAMP_ARRAY) return (s: string) => parseArray(s, parseTimestamp);
      }
      return pgTypes.getTypeParser(oid, format as never);
    },
  };
}

async function connectClient(
  request: ConnectRequest,
  settings: NeonSocketSettings,
  driver: NeonDriver,
): Promise<DriverConnection> {
  const { Client, parsers } = driver;
  const { config, host, port, signal, onClose, onNotification } = request;
  signal.throwIfAborted();
  const client = new Client({
    host,
    port,
    user: config.user,
    database: config.dbname,
    password: (request.password ?? config.password)?.reveal(),
    application_name: config.application_name,
    ...(config.options !== undefined ? { options: config.options } : {}),
    ...(config.statement_timeout !== undefined ? { statement_timeout: config.statement_timeout } : {}),
    ssl: false,
    types: parsers,
  }) as PgClient;
  Object.assign(client.neonConfig, settings);

  let state: "starting" | "open" | "closed" = "starting";
  let ended = false;
  let lastError: unknown;
  let txStatus: string | undefined;
  client.on("error", (error) => lastError = error); // an unhandled 'error' event would throw
  client.on("end", () => {
    ended = true;
    const was = state;
    state = "closed";
    if (was === "open") onClose(lastError instanceof Error ? lastError : undefined);
  });
  client.connection.on("readyForQuery", (msg) => txStatus = msg.status);
  if (onNotification) {
    client.on(
      "notification",
      (msg) => onNotification({ channel: msg.channel, payload: msg.payload ?? "", pid: msg.processId }),
    );
  }

  // The driver may never settle a connect whose socket was torn down: the abort rejects on its own.
  const destroy = () => client.connection.stream.destroy();
  let connected = false;
  try {
    await raceAbort(client.connect(), signal, destroy);
    connected = true;
    const { rows } = await raceAbort(client.query(HELLO) as Promise<PgResult>, signal, destroy);
    state = "open";
    const row = rows[0] as { pid?: number; version?: string; idle?: string | null } | undefined;
    return new NeonConnection(
      client,
      settings,
      host,
      port,
      {
        pid: row?.pid ?? client.processID ?? undefined,
        serverVersion: row?.version,
        idleSessionTimeout: settingMs(row?.idle),
        // The WebSocket's TLS, to the proxy; the runtime does not say which protocol or cipher it negotiated.
        tls: settings.useSecureWebSocket ? { protocol: "wss" } : null,
        host,
        port,
      },
      () => state === "closed",
      () => txStatus,
      config.connect_timeout,
      driver,
    );
  } catch (error) {
    state = "closed";
    // end() on a client whose connect failed waits for an 'end' that already came: tear the socket down instead.
    if (connected && !ended) await client.end().catch(() => {});
    else client.connection.stream.destroy();
    if (signal.aborted) throw signal.reason;
    // The WebSocket never opened: the proxy (or Neon's endpoint) did not answer, whatever the database does.
    if ((client.connection.stream as { connecting?: boolean }).connecting === true) {
      throw proxyUnreachable(error, settings, host, port);
    }
    throw mapError(error, true, `${host}:${port}`);
  }
}

/** Proves the connection works and reads what it is. */
const HELLO = "SELECT pg_backend_pid() AS pid, current_setting('server_version') AS version, " +
  "current_setting('idle_session_timeout', true) AS idle";

class NeonConnection implements DriverConnection {
  readonly #gate = new CancelGate();
  #cancels = new Set<Promise<boolean>>();
  #describing: DescribeParams | undefined;

  constructor(
    readonly client: PgClient,
    readonly settings: NeonSocketSettings,
    readonly host: string,
    readonly port: number,
    readonly info: DriverConnection["info"],
    readonly isClosed: () => boolean,
    readonly txStatus: () => string | undefined,
    /** Longest wait for a cancel request's answer, ms. */
    readonly cancelLimit: number,
    /** Its driver's parsers and memo of parameter types. */
    readonly driver: NeonDriver,
  ) {
    client.connection.on("parameterDescription", (msg) => {
      if (this.#describing) this.#describing.types = msg.dataTypeIDs ?? [];
    });
  }

  get closed(): boolean {
    return this.#ended || this.isClosed();
  }

  /** Set by close(), whatever the client reports yet. */
  #ended = false;

  inTransaction(): boolean | undefined {
    const s = this.txStatus();
    return s === undefined ? undefined : s !== "I";
  }

  query(text: string, params?: readonly unknown[], signal?: AbortSignal, mode?: QueryMode): Promise<QueryResult> {
    const gate = this.#gate;
    const closed = this.closed;
    if (gate.held !== undefined || closed) {
      return gate.refuse(closed, signal, () => this.query(text, params, signal, mode));
    }
    const custom = customMode(mode) ? modeConfig(mode, this.driver.parsers) : undefined; // a malformed mode throws before anything is sent
    if (signal === undefined) return gate.last = this.#send(text, params, custom);
    // Alone on the connection, so its cancel can hit nothing else (adapters/cancel_gate.ts).
    return gate.alone(signal, {
      send: () => this.#send(text, params, custom),
      cancel: () => this.#cancel(),
      discard: () => this.close(),
    });
  }

  async #send(
    text: string,
    params: readonly unknown[] | undefined,
    mode: ModeConfig | undefined,
  ): Promise<QueryResult> {
    let result: PgResult | PgResult[];
    try {
      const values = params?.length ? await this.#values(text, params) : undefined;
      result = await (mode
        ? this.client.query({ text, values, rowMode: mode.rowMode, types: mode.types } as never)
        : values
        ? this.client.query(text, values)
        : this.client.query(text)) as PgResult | PgResult[];
    } catch (error) {
      throw mapError(error, true);
    }
    // Several statements in one simple query give one result each; report the last, as postgres.js does.
    return toResult(Array.isArray(result) ? result[result.length - 1] : result, mode?.mode);
  }

  copyFrom(text: string, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ rowCount: number }> {
    if (this.closed) return Promise.reject(closedBeforeSent());
    const copy = new CopyIn(text, source, signal);
    // After any statement whose cancel is pending; an abort here is a CopyFail, not a cancel.
    const run = (this.#gate.held ?? Promise.resolve()).then(() => {
      this.client.query(copy as never);
      return copy.done;
    });
    return run.then((rowCount) => ({ rowCount }), (error) => {
      throw error === copy.own ? error : mapError(error, true);
    });
  }

  copyTo(text: string, signal?: AbortSignal): DriverCopyOut {
    if (this.closed) throw closedBeforeSent();
    const copy = new CopyOut(text);
    let outcome: Promise<boolean> | undefined;
    let running = false;
    const onAbort = () => {
      if (running && outcome === undefined) outcome = this.#cancel();
    };
    const started = (this.#gate.held ?? Promise.resolve()).then(() => {
      signal?.throwIfAborted();
      running = true;
      signal?.addEventListener("abort", onAbort, { once: true });
      this.client.query(copy as never);
    });
    started.catch(() => {});
    // Once it ended: a cancel whose outcome is unknown could hit the next statement, so the connection goes.
    const ended = async () => {
      running = false;
      signal?.removeEventListener("abort", onAbort);
      if (outcome !== undefined && !(await outcome)) await this.close();
    };
    return {
      read: async () => {
        try {
          await started;
          const chunk = await copy.read();
          if (chunk === undefined) await ended();
          return chunk;
        } catch (error) {
          await ended();
          throw error === copy.own || error === signal?.reason ? error : mapError(error, true);
        }
      },
    };
  }

  /**
   * The parameters as pg must get them for the same result as on the other adapters: a `Date` as its UTC time (pg
   * would write its local time), byte arrays inside arrays as bytea text, and an array bound to json or jsonb as
   * JSON (pg would write an array literal); that last needs the parameters' types, asked of the server once per
   * statement text.
   */
  async #values(text: string, params: readonly unknown[]): Promise<unknown[]> {
    let types: readonly number[] | undefined;
    if (params.some(Array.isArray)) {
      types = this.driver.described.get(text);
      if (types === undefined) {
        const describe = this.#describing = new DescribeParams(text);
        this.client.query(describe as never);
        try {
          types = await describe.done;
        } finally {
          this.#describing = undefined;
        }
        if (this.driver.described.size >= PARAM_TYPES_KEPT) {
          this.driver.described.delete(this.driver.described.keys().next().value!);
        }
        this.driver.described.set(text, types);
      }
    }
    return params.map((value, i) => {
      const type = types?.[i];
      if (Array.isArray(value) && (type === OID.JSON || type === OID.JSONB)) return jsonText(value);
      return neonParam(value);
    });
  }

  /** Sends a CancelRequest over a WebSocket of its own; true once the server took it. */
  #cancel(): Promise<boolean> {
    const { processID, secretKey } = this.client;
    if (processID == null || secretKey == null || this.isClosed()) return Promise.resolve(false);
    const sent = sendCancel(this.settings, this.host, this.port, processID, secretKey, this.cancelLimit);
    this.#cancels.add(sent);
    sent.then(() => this.#cancels.delete(sent));
    return sent;
  }

  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  #closing: Promise<void> | undefined;

  async #close(): Promise<void> {
    this.#ended = true;
    if (this.isClosed()) this.client.connection.stream.destroy();
    else await this.client.end().catch(() => {});
    // A cancel request still on its way has its own WebSocket; let it finish rather than leak it.
    await Promise.all(this.#cancels);
  }
}

function toResult(result: PgResult, mode?: QueryMode): QueryResult {
  const fields: FieldInfo[] = (result.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
  return shapeResult(result.rows, fields, result.command, result.rowCount ?? 0, mode);
}

/**
 * A `Date` as its UTC ISO text; a plain object as JSON the way the other adapters write it (pg's would throw on a
 * bigint); inside arrays, byte arrays as bytea text too (pg's array writer takes Buffers only).
 */
function neonParam(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => v instanceof Uint8Array ? "\\x" + hex(v) : neonParam(v));
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return jsonText(value);
  }
  return value;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

const identity = (text: string) => text;

/** A statement's mode as pg's query config takes it, with the mode itself for shaping the result. */
interface ModeConfig {
  mode: QueryMode;
  rowMode: "array" | undefined;
  types: TypeParsers | undefined;
}

/** pg's per-query row mode and type parsers for `mode`: the server's text where it asks, else `parsers`. */
function modeConfig(mode: QueryMode, parsers: TypeParsers): ModeConfig {
  const raw = rawTypes(mode);
  const types = raw === undefined ? undefined : {
    getTypeParser: (oid: number, format?: "text" | "binary") =>
      raw(oid) ? identity : parsers.getTypeParser(oid, format),
  };
  return { mode, rowMode: mode.rowMode === "array" ? "array" : undefined, types };
}

function closedBeforeSent(): DatabaseConnectionError {
  return networkError("connection closed before the statement was sent", "CONNECTION_CLOSED", false);
}

/**
 * The error for a WebSocket that never opened: it names the proxy (`ws_proxy`, or Neon's own endpoint) rather
 * than the database behind it, which was never reached.
 */
function proxyUnreachable(
  error: unknown,
  settings: NeonSocketSettings,
  host: string,
  port: number,
): DatabaseConnectionError {
  const address = settings.wsProxy(host, port);
  const proxy = `${settings.useSecureWebSocket ? "wss" : "ws"}://${address.replace(/\?.*$/, "")}`;
  const why = error instanceof Error ? error.message : (error as { message?: string })?.message || "WebSocket error";
  return new DatabaseConnectionError(
    `WebSocket proxy ${proxy} (ws_proxy) unreachable, so ${host}:${port} could not be tried: ${why}`,
    { code: "PROXY_UNREACHABLE", retryable: true, reachedServer: false, cause: error },
  );
}

/** Maps a Neon/pg error to a `QueryError` or a `DatabaseConnectionError`. */
function mapError(error: unknown, reachedServer: boolean, target?: string): unknown {
  if (error instanceof DatabaseConnectionError) return error;
  const server = fromServerError(error, reachedServer);
  if (server) return server;
  // The socket reports WebSocket failures as bare Events; pg reports a dropped link as a plain Error.
  const message = error instanceof Error
    ? error.message
    : (error as { message?: string })?.message || "WebSocket error";
  return networkError(target ? `${target}: ${message}` : message, "CONNECTION_CLOSED", reachedServer, error);
}
