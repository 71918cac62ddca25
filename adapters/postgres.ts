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

import postgres from "postgres";
import { networkError, serverError } from "../src/classify.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type { ConnectRequest, Driver, DriverConnection, FieldInfo, QueryResult, Row } from "../src/driver.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import { openSocket, type SocketFactory } from "./postgres_socket.ts";
import { tlsAttempts } from "./postgres_tls.ts";

type Sql = ReturnType<typeof postgres>;
type PgResult = Row[] & { count: number | null; command: string | null; columns?: { name: string; type: number }[] };
type PgQuery = Promise<PgResult> & { cancel(): void };

/** Options for {@linkcode createDriver}. */
export interface PostgresDriverOptions {
  /**
   * How sockets are made. Default: `node:net` TCP (Deno, Node). Pass `null` on
   * Cloudflare Workers to let postgres.js's own `cloudflare:sockets` build dial.
   */
  socket?: SocketFactory | null;
}

/**
 * Creates the postgres.js driver for a configuration.
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db";
 * import { createDriver } from "jsr:@dewey/db/postgres";
 * const db = new DatabaseConnection("postgres://localhost/app", { driver: createDriver });
 * ```
 */
export function createDriver(config: DatabaseConfig, options: PostgresDriverOptions = {}): Driver {
  const socket = options.socket === undefined ? openSocket : options.socket;
  return {
    name: "postgres",
    pipelining: true,
    remote: true,
    connect: async (request) => {
      // sslmode allow/prefer may take a second attempt, as libpq does.
      let lastError: unknown;
      for (const attempt of await tlsAttempts(config, request.host)) {
        try {
          return await connectOnce(request, attempt.ssl, socket);
        } catch (error) {
          lastError = error;
          if (request.signal.aborted || !attempt.retryOn(error)) throw error;
        }
      }
      throw lastError;
    },
  };
}

/** The first statement on every connection: proves it works and reads what TLS negotiated. */
const HELLO =
  "SELECT pg_backend_pid() AS pid, s.ssl, s.version, s.cipher FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()";

async function connectOnce(
  request: ConnectRequest,
  ssl: unknown,
  socket: SocketFactory | null,
): Promise<DriverConnection> {
  const { config, host, port, signal, onClose } = request;
  signal.throwIfAborted();
  let state: "starting" | "open" | "closed" = "starting";
  let sockets = 0;
  let failStartup: (error: Error) => void = () => {};
  const startupFailed = new Promise<never>((_, reject) => failStartup = reject);
  startupFailed.catch(() => {});

  const sql: Sql = postgres({
    host,
    port,
    database: config.dbname,
    user: config.user,
    pass: config.password?.reveal() ?? "",
    max: 1,
    ssl: ssl as never,
    prepare: config.prepare,
    connect_timeout: 0, // the core bounds the whole attempt; postgres.js's timer would only cover part of it
    idle_timeout: 0,
    max_lifetime: 0,
    keep_alive: config.keepalives ? Math.max(1, Math.round(config.keepalives_idle / 1000)) : 0,
    fetch_types: true,
    onnotice: () => {},
    connection: {
      application_name: config.application_name,
      ...(config.statement_timeout !== undefined ? { statement_timeout: String(config.statement_timeout) } : {}),
    },
    onclose: () => {
      const was = state;
      state = "closed";
      if (was === "open") onClose();
    },
    ...(socket
      ? {
        socket: () => {
          // postgres.js redials silently after a close (in a tight loop against a server that accepts and
          // hangs up). Only the first dial and, once open, cancel requests may make a socket.
          if (state === "closed" || (state === "starting" && sockets > 0)) {
            const error = new DatabaseConnectionError(`${host}:${port} closed the connection during startup`, {
              code: "CONNECTION_CLOSED",
              retryable: true,
              reachedServer: false,
            });
            failStartup(error);
            throw error;
          }
          sockets++;
          return socket({ host, port, signal, keepalives: config.keepalives, keepalivesIdle: config.keepalives_idle });
        },
      }
      : {}),
  } as never);

  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    startupFailed.catch(() => {}).finally(() => signal.removeEventListener("abort", onAbort));
  });
  aborted.catch(() => {});
  try {
    const hello = sql.unsafe(HELLO, [], { prepare: false }) as unknown as PgResult;
    const rows = await Promise.race([hello, aborted, startupFailed]);
    state = "open";
    const row = rows[0] as { pid?: number; ssl?: boolean; version?: string; cipher?: string } | undefined;
    const params = (sql as unknown as { options: { parameters: Record<string, string> } }).options.parameters;
    return new PostgresConnection(sql, {
      pid: row?.pid,
      serverVersion: params.server_version,
      tls: row?.ssl ? { protocol: row.version, cipher: row.cipher } : row ? null : undefined,
      host,
      port,
    }, () => state === "closed");
  } catch (error) {
    state = "closed";
    await sql.end({ timeout: 0 }).catch(() => {});
    throw mapError(error, true);
  }
}

class PostgresConnection implements DriverConnection {
  constructor(
    readonly sql: Sql,
    readonly info: DriverConnection["info"],
    readonly isClosed: () => boolean,
  ) {}

  get closed(): boolean {
    return this.isClosed();
  }

  async query(text: string, params?: readonly unknown[], signal?: AbortSignal): Promise<QueryResult> {
    if (this.isClosed()) {
      throw networkError("connection closed before the statement was sent", "CONNECTION_CLOSED", false);
    }
    const q = this.sql.unsafe(text, (params ?? []) as never[]) as unknown as PgQuery;
    let onAbort: (() => void) | undefined;
    if (signal) {
      if (signal.aborted) q.cancel();
      else signal.addEventListener("abort", onAbort = () => q.cancel(), { once: true });
    }
    let rows: PgResult;
    try {
      rows = await q;
    } catch (error) {
      throw mapError(error, true);
    } finally {
      if (onAbort) signal!.removeEventListener("abort", onAbort);
    }
    return toResult(rows);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 0 }).catch(() => {});
  }
}

const BYTEA = 17;

function toResult(rows: PgResult): QueryResult {
  const columns = rows.columns ?? [];
  const fields: FieldInfo[] = new Array(columns.length);
  let bytea: string[] | undefined;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    fields[i] = { name: c.name, dataTypeID: c.type };
    if (c.type === BYTEA) (bytea ??= []).push(c.name);
  }
  // postgres.js hands out Node Buffers; every adapter returns plain Uint8Arrays.
  if (bytea) {
    for (const row of rows) {
      for (const name of bytea) {
        const v = row[name] as Uint8Array | null;
        if (v) row[name] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      }
    }
  }
  const command = rows.command ?? "";
  // A plain array (Result's species is Array), so rows compare equal across adapters.
  return { rows: rows.slice(), rowCount: rows.count ?? (command === "SELECT" ? rows.length : 0), command, fields };
}

/** Maps a postgres.js error to a `QueryError` or a `DatabaseConnectionError`. */
function mapError(error: unknown, reachedServer: boolean): unknown {
  if (error instanceof DatabaseConnectionError) return error;
  const e = error as Record<string, unknown>;
  if (e?.name === "PostgresError" && typeof e.code === "string") {
    return serverError({
      code: e.code,
      message: String(e.message),
      severity: e.severity as string | undefined,
      detail: e.detail as string | undefined,
      hint: e.hint as string | undefined,
      position: e.position === undefined ? undefined : Number(e.position),
      where: e.where as string | undefined,
      schema: e.schema_name as string | undefined,
      table: e.table_name as string | undefined,
      column: e.column_name as string | undefined,
      constraint: e.constraint_name as string | undefined,
    }, error);
  }
  if (typeof e?.code === "string" && /^(E[A-Z]+|CONNECT(ION)?_[A-Z]+)$/.test(e.code)) {
    return networkError(String(e.message ?? e.code), e.code, reachedServer, error);
  }
  return error;
}
