/**
 * libpq's `sslmode` for the postgres.js adapter: which attempts to make, in which order, what each one
 * verifies, and when a failure moves on to the next one (libpq 15's `PQconnectPoll` rules).
 *
 * | sslmode | attempts | verifies |
 * |---|---|---|
 * | `disable` | plaintext | nothing |
 * | `allow` | plaintext; TLS if the server rejected it | chain only if `sslrootcert` is set |
 * | `prefer` | TLS (plaintext on the same socket if ssl=off); plaintext if the handshake failed or the server rejected the TLS connection | chain only if `sslrootcert` is set |
 * | `require` | TLS | chain only if `sslrootcert` is set (libpq: then like `verify-ca`) |
 * | `verify-ca` | TLS | chain against `sslrootcert` |
 * | `verify-full` | TLS | chain, and the host name or IP address dialled in the certificate |
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { DatabaseConfig, SslMode } from "../src/config/types.ts";
import type { ConnectRequest } from "../src/contracts.ts";
import type { ErrorCode } from "../src/error_codes.ts";
import { ConfigError, DatabaseConnectionError, QueryError } from "../src/errors.ts";
import type { SocketFactory } from "./postgres_socket.ts";
import {
  explainTlsError,
  type Negotiated,
  type NegotiateOptions,
  negotiateTls,
  type TlsNegotiation,
} from "./tls_negotiate.ts";
import { loadTlsMaterial, type TlsMaterial } from "./tls_material.ts";

/** The TLS side of one driver: the effective sslmode and the material, checked once. */
export interface TlsPolicy {
  /** The effective sslmode (`verify-full` when `sslrootcert=system` left it at its default, as libpq 16). */
  readonly sslmode: SslMode;
  /** Certificates and key. */
  readonly material: TlsMaterial;
  /** Whether the adapter dials its own sockets (and so negotiates TLS itself). */
  readonly ownSocket: boolean;
  /** Told of each attempt, negotiation and fallback (see {@linkcode TlsEvent}). */
  readonly observe?: (event: TlsEvent) => void;
  /** SNI, protocol versions and direct negotiation, from the configuration. */
  readonly handshake: Pick<NegotiateOptions, "sni" | "minVersion" | "maxVersion" | "direct">;
}

/**
 * What the adapter decided and saw while connecting to one host, in order: each attempt it makes
 * (`TLS` or `plaintext`, as the effective sslmode orders them), what each TLS negotiation saw (answer,
 * protocol, certificate, the checks made and their outcome), and each fallback to the next attempt with
 * the error that caused it. Only where the adapter dials its own sockets (Deno, Node) does it see
 * negotiations: elsewhere postgres.js negotiates.
 *
 * @example
 * ```ts ignore
 * import { createDriver } from "jsr:@dewey/db/postgres";
 * const events: TlsEvent[] = [];
 * const driver = await createDriver(config, { observeTls: (e) => events.push(e) });
 * ```
 */
export type TlsEvent =
  | {
    /** An attempt starts. */
    type: "attempt";
    /** Host dialled. */
    host: string;
    /** Port dialled. */
    port: number;
    /** The sslmode in effect (`disable` on a Unix-domain socket, where libpq ignores sslmode). */
    sslmode: SslMode;
    /** Which kind of attempt. */
    attempt: "TLS" | "plaintext";
  }
  | {
    /** A TLS negotiation ended, successfully or not. */
    type: "negotiation";
    /** What it saw and decided. */
    negotiation: TlsNegotiation;
  }
  | {
    /** An attempt failed and the next one follows, as libpq does for sslmode allow and prefer. */
    type: "fallback";
    /** Host dialled. */
    host: string;
    /** Port dialled. */
    port: number;
    /** The attempt that failed. */
    from: "TLS" | "plaintext";
    /** The attempt that follows. */
    to: "TLS" | "plaintext";
    /** Why the first one failed. */
    error: { code?: string; message: string };
  };

/** One connection attempt. */
export interface TlsAttempt {
  /** What this attempt is, for messages: `TLS` or `plaintext`. */
  readonly label: "TLS" | "plaintext";
  /** postgres.js `ssl`: `false` when we negotiate ourselves, else what postgres.js should do. */
  readonly ssl: false | "prefer" | "require";
  /**
   * Negotiates on a freshly dialled socket (own-socket adapters only); resolves with the socket
   * postgres.js should speak plaintext protocol on.
   */
  readonly secure?: (socket: Duplex, request: { host: string; port: number; signal: AbortSignal }) => Promise<Duplex>;
  /** What the first `secure` call negotiated; `undefined` when postgres.js negotiated (unknown here). */
  negotiated?: Negotiated;
  /** The first error the TLS socket reported after the handshake, whether postgres.js saw it or not. */
  lateError?: Error;
  /** Whether to make the next attempt after this error. */
  readonly retryOn: (error: unknown) => boolean;
}

/**
 * Checks the TLS settings and reads the certificate files, once per driver. Throws `ConfigError` for
 * a file that is missing, unreadable or does not parse, a key that does not decrypt or match, an
 * sslmode that needs a root certificate without one, or a mode this adapter cannot honour.
 *
 * @example
 * ```ts ignore
 * const policy = await prepareTls(config, { ownSocket: true });
 * ```
 */
export async function prepareTls(
  config: DatabaseConfig,
  options: { ownSocket: boolean; observe?: (event: TlsEvent) => void },
): Promise<TlsPolicy> {
  const sslmode = effectiveSslMode(config);
  const issue = (key: string, message: string) =>
    new ConfigError([{ path: `database.postgres.${key}`, message, source: config.sources[key] }]);
  if (config.sslrootcert === "system" && sslmode !== "verify-full") {
    throw issue(
      "sslmode",
      `"${sslmode}" is too weak with sslrootcert=system (the runtime's trust store): use verify-full`,
    );
  }
  if ((sslmode === "verify-ca" || sslmode === "verify-full") && config.sslrootcert === undefined) {
    throw issue(
      "sslrootcert",
      `is required with sslmode=${sslmode}: a file path, PEM text, or "system" for the runtime's trust store`,
    );
  }
  if (!options.ownSocket) {
    // postgres.js negotiates by itself there: it can neither verify a chain nor present a certificate as asked.
    const unsupported = sslmode === "verify-ca" || sslmode === "verify-full"
      ? issue("sslmode", `${sslmode} needs the postgres adapter's own sockets (Deno, Node); not available here`)
      : config.sslnegotiation === "direct"
      ? issue("sslnegotiation", "direct needs the postgres adapter's own sockets (Deno, Node); not available here")
      : config.channel_binding === "require"
      ? issue(
        "channel_binding",
        "require needs the postgres adapter's own sockets (Deno, Node), where it authenticates; not available here",
      )
      : config.sslrootcert !== undefined
      ? issue("sslrootcert", "needs the postgres adapter's own sockets (Deno, Node); not available here")
      : config.sslcert !== undefined || config.sslkey !== undefined
      ? issue("sslcert", "client certificates need the postgres adapter's own sockets (Deno, Node)")
      : undefined;
    if (unsupported) throw unsupported;
  }
  // sslmode=disable never reads them, as libpq.
  const material = sslmode === "disable" ? {} : await loadTlsMaterial(config);
  const handshake = {
    sni: config.sslsni,
    minVersion: config.ssl_min_protocol_version,
    maxVersion: config.ssl_max_protocol_version,
    direct: config.sslnegotiation === "direct",
  };
  return { sslmode, material, ownSocket: options.ownSocket, observe: options.observe, handshake };
}

/**
 * The sslmode the adapter applies: `verify-full` when `sslrootcert=system` and sslmode was left at its
 * default (libpq 16: the system store proves nothing without the host name check), else `config.sslmode`.
 *
 * @example
 * ```ts ignore
 * effectiveSslMode(parseConfig("postgres://db/app?sslrootcert=system", { env: {} })); // "verify-full"
 * ```
 */
export function effectiveSslMode(config: DatabaseConfig): SslMode {
  const raised = config.sslrootcert === "system" && config.sources.sslmode === "default";
  return raised ? "verify-full" : config.sslmode;
}

/**
 * The attempts for one connection to `host`, in order.
 *
 * @example
 * ```ts ignore
 * for (const attempt of tlsAttempts(policy)) { ... }
 * ```
 */
export function tlsAttempts(policy: TlsPolicy): TlsAttempt[] {
  const { sslmode } = policy;
  const plain = (retryOn: (e: unknown) => boolean): TlsAttempt => ({
    label: "plaintext",
    ssl: false,
    negotiated: null,
    retryOn,
  });
  switch (sslmode) {
    case "disable":
      return [plain(never)];
    case "allow":
      // libpq: any error the server sends during startup of the plaintext attempt → one TLS attempt.
      return [plain(serverRejected), tlsAttempt(policy, false, never)];
    case "prefer": {
      // libpq: a failed handshake, or an error the server sends over TLS → one plaintext attempt. Not a TLS
      // alert after the handshake (TLS 1.3's verdict on a client certificate): libpq stops there too.
      const first = tlsAttempt(policy, false, (error) => {
        // Where postgres.js negotiates we cannot tell whether TLS was in use: a plaintext retry costs little.
        if (!policy.ownSocket) return handshakeFailed(error) || serverRejected(error);
        if (first.negotiated === undefined) return handshakeFailed(error);
        return first.negotiated !== null && serverRejected(error);
      });
      return [first, plain(never)];
    }
    default:
      return [tlsAttempt(policy, true, never)];
  }
}

/**
 * Runs the attempts for `request` in order until one connects; when the last one fails, throws an
 * error that names every attempt and explains the common refusals (hostssl / hostnossl, client
 * certificates).
 *
 * @example
 * ```ts ignore
 * const conn = await connectWithTls(policy, request, (attempt) => connectOnce(request, attempt));
 * ```
 */
export async function connectWithTls<T>(
  policy: TlsPolicy,
  request: ConnectRequest,
  connect: (attempt: TlsAttempt) => Promise<T>,
): Promise<T> {
  const target = `${request.host}:${request.port}`;
  const failures: { attempt: TlsAttempt; error: unknown }[] = [];
  // libpq ignores sslmode on Unix-domain sockets.
  const effective = request.host.startsWith("/") ? { ...policy, sslmode: "disable" as const } : policy;
  const { host, port } = request;
  const attempts = tlsAttempts(effective);
  for (const [i, attempt] of attempts.entries()) {
    observe(policy, { type: "attempt", host, port, sslmode: effective.sslmode, attempt: attempt.label });
    try {
      return await connect(attempt);
    } catch (raw) {
      // A TLS alert may reach postgres.js only as "connection closed": the socket's own report says why.
      const late = attempt.lateError && explainTlsError(attempt.lateError, target, policy.material);
      const error = late ?? explain(raw, attempt, policy, target);
      failures.push({ attempt, error });
      const next = attempts[i + 1];
      if (request.signal.aborted || !next || !attempt.retryOn(error)) break;
      const e = error as { code?: unknown };
      observe(policy, {
        type: "fallback",
        host,
        port,
        from: attempt.label,
        to: next.label,
        error: { code: typeof e?.code === "string" ? e.code : undefined, message: messageOf(error, target) },
      });
    }
  }
  if (failures.length === 1) throw failures[0].error;
  // As libpq, report both; the TLS attempt's error leads (its code, its cause).
  const lead = failures.find((f) => f.attempt.label === "TLS") ?? failures[0];
  const message = failures.map((f) => `${f.attempt.label} attempt: ${messageOf(f.error, target)}`).join("; then ");
  const code = (lead.error as { code?: unknown })?.code;
  throw new DatabaseConnectionError(`${target} (sslmode=${policy.sslmode}): ${message}`, {
    code: typeof code === "string" ? code : undefined,
    retryable: lead.error instanceof DatabaseConnectionError ? lead.error.retryable : false,
    reachedServer: false,
    cause: lead.error,
  });
}

/**
 * `factory` with `attempt`'s TLS negotiation after each dial (cancel requests included, so they travel
 * the way the session does); `factory` itself when the attempt negotiates nothing.
 *
 * @example
 * ```ts ignore
 * postgres({ ssl: attempt.ssl, socket: securedSockets(openSocket, attempt) });
 * ```
 */
export function securedSockets(factory: SocketFactory | null, attempt: TlsAttempt): SocketFactory | null {
  const secure = attempt.secure;
  if (!factory || !secure) return factory;
  return async (request) => await secure((await factory(request)) as Duplex, request);
}

const never = () => false;

/** Tells the policy's observer, if any; an observer that throws changes nothing for the connection. */
function observe(policy: TlsPolicy, event: TlsEvent): void {
  try {
    policy.observe?.(event);
  } catch {
    // A diagnostic hook must not change what happens to the connection.
  }
}

function tlsAttempt(policy: TlsPolicy, requireTls: boolean, retryOn: (error: unknown) => boolean): TlsAttempt {
  const { sslmode, material } = policy;
  if (!policy.ownSocket) return { label: "TLS", ssl: requireTls ? "require" : "prefer", retryOn };
  const attempt: TlsAttempt = {
    label: "TLS",
    ssl: false,
    retryOn,
    secure: async (socket, { host, port, signal }) => {
      const result = await negotiateTls(socket, {
        ...policy.handshake,
        host,
        port,
        sslmode,
        material,
        // libpq verifies the chain whenever it has a root certificate, whatever the mode.
        verifyChain: sslmode === "verify-ca" || sslmode === "verify-full" || material.ca !== undefined,
        verifyHost: sslmode === "verify-full",
        requireTls,
        signal,
        onLateError: (error) => attempt.lateError ??= error,
        observe: policy.observe && ((negotiation) => observe(policy, { type: "negotiation", negotiation })),
      });
      if (attempt.negotiated === undefined) attempt.negotiated = result.tls;
      return result.socket;
    },
  };
  return attempt;
}

/** The server sent an ErrorResponse during startup (pg_hba, authentication, database...). */
function serverRejected(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof QueryError || e.name === "PostgresError") return true;
  }
  return false;
}

/** The TLS handshake (or our check of the certificate) failed. */
function handshakeFailed(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && code.startsWith("SSL_") && code !== ("SSL_NOT_SUPPORTED" satisfies ErrorCode);
}

/** Adds what the server's refusal means for this sslmode; maps TLS alerts postgres.js reported. */
function explain(error: unknown, attempt: TlsAttempt, policy: TlsPolicy, target: string): unknown {
  const tlsError = explainTlsError(error, target, policy.material);
  if (tlsError) return tlsError;
  if (!(error instanceof QueryError) || error.code !== "28000") return error;
  let hint: string | undefined;
  if (/no encryption/.test(error.message)) {
    hint = policy.sslmode === "disable"
      ? "the server accepts only TLS connections from here (hostssl in pg_hba.conf), and sslmode=disable never tries TLS"
      : "the server accepts only TLS connections from here (hostssl in pg_hba.conf)";
  } else if (/SSL encryption/.test(error.message)) {
    hint = "the server accepts only plaintext connections from here (hostnossl in pg_hba.conf)" +
      (attempt.label === "TLS" && policy.sslmode !== "prefer" ? `, and sslmode=${policy.sslmode} requires TLS` : "");
  } else if (/client certificate/.test(error.message)) {
    hint = policy.material.cert
      ? "the server did not accept the client certificate (sslcert)"
      : "the server requires a client certificate: set sslcert and sslkey";
  }
  if (!hint) return error;
  return new DatabaseConnectionError(`${target}: ${error.message} (${hint})`, {
    code: error.code,
    retryable: false,
    reachedServer: false,
    cause: error,
  });
}

function messageOf(error: unknown, target: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.startsWith(`${target}: `) ? message.slice(target.length + 2) : message;
}
