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
import type { ConnectRequest, Driver, DriverConnection, FieldInfo, QueryResult, Row } from "../src/contracts.ts";
import { ConfigError, type ConfigIssue, DatabaseConnectionError } from "../src/errors.ts";
import { CancelGate } from "./cancel_gate.ts";
import { fromServerError, missingPackage, OID, shapeResult } from "./kit.ts";
import { type NeonSocketSettings, neonSocketSettings, sendCancel } from "./neon_socket.ts";

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
  const driver: NeonDriver = { Client: neon.Client, parsers: parsersOf(neon.types) };
  return {
    name: "neon",
    // A Neon Client queues statements and sends the next after the previous one finished: not pipelining.
    pipelining: false,
    remote: true,
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
  connection: { stream: { destroy(): void }; on(event: string, fn: (msg: { status?: string }) => void): void };
};
type PgResult = { rows: Row[]; rowCount: number | null; command: string | null; fields?: FieldInfo[] };

/** What the adapter takes from the imported package. */
interface NeonDriver {
  Client: typeof Client;
  parsers: { getTypeParser(oid: number, format?: "text" | "binary"): unknown };
}

/** pg's parsers, aligned with the postgres.js adapter where they differ (date, interval). */
function parsersOf(pgTypes: typeof types): NeonDriver["parsers"] {
  return {
    getTypeParser(oid: number, format?: "text" | "binary") {
      if (format !== "binary") {
        if (oid === OID.DATE) return (s: string) => new Date(s);
        if (oid === OID.INTERVAL) return (s: string) => s;
      }
      return pgTypes.getTypeParser(oid, format as never);
    },
  };
}

async function connectClient(
  request: ConnectRequest,
  settings: NeonSocketSettings,
  { Client, parsers }: NeonDriver,
): Promise<DriverConnection> {
  const { config, host, port, signal, onClose } = request;
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

  // The driver may never settle a connect whose socket was torn down: the abort rejects on its own.
  const destroy = () => client.connection.stream.destroy();
  let connected = false;
  try {
    await raceAbort(client.connect(), signal, destroy);
    connected = true;
    const { rows } = await raceAbort(client.query(HELLO) as Promise<PgResult>, signal, destroy);
    state = "open";
    const row = rows[0] as { pid?: number; version?: string } | undefined;
    return new NeonConnection(
      client,
      settings,
      host,
      port,
      {
        pid: row?.pid ?? client.processID ?? undefined,
        serverVersion: row?.version,
        // The WebSocket's TLS, to the proxy; the runtime does not say which protocol or cipher it negotiated.
        tls: settings.useSecureWebSocket ? { protocol: "wss" } : null,
        host,
        port,
      },
      () => state === "closed",
      () => txStatus,
      config.connect_timeout,
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
const HELLO = "SELECT pg_backend_pid() AS pid, current_setting('server_version') AS version";

class NeonConnection implements DriverConnection {
  readonly #gate = new CancelGate();
  #cancels = new Set<Promise<boolean>>();

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
  ) {}

  get closed(): boolean {
    return this.#ended || this.isClosed();
  }

  /** Set by close(), whatever the client reports yet. */
  #ended = false;

  inTransaction(): boolean | undefined {
    const s = this.txStatus();
    return s === undefined ? undefined : s !== "I";
  }

  query(text: string, params?: readonly unknown[], signal?: AbortSignal): Promise<QueryResult> {
    const gate = this.#gate;
    const closed = this.closed;
    if (gate.held !== undefined || closed) return gate.refuse(closed, signal, () => this.query(text, params, signal));
    if (signal === undefined) return gate.last = this.#send(text, params);
    // Alone on the connection, so its cancel can hit nothing else (adapters/cancel_gate.ts).
    return gate.alone(signal, {
      send: () => this.#send(text, params),
      cancel: () => this.#cancel(),
      discard: () => this.close(),
    });
  }

  async #send(text: string, params: readonly unknown[] | undefined): Promise<QueryResult> {
    let result: PgResult | PgResult[];
    try {
      result = params?.length
        ? await (this.client.query(text, params as unknown[]) as Promise<PgResult | PgResult[]>)
        : await (this.client.query(text) as Promise<PgResult | PgResult[]>);
    } catch (error) {
      throw mapError(error, true);
    }
    // Several statements in one simple query give one result each; report the last, as postgres.js does.
    return toResult(Array.isArray(result) ? result[result.length - 1] : result);
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

function toResult(result: PgResult): QueryResult {
  const fields: FieldInfo[] = (result.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
  return shapeResult(result.rows, fields, result.command, result.rowCount ?? 0);
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
