/**
 * Error classification: the one place that decides whether an error means the
 * connection is gone, whether trying again may help, and whether a statement
 * reached the server. The pool, sessions, health checks and retries all ask here.
 *
 * @module
 */

import { DatabaseConnectionError, QueryError, type ServerErrorFields } from "./errors.ts";

/**
 * SQLSTATEs that mean the connection is unusable: class 08 (connection
 * exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
 * now, 57P05 idle session timeout, and 25P03 idle-in-transaction timeout (the
 * server ends the session, not just the statement).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConnectionSqlState } from "./classify.ts";
 * assert(isConnectionSqlState("57P01") && !isConnectionSqlState("23505"));
 * ```
 */
export function isConnectionSqlState(code: string | undefined): boolean {
  if (!code) return false;
  return code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "57P05" ||
    code === "25P03";
}

/**
 * SQLSTATEs worth retrying a whole transaction for: serialization failure, deadlock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTransientSqlState } from "./classify.ts";
 * assert(isTransientSqlState("40001") && isTransientSqlState("40P01") && !isTransientSqlState("23505"));
 * ```
 */
export function isTransientSqlState(code: string | undefined): boolean {
  return code === "40001" || code === "40P01";
}

/**
 * Server-side states that mean "not now" rather than "never": too many connections, starting up, and
 * (the connector's own code) a server that does not match `target_session_attrs` yet, as a standby
 * about to be promoted.
 */
const RETRYABLE_CONNECT_STATES = new Set([
  "53300",
  "57P03",
  "08006",
  "08001",
  "08000",
  "08003",
  "08004",
  "57P01",
  "57P02",
  "TARGET_SESSION_ATTRS",
]);

/** Network error codes a driver or socket reports when the link, not the request, failed. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "SOCKET_CLOSED",
  "PROXY_UNREACHABLE",
]);

/**
 * Whether `error` means the connection it happened on is gone. Query errors
 * (syntax, constraint, serialization) never do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConnectionFailure } from "./classify.ts";
 * import { DatabaseConnectionError, QueryError } from "./errors.ts";
 * assert(isConnectionFailure(new DatabaseConnectionError("gone", { code: "57P01" })));
 * assert(!isConnectionFailure(new QueryError({ code: "40001", message: "serialization" })));
 * ```
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof QueryError) return false;
  if (error instanceof DatabaseConnectionError) return error.code !== "POOL_TIMEOUT" && error.code !== "POOL_CLOSED";
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && (NETWORK_CODES.has(code) || isConnectionSqlState(code));
}

/**
 * Whether a failed connection attempt means the server is up but full: SQLSTATE
 * 53300, too many connections (for the server, the role or the database).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isServerFull } from "./classify.ts";
 * assert(isServerFull({ code: "53300" }) && !isServerFull({ code: "ECONNREFUSED" }));
 * ```
 */
export function isServerFull(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "53300";
}

/**
 * Whether a failure to open a connection may go away by itself (server
 * restarting, unreachable, out of connection slots), as opposed to a wrong
 * password, a missing database or a certificate that will not verify.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRetryableConnectFailure } from "./classify.ts";
 * assert(isRetryableConnectFailure({ code: "ECONNREFUSED" }) && isRetryableConnectFailure({ code: "57P03" }));
 * assert(!isRetryableConnectFailure({ code: "28P01" })); // wrong password
 * ```
 */
export function isRetryableConnectFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return true;
  return NETWORK_CODES.has(code) || RETRYABLE_CONNECT_STATES.has(code);
}

/**
 * Builds the error for a server `ErrorResponse`: a retryable
 * `DatabaseConnectionError` for connection-class states, a `QueryError` otherwise.
 * `reachedServer: false` when the adapter proved the failed statement was never
 * written (the server's FATAL answered an earlier moment, not this statement).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serverError } from "./classify.ts";
 * import { DatabaseConnectionError, QueryError } from "./errors.ts";
 * assert(serverError({ code: "57P01", message: "terminating" }) instanceof DatabaseConnectionError);
 * assert(serverError({ code: "23505", message: "duplicate" }) instanceof QueryError);
 * ```
 */
export function serverError(
  fields: ServerErrorFields,
  cause?: unknown,
  reachedServer = true,
): QueryError | DatabaseConnectionError {
  if (isConnectionSqlState(fields.code)) {
    return new DatabaseConnectionError(`connection lost: ${fields.message} (${fields.code})`, {
      code: fields.code,
      retryable: true,
      reachedServer,
      cause,
    });
  }
  return new QueryError(fields, cause === undefined ? undefined : { cause });
}

/**
 * Reads the fields of a driver's server-error object, whichever names it uses
 * (pg and PGlite: `schema`, `table`...; postgres.js: `schema_name`, `table_name`...).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorFields } from "./classify.ts";
 * const f = errorFields({ code: "23505", message: "dup", constraint_name: "t_pkey", position: "7" });
 * assert(f.constraint === "t_pkey" && f.position === 7);
 * ```
 */
export function errorFields(e: Record<string, unknown>): ServerErrorFields {
  const text = (a: string, b?: string) => (e[a] ?? (b ? e[b] : undefined)) as string | undefined;
  return {
    code: String(e.code),
    message: String(e.message),
    severity: text("severity"),
    detail: text("detail"),
    hint: text("hint"),
    position: e.position === undefined ? undefined : Number(e.position),
    where: text("where"),
    schema: text("schema", "schema_name"),
    table: text("table", "table_name"),
    column: text("column", "column_name"),
    constraint: text("constraint", "constraint_name"),
  };
}

/**
 * Builds the error for a network-level failure of an established connection.
 * `reachedServer: false` only when the statement provably was never sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { networkError } from "./classify.ts";
 * const e = networkError("socket closed", "ECONNRESET", true);
 * assert(e.retryable && e.reachedServer && e.code === "ECONNRESET");
 * ```
 */
export function networkError(
  message: string,
  code: string,
  reachedServer: boolean,
  cause?: unknown,
): DatabaseConnectionError {
  return new DatabaseConnectionError(message, { code, retryable: true, reachedServer, cause });
}
