/**
 * The codes @dewey/db puts on `DatabaseConnectionError.code`, each with its meaning.
 *
 * @module
 */

/**
 * Every code @dewey/db itself sets on an error's `code`, with a one-line meaning: its own codes, the TLS
 * codes of the postgres adapter, and the network codes it passes through from the socket or from
 * postgres.js. An error from the server carries the server's SQLSTATE instead (`28P01`, `57P01`...; see
 * PostgreSQL's "Error Codes" appendix): those are not listed here. Frozen.
 *
 * `deno task doctor` gives a likely cause and a fix for each of them.
 *
 * @example Branch on a code
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseConnectionError, ERROR_CODES, type ErrorCode } from "../mod.ts";
 * const error = new DatabaseConnectionError("db:5432: server does not support TLS", { code: "SSL_NOT_SUPPORTED" });
 * const code: ErrorCode = "SSL_NOT_SUPPORTED";
 * assert(error.code === code && ERROR_CODES[code].includes("ssl=off"));
 * assert(Object.isFrozen(ERROR_CODES));
 * ```
 */
// Pure: a bundle that never reads the table leaves it out.
export const ERROR_CODES: Readonly<Record<ErrorCode, string>> = /* @__PURE__ */ Object.freeze({
  // Connecting
  CONNECT_TIMEOUT: "no connection within connect_timeout (DNS, TCP, TLS and the startup together)",
  CONNECTION_CLOSED: "the connection closed before the statement or the startup was done, or was already closed",
  CONNECTION_ENDED: "the connection was ended while the statement waited for it (passed through from postgres.js)",
  CONNECTION_DESTROYED: "the connection was destroyed before the statement was sent (passed through from postgres.js)",
  SASL_SIGNATURE_MISMATCH:
    "the server did not prove it knows the password (SCRAM signature mismatch; passed through from postgres.js)",
  PROXY_UNREACHABLE:
    "the Neon adapter's WebSocket proxy (ws_proxy, or Neon's endpoint) did not answer: the database was not tried",
  TARGET_SESSION_ATTRS:
    "the server answered, but is not the kind target_session_attrs asks for (a standby, read-only...)",
  PASSWORD_MISSING: "the server asks for a password and none is configured (password, PGPASSWORD, the password file)",
  CHANNEL_BINDING:
    "channel_binding=require, and the server did not authenticate with SCRAM-SHA-256-PLUS over TLS (trust, md5, no TLS)",
  AUTH_METHOD_REFUSED: "the server asked for an authentication method require_auth does not allow",
  AUTH_UNSUPPORTED: "the server asks for an authentication method this library does not implement (GSSAPI, SSPI...)",

  // TLS (the postgres adapter's own negotiation)
  SSL_NOT_SUPPORTED: "the server does not accept TLS (ssl=off), and sslmode requires it",
  SSL_CERT_UNTRUSTED: "the server's certificate chain does not lead to a root in sslrootcert (or is expired)",
  SSL_CERT_NAME_MISMATCH: "sslmode=verify-full: the host name dialled is not in the server's certificate",
  SSL_CERT_IP_MISMATCH: "sslmode=verify-full: the IP address dialled is not in the server's certificate",
  SSL_CLIENT_CERT_REJECTED: "the server requires a client certificate, or does not trust the one in sslcert",
  SSL_HANDSHAKE_FAILED: "the TLS request or handshake failed otherwise (no common protocol, not PostgreSQL...)",

  // Pool and sessions
  POOL_TIMEOUT: "no pooled connection became free within pool_acquire_timeout",
  POOL_CLOSED: "the pool is closed: close() was called",
  SESSION_CLOSED: "the session is over (ended, or its connection was lost): start a new one",
  CONNECTION_BUSY:
    "a cursor or COPY is running on this engine connection: finish or close it before the next statement",
  NOT_SUPPORTED: "the adapter in use cannot do this (COPY, LISTEN...): nothing was sent",

  // Statements (QueryCancelledError)
  QUERY_TIMEOUT: "the statement's timeout fired: it was queued (never sent) or cancelled on the server (57014)",
  QUERY_ABORTED: "the statement's signal was aborted: it was queued (never sent) or cancelled on the server (57014)",

  // PGlite
  PGLITE_IN_USE: "another connection in this process holds the PGlite data directory",
  PGLITE_OPEN: "PGlite could not open or create its data directory",

  // Passed through from the socket
  ECONNREFUSED: "nothing listens on that address and port (passed through from the socket)",
  ECONNRESET: "the peer reset the connection (passed through from the socket)",
  ECONNABORTED: "the connection was aborted (passed through from the socket)",
  EPIPE: "the peer closed the connection while we wrote (passed through from the socket)",
  ETIMEDOUT: "the operating system gave up on the connection (passed through from the socket)",
  EHOSTUNREACH: "no route to the host (passed through from the socket)",
  ENETUNREACH: "no route to the network (passed through from the socket)",
  ENOTFOUND: "the host name does not resolve (passed through from the socket)",
  EAI_AGAIN: "the DNS server did not answer (a temporary failure; passed through from the socket)",
});

/**
 * A code listed in {@linkcode ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { ErrorCode } from "./error_codes.ts";
 * const code: ErrorCode = "CONNECT_TIMEOUT";
 * ```
 */
export type ErrorCode =
  | "CONNECT_TIMEOUT"
  | "CONNECTION_CLOSED"
  | "CONNECTION_ENDED"
  | "CONNECTION_DESTROYED"
  | "SASL_SIGNATURE_MISMATCH"
  | "PROXY_UNREACHABLE"
  | "TARGET_SESSION_ATTRS"
  | "PASSWORD_MISSING"
  | "CHANNEL_BINDING"
  | "AUTH_METHOD_REFUSED"
  | "AUTH_UNSUPPORTED"
  | "SSL_NOT_SUPPORTED"
  | "SSL_CERT_UNTRUSTED"
  | "SSL_CERT_NAME_MISMATCH"
  | "SSL_CERT_IP_MISMATCH"
  | "SSL_CLIENT_CERT_REJECTED"
  | "SSL_HANDSHAKE_FAILED"
  | "POOL_TIMEOUT"
  | "POOL_CLOSED"
  | "SESSION_CLOSED"
  | "QUERY_TIMEOUT"
  | "QUERY_ABORTED"
  | "CONNECTION_BUSY"
  | "NOT_SUPPORTED"
  | "PGLITE_IN_USE"
  | "PGLITE_OPEN"
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ECONNABORTED"
  | "EPIPE"
  | "ETIMEDOUT"
  | "EHOSTUNREACH"
  | "ENETUNREACH"
  | "ENOTFOUND"
  | "EAI_AGAIN";
