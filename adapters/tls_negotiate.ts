/**
 * PostgreSQL's TLS negotiation on a socket we dialled: `SSLRequest`, the server's one-byte answer, the
 * TLS handshake, then our own checks of the chain and of the host name or IP address, each failure with
 * its own code. Done here rather than inside postgres.js so that an `N` answer, a certificate from the
 * wrong CA and a name mismatch each give a clear error, and so the identity is checked against the host
 * actually dialled (postgres.js passes no servername for an IP address).
 *
 * @module
 */

import { isIP } from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import { DatabaseConnectionError } from "../src/errors.ts";
import type { TlsMaterial } from "./tls_material.ts";

/** What TLS negotiated; `null` for a plaintext connection. */
export type Negotiated = { readonly protocol?: string; readonly cipher?: string } | null;

/** How to negotiate on one connection. */
export interface NegotiateOptions {
  /** The host dialled (DNS name or IP address): the servername (names only) and the identity to check. */
  host: string;
  /** The port dialled, for messages. */
  port: number;
  /** The sslmode asked for, for messages. */
  sslmode: string;
  /** Trust anchors and client certificate. */
  material: TlsMaterial;
  /** Check the chain against `material.ca` (or the runtime's store). */
  verifyChain: boolean;
  /** Check that `host` is in the certificate. */
  verifyHost: boolean;
  /** Fail when the server answers `N` (ssl=off) instead of going on in plaintext. */
  requireTls: boolean;
  /** Aborts the negotiation (connect_timeout, pool closing). */
  signal: AbortSignal;
  /** Told of any error on the TLS socket after the handshake (an alert about our client certificate...). */
  onLateError?: (error: Error) => void;
}

/** A socket ready for the startup message, and what was negotiated on it. */
export interface NegotiatedSocket {
  /** The TLS socket, or the original socket when the server said `N`. */
  socket: Duplex;
  /** Protocol and cipher, or `null` for plaintext. */
  tls: Negotiated;
}

const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Codes of the errors this module throws (`DatabaseConnectionError.code`). None is retryable: a
 * certificate does not fix itself.
 */
export const TLS_ERROR_CODES = {
  /** The server answered `N`: it has ssl=off. */
  notSupported: "SSL_NOT_SUPPORTED",
  /** The chain does not lead to a root in sslrootcert (or the runtime's store), or is expired. */
  untrusted: "SSL_CERT_UNTRUSTED",
  /** verify-full: the DNS name dialled is not in the certificate. */
  nameMismatch: "SSL_CERT_NAME_MISMATCH",
  /** verify-full: the IP address dialled is not in the certificate. */
  ipMismatch: "SSL_CERT_IP_MISMATCH",
  /** The server refused our client certificate (no cert, or one from a CA it does not trust). */
  clientCertRejected: "SSL_CLIENT_CERT_REJECTED",
  /** Anything else in the handshake or the SSLRequest exchange. */
  handshake: "SSL_HANDSHAKE_FAILED",
} as const;

/**
 * Sends `SSLRequest` on `socket` and, if the server agrees, runs the TLS handshake and checks the
 * certificate as `options` ask. Resolves with the socket to speak the protocol on; rejects with a
 * `DatabaseConnectionError` whose `code` is one of {@linkcode TLS_ERROR_CODES}, the socket destroyed.
 *
 * @example
 * ```ts ignore
 * const { socket: secured, tls } = await negotiateTls(socket, {
 *   host: "db.example.com", port: 5432, sslmode: "verify-full", material, verifyChain: true,
 *   verifyHost: true, requireTls: true, signal,
 * });
 * ```
 */
export async function negotiateTls(socket: Duplex, options: NegotiateOptions): Promise<NegotiatedSocket> {
  const { host, port, sslmode, signal } = options;
  const target = `${host}:${port}`;
  const fail = (code: string, message: string, cause?: unknown) => {
    socket.destroy();
    return new DatabaseConnectionError(`${target}: ${message}`, {
      code,
      retryable: false,
      reachedServer: false,
      cause,
    });
  };

  const answer = await firstChunk(socket, signal, () => socket.write(SSL_REQUEST), target);
  if (answer[0] === 0x4e /* N */) {
    if (answer.length > 1) throw fail(TLS_ERROR_CODES.handshake, "server sent unexpected data after refusing TLS");
    if (options.requireTls) {
      throw fail(
        TLS_ERROR_CODES.notSupported,
        `server does not support TLS (ssl=off), but sslmode=${sslmode} requires it`,
      );
    }
    return { socket, tls: null };
  }
  if (answer[0] !== 0x53 /* S */) {
    const text = new TextDecoder().decode(answer.subarray(0, 200)).replace(/[^\x20-\x7e]+/g, " ").trim();
    throw fail(TLS_ERROR_CODES.handshake, `server answered the TLS request with an error: ${text}`);
  }
  // Bytes after 'S' arrived unencrypted before the handshake: possibly injected (CVE-2021-23222).
  if (answer.length > 1) throw fail(TLS_ERROR_CODES.handshake, "server sent unencrypted data after accepting TLS");

  const secured = await handshake(socket, options, target);
  socket.on("error", () => {}); // the TLS socket reports it too
  const peer = secured.getPeerCertificate();
  const issuer = peer?.issuer?.CN ?? "unknown issuer";
  if (options.verifyChain && !secured.authorized) {
    const reason = String(
      (secured.authorizationError as Error & { code?: string })?.code ?? secured.authorizationError,
    );
    secured.destroy();
    const roots = options.material.ca === "system" || options.material.ca === undefined
      ? "the runtime's trust store (sslrootcert=system)"
      : "sslrootcert";
    throw fail(
      TLS_ERROR_CODES.untrusted,
      `server certificate not trusted (sslmode=${sslmode}): ${explainChain(reason)} ` +
        `(subject ${subjectOf(peer)}, issued by ${issuer}; checked against ${roots}; ${reason})`,
    );
  }
  if (options.verifyHost) {
    const mismatch = tls.checkServerIdentity(host, peer);
    if (mismatch) {
      secured.destroy();
      const names = peer?.subjectaltname
        ? `subjectAltName ${peer.subjectaltname}`
        : `no subjectAltName, CN ${subjectOf(peer)}`;
      throw isIP(host)
        ? fail(
          TLS_ERROR_CODES.ipMismatch,
          `IP address ${host} is not in the server certificate (${names}; sslmode=verify-full)`,
        )
        : fail(
          TLS_ERROR_CODES.nameMismatch,
          `host name "${host}" is not in the server certificate (${names}; sslmode=verify-full)`,
        );
    }
  }
  const cipher = secured.getCipher();
  return { socket: secured, tls: { protocol: secured.getProtocol() ?? undefined, cipher: cipher?.name } };
}

/**
 * A clear error for a TLS failure postgres.js reported after the handshake (with TLS 1.3 the server
 * judges the client certificate only then), or `undefined` when `error` is not one.
 *
 * @example
 * ```ts ignore
 * throw explainTlsError(error, "db:5432", material) ?? error;
 * ```
 */
export function explainTlsError(
  error: unknown,
  target: string,
  material: TlsMaterial,
): DatabaseConnectionError | undefined {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const text = `${e?.code ?? ""} ${e?.message ?? ""}`;
  if (/ALERT_UNKNOWN_CA|unknown ?ca|ALERT_BAD_CERTIFICATE|bad ?certificate|CERTIFICATE_REQUIRED/i.test(text)) {
    const which = material.cert
      ? `the client certificate (sslcert, ${material.certSubject}) is not signed by a CA the server trusts (ssl_ca_file)`
      : "the server requires a client certificate and none is configured (sslcert, sslkey)";
    return new DatabaseConnectionError(
      `${target}: server rejected the TLS connection: ${which} (${String(e?.message)})`,
      {
        code: TLS_ERROR_CODES.clientCertRejected,
        retryable: false,
        reachedServer: false,
        cause: error,
      },
    );
  }
  if (typeof e?.code === "string" && e.code.startsWith("ERR_SSL_")) {
    return new DatabaseConnectionError(`${target}: TLS failed: ${String(e.message)}`, {
      code: TLS_ERROR_CODES.handshake,
      retryable: false,
      reachedServer: false,
      cause: error,
    });
  }
  return undefined;
}

/**
 * Every error the TLS socket emits goes to `report`, and one nobody listens to is dropped instead of
 * thrown. Needed on Deno: a server's alert (our client certificate refused) can be processed after the
 * socket closed and postgres.js removed all its listeners, which would make it an uncaught exception,
 * and postgres.js then only saw "connection closed".
 */
function guardErrors(secured: tls.TLSSocket, report?: (error: Error) => void): void {
  const emit = secured.emit;
  secured.emit = function (this: tls.TLSSocket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "error") {
      report?.(args[0] as Error);
      if (this.listenerCount("error") === 0) return false;
    }
    return Reflect.apply(emit, this, [event, ...args]);
  } as typeof secured.emit;
}

function handshake(socket: Duplex, options: NegotiateOptions, target: string): Promise<tls.TLSSocket> {
  const { host, material, signal } = options;
  return new Promise((resolve, reject) => {
    let settled = false;
    const secured = tls.connect({
      socket,
      // SNI for names only: an IP address is no valid servername.
      ...(isIP(host) ? {} : { servername: host }),
      // We judge the chain and the identity ourselves after the handshake, to say which check failed.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      minVersion: "TLSv1.2", // libpq's default ssl_min_protocol_version
      ...(Array.isArray(material.ca) ? { ca: [...material.ca] } : {}),
      ...(material.cert && material.key ? { cert: material.cert, key: material.key.reveal() } : {}),
    });
    // From the start: Deno can emit an error twice around the handshake's end.
    guardErrors(secured, (error) => settled && options.onLateError?.(error));
    const cleanup = () => {
      settled = true;
      secured.off("secureConnect", onSecure);
      secured.off("error", onError);
      secured.off("close", onClose);
      signal.removeEventListener("abort", onAbort);
    };
    const onSecure = () => {
      cleanup();
      resolve(secured);
    };
    const onError = (error: Error & { code?: string }) => {
      cleanup();
      secured.destroy();
      socket.destroy();
      reject(
        explainTlsError(error, target, material) ??
          new DatabaseConnectionError(`${target}: TLS handshake failed: ${error.message}`, {
            code: TLS_ERROR_CODES.handshake,
            retryable: false,
            reachedServer: false,
            cause: error,
          }),
      );
    };
    const onClose = () => onError(new Error("server closed the connection during the TLS handshake"));
    const onAbort = () => {
      cleanup();
      secured.destroy();
      socket.destroy();
      reject(signal.reason);
    };
    secured.once("secureConnect", onSecure);
    secured.once("error", onError);
    secured.once("close", onClose);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Writes with `send`, then resolves with the first chunk the server sends back. */
function firstChunk(socket: Duplex, signal: AbortSignal, send: () => void, target: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
      signal.removeEventListener("abort", onAbort);
    };
    const onData = (chunk: Uint8Array) => {
      cleanup();
      resolve(chunk);
    };
    const onError = (error: Error & { code?: string }) => {
      cleanup();
      socket.destroy();
      reject(
        new DatabaseConnectionError(`${target}: ${error.message}`, {
          code: error.code,
          retryable: true,
          reachedServer: false,
          cause: error,
        }),
      );
    };
    const onClose = () => {
      cleanup();
      reject(
        new DatabaseConnectionError(`${target} closed the connection before answering the TLS request`, {
          code: "CONNECTION_CLOSED",
          retryable: true,
          reachedServer: false,
        }),
      );
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    socket.on("data", onData);
    socket.once("error", onError);
    socket.once("close", onClose);
    signal.addEventListener("abort", onAbort, { once: true });
    send();
  });
}

function explainChain(reason: string): string {
  switch (reason) {
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      return "it is not signed by a trusted root (wrong CA?)";
    case "CERT_HAS_EXPIRED":
      return "it has expired";
    case "CERT_NOT_YET_VALID":
      return "it is not valid yet";
    default:
      return "the chain does not verify";
  }
}

function subjectOf(peer: tls.PeerCertificate | undefined): string {
  const cn = peer?.subject?.CN;
  return cn ? `CN=${Array.isArray(cn) ? cn.join(",") : cn}` : "unknown";
}
