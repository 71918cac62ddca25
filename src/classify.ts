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
 * now, 57P05 idle session timeout.
 *
 * @example
 * ```ts
 * import { isConnectionSqlState } from "./classify.ts";
 * console.assert(isConnectionSqlState("57P01") && !isConnectionSqlState("23505"));
 * ```
 */
export function isConnectionSqlState(code: string | undefined): boolean {
  if (!code) return false;
  return code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "57P05";
}

/** SQLSTATEs worth retrying a whole transaction for: serialization failure, deadlock. */
export function isTransientSqlState(code: string | undefined): boolean {
  return code === "40001" || code === "40P01";
}

/** Server-side states that mean "not now" rather than "never": too many connections, starting up. */
const RETRYABLE_CONNECT_STATES = new Set(["53300", "57P03", "08006", "08001", "08000", "08003", "08004", "57P01"]);

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
]);

/**
 * Whether `error` means the connection it happened on is gone. Query errors
 * (syntax, constraint, serialization) never do.
 *
 * @example
 * ```ts
 * import { isConnectionFailure } from "./classify.ts";
 * import { DatabaseConnectionError, QueryError } from "./errors.ts";
 * console.assert(isConnectionFailure(new DatabaseConnectionError("gone", { code: "57P01" })));
 * console.assert(!isConnectionFailure(new QueryError({ code: "40001", message: "serialization" })));
 * ```
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof QueryError) return false;
  if (error instanceof DatabaseConnectionError) return error.code !== "POOL_TIMEOUT" && error.code !== "POOL_CLOSED";
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && (NETWORK_CODES.has(code) || isConnectionSqlState(code));
}

/**
 * Whether a failure to open a connection may go away by itself (server
 * restarting, unreachable, out of connection slots), as opposed to a wrong
 * password, a missing database or a certificate that will not verify.
 */
export function isRetryableConnectFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return true;
  return NETWORK_CODES.has(code) || RETRYABLE_CONNECT_STATES.has(code);
}

/**
 * Builds the error for a server `ErrorResponse`: a retryable
 * `DatabaseConnectionError` for connection-class states, a `QueryError` otherwise.
 */
export function serverError(fields: ServerErrorFields, cause?: unknown): QueryError | DatabaseConnectionError {
  if (isConnectionSqlState(fields.code)) {
    return new DatabaseConnectionError(`connection lost: ${fields.message} (${fields.code})`, {
      code: fields.code,
      retryable: true,
      cause,
    });
  }
  return new QueryError(fields, cause === undefined ? undefined : { cause });
}

/**
 * Builds the error for a network-level failure of an established connection.
 * `reachedServer: false` only when the statement provably was never sent.
 */
export function networkError(
  message: string,
  code: string,
  reachedServer: boolean,
  cause?: unknown,
): DatabaseConnectionError {
  return new DatabaseConnectionError(message, { code, retryable: true, reachedServer, cause });
}
