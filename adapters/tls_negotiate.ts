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
import type { SslMode } from "../src/config/types.ts";
import type { ErrorCode } from "../src/error_codes.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import { revocationProblem } from "./crl.ts";
import { anchors, chainOf, describePeer, explainChain, type PeerCertificate, subjectOf } from "./tls_peer.ts";
import type { TlsMaterial } from "./tls_material.ts";

export type { PeerCertificate } from "./tls_peer.ts";

/** What TLS negotiated; `null` for a plaintext connection. */
export type Negotiated = { readonly protocol?: string; readonly cipher?: string } | null;

/** How to negotiate on one connection. */
export interface NegotiateOptions {
  /** The host dialled (DNS name or IP address): the servername (names only) and the identity to check. */
  host: string;
  /** The port dialled, for messages. */
  port: number;
  /** The sslmode in effect, for messages. */
  sslmode: SslMode;
  /** Trust anchors and client certificate. */
  material: TlsMaterial;
  /** Check the chain against `material.ca` (or the runtime's store). */
  verifyChain: boolean;
  /** Check that `host` is in the certificate. */
  verifyHost: boolean;
  /** Fail when the server answers `N` (ssl=off) instead of going on in plaintext. */
  requireTls: boolean;
  /** libpq's `sslsni`: send the host name (never an IP address) as the TLS servername. */
  sni?: boolean;
  /** Oldest TLS version accepted (libpq's default TLSv1.2). */
  minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Newest TLS version offered. */
  maxVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** `sslnegotiation=direct`: the TLS handshake at once, with ALPN `postgresql`, no SSLRequest (PostgreSQL 17). */
  direct?: boolean;
  /** Aborts the negotiation (connect_timeout, pool closing). */
  signal: AbortSignal;
  /** Told of any error on the TLS socket after the handshake (an alert about our client certificate...). */
  onLateError?: (error: Error) => void;
  /** Told what this negotiation saw and decided, once it is over, whether it succeeded or not. */
  observe?: (negotiation: TlsNegotiation) => void;
}

/** A socket ready for the startup message, and what was negotiated on it. */
export interface NegotiatedSocket {
  /** The TLS socket, or the original socket when the server said `N`. */
  socket: Duplex;
  /** Protocol and cipher, or `null` for plaintext. */
  tls: Negotiated;
}

/**
 * What one negotiation saw and decided: the server's answer, what TLS negotiated, the certificate, and
 * whether the adapter checked the chain and the host name, with the outcome of each check. `error` is
 * set when the negotiation failed (its code is one of {@linkcode ERROR_CODES} or the abort's reason).
 *
 * @example
 * ```ts ignore
 * const seen: TlsNegotiation[] = [];
 * await negotiateTls(socket, { ...options, observe: (n) => seen.push(n) });
 * console.log(seen[0].chain, seen[0].hostname); // "verified" "verified"
 * ```
 */
export interface TlsNegotiation {
  /** Host dialled. */
  host: string;
  /** Port dialled. */
  port: number;
  /** The sslmode in effect (`verify-full` for `sslrootcert=system` left at the default sslmode). */
  sslmode: SslMode;
  /** The server's answer to the TLS request: `S` yes, `N` no (ssl=off), `other`; unset when none came. */
  answer?: "S" | "N" | "other";
  /** The TLS version, `TLSv1.3`. */
  protocol?: string;
  /** The cipher suite, `TLS_AES_256_GCM_SHA384`. */
  cipher?: string;
  /** The server's certificate, once the handshake completed. */
  certificate?: PeerCertificate;
  /** What the chain is checked against: `sslrootcert`, or the runtime's store (`system`); unset when unchecked. */
  roots?: "sslrootcert" | "system";
  /** The chain: trusted, not trusted (see `chainError`), or not checked (sslmode without a root). */
  chain: "verified" | "failed" | "unchecked";
  /** Why the chain did not verify: the TLS library's reason (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`...). */
  chainError?: string;
  /** The host name or IP address in the certificate: found, not found, or not checked (below verify-full). */
  hostname: "verified" | "failed" | "unchecked";
  /** Why the negotiation failed. */
  error?: { code?: string; message: string };
  /** How long it took, ms. */
  ms: number;
}

const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Sends `SSLRequest` on `socket` and, if the server agrees, runs the TLS handshake and checks the
 * certificate as `options` ask. Resolves with the socket to speak the protocol on; rejects with a
 * `DatabaseConnectionError` whose `code` is an `SSL_*` code of {@linkcode ERROR_CODES} (none is
 * retryable: a certificate does not fix itself), the socket destroyed. `options.observe` hears what
 * happened either way.
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
  const { host, port, sslmode, material, verifyChain, observe } = options;
  const seen: TlsNegotiation = {
    host,
    port,
    sslmode,
    roots: verifyChain ? (Array.isArray(material.ca) ? "sslrootcert" : "system") : undefined,
    chain: "unchecked",
    hostname: "unchecked",
    ms: 0,
  };
  const started = performance.now();
  try {
    return await negotiate(socket, options, seen);
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown } | undefined;
    seen.error = { code: typeof e?.code === "string" ? e.code : undefined, message: String(e?.message ?? error) };
    throw error;
  } finally {
    seen.ms = performance.now() - started;
    try {
      observe?.(seen);
    } catch {
      // A diagnostic hook must not change what happens to the connection.
    }
  }
}

async function negotiate(socket: Duplex, options: NegotiateOptions, seen: TlsNegotiation): Promise<NegotiatedSocket> {
  const { host, port, sslmode, signal } = options;
  const target = `${host}:${port}`;
  const fail = (code: ErrorCode, message: string) => {
    socket.destroy();
    return tlsError(code, `${target}: ${message}`);
  };

  if (options.direct) return await secure(socket, options, seen, target);
  const answer = await firstChunk(socket, signal, () => socket.write(SSL_REQUEST), target);
  seen.answer = answer[0] === 0x4e ? "N" : answer[0] === 0x53 ? "S" : "other";
  if (seen.answer === "N") {
    if (answer.length > 1) throw fail("SSL_HANDSHAKE_FAILED", "server sent unexpected data after refusing TLS");
    if (options.requireTls) {
      throw fail("SSL_NOT_SUPPORTED", `server does not support TLS (ssl=off), but sslmode=${sslmode} requires it`);
    }
    return { socket, tls: null };
  }
  if (seen.answer === "other") {
    const text = new TextDecoder().decode(answer.subarray(0, 200)).replace(/[^\x20-\x7e]+/g, " ").trim();
    throw fail("SSL_HANDSHAKE_FAILED", `server answered the TLS request with an error: ${text}`);
  }
  // Bytes after 'S' arrived unencrypted before the handshake: possibly injected (CVE-2021-23222).
  if (answer.length > 1) throw fail("SSL_HANDSHAKE_FAILED", "server sent unencrypted data after accepting TLS");
  return await secure(socket, options, seen, target);
}

/** The TLS handshake on `socket` and the checks `options` ask for. */
async function secure(
  socket: Duplex,
  options: NegotiateOptions,
  seen: TlsNegotiation,
  target: string,
): Promise<NegotiatedSocket> {
  const { host, sslmode, material } = options;
  const fail = (code: ErrorCode, message: string) => {
    socket.destroy();
    return tlsError(code, `${target}: ${message}`);
  };
  const secured = await handshake(socket, options, target);
  if (options.direct && secured.alpnProtocol !== "postgresql") {
    secured.destroy();
    throw fail(
      "SSL_HANDSHAKE_FAILED",
      'sslnegotiation=direct: the server did not select ALPN protocol "postgresql" (it is older than PostgreSQL 17, ' +
        "or a proxy that does not speak PostgreSQL's direct TLS)",
    );
  }
  socket.on("error", () => {}); // the TLS socket reports it too
  const peer = secured.getPeerCertificate(true);
  seen.protocol = secured.getProtocol() ?? undefined;
  seen.cipher = secured.getCipher()?.name;
  seen.certificate = describePeer(peer);
  if (options.verifyChain) {
    if (!secured.authorized) {
      const reason = String(
        (secured.authorizationError as Error & { code?: string })?.code ?? secured.authorizationError,
      );
      seen.chain = "failed";
      seen.chainError = reason;
      secured.destroy();
      const roots = seen.roots === "system" ? "the runtime's trust store (sslrootcert=system)" : "sslrootcert";
      throw fail(
        "SSL_CERT_UNTRUSTED",
        `server certificate not trusted (sslmode=${sslmode}): ${explainChain(reason)} ` +
          `(subject ${subjectOf(peer)}, issued by ${peer?.issuer?.CN ?? "unknown issuer"}; checked against ${roots}; ` +
          `${reason})`,
      );
    }
    // Revocation, checked here: Deno's TLS takes no CRL.
    const revoked = material.crl?.length
      ? revocationProblem(chainOf(peer), material.crl, anchors(material))
      : undefined;
    if (revoked) {
      seen.chain = "failed";
      seen.chainError = revoked;
      secured.destroy();
      throw fail(
        "SSL_CERT_UNTRUSTED",
        `server certificate not trusted (sslmode=${sslmode}): ${explainChain(revoked)} (subject ${subjectOf(peer)}; ` +
          `${revoked})`,
      );
    }
    seen.chain = "verified";
  }
  if (options.verifyHost) {
    const mismatch = tls.checkServerIdentity(host, peer);
    if (mismatch) {
      seen.hostname = "failed";
      secured.destroy();
      const names = peer?.subjectaltname
        ? `subjectAltName ${peer.subjectaltname}`
        : `no subjectAltName, CN ${subjectOf(peer)}`;
      throw isIP(host)
        ? fail(
          "SSL_CERT_IP_MISMATCH",
          `IP address ${host} is not in the server certificate (${names}; sslmode=verify-full)`,
        )
        : fail(
          "SSL_CERT_NAME_MISMATCH",
          `host name "${host}" is not in the server certificate (${names}; sslmode=verify-full)`,
        );
    }
    seen.hostname = "verified";
  }
  return { socket: secured, tls: { protocol: seen.protocol, cipher: seen.cipher } };
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
    return tlsError(
      "SSL_CLIENT_CERT_REJECTED",
      `${target}: server rejected the TLS connection: ${which} (${String(e?.message)})`,
      error,
    );
  }
  if (typeof e?.code === "string" && e.code.startsWith("ERR_SSL_")) {
    return tlsError("SSL_HANDSHAKE_FAILED", `${target}: TLS failed: ${String(e.message)}`, error);
  }
  return undefined;
}

/** A TLS failure: never retryable (a certificate does not fix itself), and nothing reached the server. */
function tlsError(code: ErrorCode, message: string, cause?: unknown): DatabaseConnectionError {
  return new DatabaseConnectionError(message, { code, retryable: false, reachedServer: false, cause });
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
      ...(isIP(host) || options.sni === false ? {} : { servername: host }),
      // We judge the chain and the identity ourselves after the handshake, to say which check failed.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      minVersion: options.minVersion ?? "TLSv1.2", // libpq's default ssl_min_protocol_version
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
      ...(options.direct ? { ALPNProtocols: ["postgresql"] } : {}),
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
          tlsError("SSL_HANDSHAKE_FAILED", `${target}: TLS handshake failed: ${error.message}`, error),
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
          code: "CONNECTION_CLOSED" satisfies ErrorCode,
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
