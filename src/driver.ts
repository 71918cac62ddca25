/**
 * The narrow interface every adapter implements. The core owns pooling,
 * sessions, transactions, timeouts and events; an adapter only speaks to its
 * driver: open one connection, run a text query with parameters, close.
 *
 * @module
 */

import type { DatabaseConfig } from "./config/types.ts";

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
 * int8 and numeric as strings, timestamptz as `Date`, json/jsonb parsed,
 * bytea as `Uint8Array`, arrays as arrays.
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
  /** Aborted at `connect_timeout` or when the pool closes; the attempt must then fail promptly. */
  readonly signal: AbortSignal;
  /** Called once when an established connection closes for any reason. */
  readonly onClose: (error?: Error) => void;
}

/** One open connection to the server. */
export interface DriverConnection {
  /** What the connection negotiated. */
  readonly info: ConnectionInfo;
  /** True once the connection is known to be closed; the core then never sends on it again. */
  readonly closed: boolean;
  /**
   * Runs one statement (or, without parameters, possibly several separated by `;`).
   * Rejects with `QueryError` for server errors and `DatabaseConnectionError`
   * for connection failures (with `reachedServer: false` only when the statement
   * provably was not sent). When `signal` aborts, the adapter cancels the
   * statement on the server.
   */
  query(text: string, params?: readonly unknown[], signal?: AbortSignal): Promise<QueryResult>;
  /** Closes the connection; resolves when it is closed. Never rejects. */
  close(): Promise<void>;
  /** Whether a transaction is open, when the driver knows; undefined otherwise. */
  inTransaction?(): boolean | undefined;
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
  /** Opens one connection. */
  connect(request: ConnectRequest): Promise<DriverConnection>;
  /** Releases driver-wide resources after the last connection closed. */
  end?(): Promise<void>;
}

/** Builds a driver for a configuration; what an adapter module exports as `createDriver`. */
export type DriverFactory = (config: DatabaseConfig) => Driver | Promise<Driver>;
