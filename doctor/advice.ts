/**
 * Likely causes and fixes for a failed connection step, by error code and
 * message: the doctor's knowledge of how connecting goes wrong. Every code in
 * `ERROR_CODES` has its entry (the type checker holds us to it), then the
 * server's SQLSTATEs that commonly stop a connection.
 *
 * @module
 */

import type { TlsNegotiation } from "../adapters/tls_negotiate.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type { ErrorCode } from "../src/error_codes.ts";
import type { StepName } from "./types.ts";

/**
 * What failed: the step, the error's code (one of `ERROR_CODES` or a
 * SQLSTATE) and message, and the host dialled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Failure } from "./advice.ts";
 * const f: Failure = { step: "tcp", code: "ECONNREFUSED", message: "connection refused", host: "db", port: 5432 };
 * assert(f.step === "tcp");
 * ```
 */
export interface Failure {
  /** The step that failed. */
  step: StepName;
  /** A code of `ERROR_CODES` (`ECONNREFUSED`, `SSL_CERT_UNTRUSTED`...) or a SQLSTATE (`28P01`). */
  code?: string;
  /** The error message (already free of secrets). */
  message: string;
  /** Host dialled. */
  host: string;
  /** Port dialled. */
  port: number;
  /** TLS: what the adapter's negotiation saw (certificate, which check failed and why), when it got that far. */
  tls?: TlsNegotiation;
}

/**
 * A likely cause and a fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Advice } from "./advice.ts";
 * const a: Advice = { cause: "nothing listens there", fix: "start PostgreSQL" };
 * assert(a.fix.length > 0);
 * ```
 */
export interface Advice {
  /** Why it probably failed. */
  cause: string;
  /** What to do. */
  fix: string;
}

/** What every piece of advice may name. */
interface Context {
  config: DatabaseConfig;
  /** Where a key's value came from: `url`, `config/dewey.yaml:7`, `default`... */
  src: (key: string) => string;
  /** `host:port`. */
  target: string;
  /** connect_timeout, readable. */
  timeout: string;
}

type Adviser = (failure: Failure, ctx: Context) => Advice;

/**
 * The likely cause of `failure` and its fix, naming the config keys (and
 * where their values came from) that may need changing.
 *
 * @example Server not listening
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../src/config/parse.ts";
 * import { advise } from "./advice.ts";
 * const config = parseConfig("postgres://db:5433/app", { env: {} });
 * const { cause } = advise({ step: "tcp", code: "ECONNREFUSED", message: "refused", host: "db", port: 5433 }, config);
 * assert(cause.includes("nothing listens on db:5433"));
 * ```
 *
 * @example Wrong password
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../src/config/parse.ts";
 * import { advise } from "./advice.ts";
 * const config = parseConfig("postgres://app:x@db/app", { env: {} });
 * const { fix } = advise({ step: "auth", code: "28P01", message: "password authentication failed", host: "db", port: 5432 }, config);
 * assert(fix.includes("password"));
 * ```
 */
export function advise(failure: Failure, config: DatabaseConfig): Advice {
  const ctx: Context = {
    config,
    src: (key) => config.sources[key] ?? "default",
    target: `${failure.host}:${failure.port}`,
    timeout: `${config.connect_timeout / 1000} s`,
  };
  const code = failure.code ?? "";
  if (failure.step === "dns") return dnsAdvice(failure, ctx);
  if (Object.hasOwn(BY_CODE, code)) return BY_CODE[code as ErrorCode](failure, ctx);
  if (Object.hasOwn(BY_SQLSTATE, code)) return BY_SQLSTATE[code](failure, ctx);
  const { message } = failure;
  if (message.startsWith("invalid database configuration")) {
    return { cause: message.replace(/\s*\n\s*/g, " "), fix: "correct the configuration as the message says" };
  }
  if (failure.step === "tcp") {
    return {
      cause: `the TCP connection to ${ctx.target} failed: ${message}`,
      fix: "check the network path to the host",
    };
  }
  return { cause: message, fix: "see the server log for details" };
}

function dnsAdvice(failure: Failure, ctx: Context): Advice {
  const { host } = failure;
  const fix = `check the spelling of host "${host}" (${ctx.src("host")}); for a private name, check /etc/hosts, ` +
    `the VPN or the DNS server this machine uses`;
  if (failure.code === "CONNECT_TIMEOUT") {
    return { cause: `the DNS lookup of ${host} took longer than connect_timeout (${ctx.timeout})`, fix };
  }
  if (failure.code === "EAI_AGAIN") {
    return { cause: `the DNS server did not answer for ${host} (a temporary failure)`, fix };
  }
  return { cause: `the host name ${host} does not resolve to an address`, fix };
}

const refused: Adviser = ({ host, port }, { target, src }) => ({
  cause: `nothing listens on ${target}: the server is down, or listens on another port or address`,
  fix: `start PostgreSQL, or correct port (${src("port")}) and host (${src("host")}); on the server, check ` +
    `port and listen_addresses in postgresql.conf (pg_isready -h ${host} -p ${port})`,
});

const noAnswer: Adviser = ({ port }, { target, timeout, src }) => ({
  cause: `no answer from ${target} within connect_timeout (${timeout}): a firewall or security group drops ` +
    `the packets, or the host is down`,
  fix: `allow TCP to port ${port} from this machine (firewall, security group, VPN), check the server is up; ` +
    `raise connect_timeout (${src("connect_timeout")}) only if the network is known to be slow`,
});

const noRoute: Adviser = ({ host }) => ({
  cause: `no network route to ${host}`,
  fix: "check the network, VPN or routing to the database host",
});

const reset: Adviser = ({ message }, { target }) => ({
  cause: `${target} or something in between (a proxy, a load balancer, a firewall) cut the connection: ${message}`,
  fix: "check the server log for a crash or a refusal, and any proxy between here and the server",
});

const connectTimeout: Adviser = (failure, ctx) => {
  if (failure.step === "tcp") return noAnswer(failure, ctx);
  if (failure.step === "tls") {
    return {
      cause: `${ctx.target} accepted the TCP connection but did not answer PostgreSQL's TLS request within ` +
        `connect_timeout (${ctx.timeout}): it may not be PostgreSQL (a wrong port?), or it is overloaded`,
      fix: `check that port ${failure.port} is PostgreSQL's (${ctx.src("port")}), and the server's load`,
    };
  }
  if (failure.step === "open") {
    return {
      cause: `PGlite did not open within the doctor's limit: ${failure.message}`,
      fix: `check data_dir (${ctx.src("data_dir")}): a slow or network disk makes the first open (initdb) slow`,
    };
  }
  return {
    cause: `the server did not finish the connection startup within connect_timeout (${ctx.timeout}): it is ` +
      `overloaded, or a proxy in between stalls`,
    fix: "check the server's load and any proxy in between; raise connect_timeout if the server is known to be slow",
  };
};

/** The trust anchors in words, for advice about the chain. */
function roots(failure: Failure, { config, src }: Context): string {
  const root = config.sslrootcert;
  if (root === undefined || root === "system" || failure.tls?.roots === "system") {
    return "the runtime's trust store (sslrootcert=system)";
  }
  return root.includes("-----BEGIN")
    ? `the inline sslrootcert (${src("sslrootcert")})`
    : `sslrootcert ${root} (${src("sslrootcert")})`;
}

const untrusted: Adviser = (failure, ctx) => {
  const cert = failure.tls?.certificate;
  const reason = failure.tls?.chainError ?? /; ([A-Z_]+)\)$/.exec(failure.message)?.[1];
  if (reason === "CERT_HAS_EXPIRED") {
    return {
      cause: `the server's certificate expired${cert?.validTo ? ` on ${cert.validTo.slice(0, 10)}` : ""}`,
      fix: "renew the server's certificate (ssl_cert_file) and reload the server",
    };
  }
  if (reason === "CERT_NOT_YET_VALID") {
    return {
      cause: "the server's certificate is not valid yet: a clock is wrong on one side",
      fix: "check the clocks of this machine and the server (NTP)",
    };
  }
  const issued = cert?.issuer ? `, issued by ${cert.issuer},` : "";
  const system = roots(failure, ctx).startsWith("the runtime's");
  return {
    cause: `the server's certificate${issued} is not signed by a root in ${roots(failure, ctx)}`,
    fix: system
      ? "set sslrootcert to the CA certificate that issued the server's certificate (a private CA is not in the " +
        "runtime's store; Deno also reads DENO_CERT), or fix the chain the server sends (ssl_cert_file should " +
        "hold the intermediates)"
      : "set sslrootcert to the CA certificate that issued the server's certificate, or fix the chain the " +
        "server sends (ssl_cert_file should hold the intermediates)",
  };
};

const mismatch: Adviser = ({ host, tls }) => {
  const cert = tls?.certificate;
  const names = cert?.names.length ? cert.names.join(", ") : cert?.subject ?? "other names";
  return {
    cause: `the server's certificate is for ${names}, not ${host} (sslmode=verify-full checks the name)`,
    fix: `connect with a host name the certificate names (${names}), or reissue the server certificate with ` +
      `${host} in its subjectAltName`,
  };
};

/** Advice for every code the library throws. A code added to `ERROR_CODES` does not compile until it has advice. */
const BY_CODE: { readonly [C in ErrorCode]: Adviser } = {
  CONNECT_TIMEOUT: connectTimeout,
  CONNECTION_CLOSED: ({ message }, { target, src }) => ({
    cause: `${target} closed the connection before it was ready: ${message}. Either it is not PostgreSQL ` +
      `(a wrong port?), or the server or a proxy in front of it refused the connection`,
    fix: `check the port (${src("port")}) and the server's or the proxy's log`,
  }),
  CONNECTION_ENDED: ({ message }) => ({
    cause: `the connection was ended before the server answered: ${message}`,
    fix: "try again; if it recurs, see the server log",
  }),
  CONNECTION_DESTROYED: ({ message }) => ({
    cause: `the connection was destroyed before the server answered: ${message}`,
    fix: "try again; if it recurs, see the server log",
  }),
  SASL_SIGNATURE_MISMATCH: (_, { config }) => ({
    cause: `the server could not prove that it knows user ${config.user}'s password (SCRAM): something between ` +
      `may pose as the server, or a pooler holds another password verifier`,
    fix: "check what answers on this address; for PgBouncer, take the verifier in userlist.txt from pg_authid",
  }),
  PROXY_UNREACHABLE: ({ message }, { src }) => ({
    cause: `the WebSocket proxy in front of the database did not answer: ${message}`,
    fix: `start the proxy (deno task wsproxy locally) or correct ws_proxy (${src("ws_proxy")})`,
  }),
  PASSWORD_MISSING: (_, { config }) => ({
    cause: `the server asks user ${config.user} for a password and none is configured` +
      (config.sources.password ? ` (${config.sources.password})` : ""),
    fix: "set password (for example password: ${DB_PASSWORD} in the config file, or PGPASSWORD), or add a line " +
      "host:port:database:user:password to the password file (~/.pgpass, mode 0600)",
  }),
  CHANNEL_BINDING: ({ message }, { config, src }) => ({
    cause: `channel_binding=require (${src("channel_binding")}), and ${
      /SSL not in use|non-SSL/.test(message)
        ? "the connection does not use TLS"
        : /did not offer/.test(message)
        ? "the server does not offer SCRAM-SHA-256-PLUS (its password verifier is not SCRAM, or TLS is off)"
        : "the server authenticated without SCRAM (trust, md5, password or cert in pg_hba.conf)"
    }`,
    fix: `use sslmode=require or stronger and scram-sha-256 in pg_hba.conf (the role's password stored as SCRAM), ` +
      `or set channel_binding=prefer (now ${config.channel_binding})`,
  }),
  AUTH_METHOD_REFUSED: ({ message }, { src }) => ({
    cause: `${message}: require_auth (${src("require_auth")}) does not allow what the server asks for`,
    fix: "change require_auth, or the method in the server's pg_hba.conf",
  }),
  AUTH_UNSUPPORTED: ({ message }) => ({
    cause: `the server asks for an authentication method this library does not implement: ${message}`,
    fix: "use scram-sha-256 (or md5, password) in the server's pg_hba.conf for this client",
  }),
  TARGET_SESSION_ATTRS: ({ message }, { src, config }) => ({
    cause: `${message}: target_session_attrs=${config.target_session_attrs} skips it`,
    fix: `list a server that matches, or change target_session_attrs (${src("target_session_attrs")})`,
  }),
  SSL_NOT_SUPPORTED: (failure, { config, src }) => ({
    cause: `the server does not accept TLS (ssl = off), and sslmode=${failure.tls?.sslmode ?? config.sslmode} ` +
      `(${src("sslmode")}) requires it`,
    fix: "turn ssl on in postgresql.conf (with ssl_cert_file and ssl_key_file) and reload; lower sslmode only " +
      "on a network you trust",
  }),
  SSL_CERT_UNTRUSTED: untrusted,
  SSL_CERT_NAME_MISMATCH: mismatch,
  SSL_CERT_IP_MISMATCH: mismatch,
  SSL_CLIENT_CERT_REJECTED: (_, { config, src }) =>
    config.sslcert === undefined
      ? {
        cause: "the server requires a client certificate (pg_hba.conf method cert, or clientcert=verify-*), and " +
          "none is configured",
        fix: "set sslcert and sslkey to a certificate signed by a CA in the server's ssl_ca_file",
      }
      : {
        cause: `the server does not trust the client certificate (sslcert, ${src("sslcert")}): it is not signed ` +
          `by a CA in the server's ssl_ca_file`,
        fix: "use a client certificate from the CA the server trusts, or add its CA to ssl_ca_file and reload",
      },
  SSL_HANDSHAKE_FAILED: ({ message }, { src }) =>
    /answered the TLS request/.test(message)
      ? {
        cause: `the server answered the TLS request with an error: it is not PostgreSQL, or too old: ${message}`,
        fix: `check the port (${src("port")}): it may be another service, or a proxy that needs other settings`,
      }
      : /unencrypted data|unexpected data/.test(message)
      ? {
        cause: `something sent data outside TLS during the TLS request: a broken proxy, or an attack: ${message}`,
        fix: "check what sits between this machine and the server",
      }
      : {
        cause: `the TLS handshake failed: ${message}`,
        fix: "check the server's TLS settings (ssl_min_protocol_version, ssl_ciphers: TLS 1.2 or later is needed) " +
          "and its certificate and key",
      },
  POOL_TIMEOUT: (_, { src }) => ({
    cause: "every pooled connection stayed busy for pool_acquire_timeout",
    fix: `raise pool_max (${src("pool_max")}) or pool_acquire_timeout, or find the code that holds connections ` +
      "(leak_detection_threshold)",
  }),
  POOL_CLOSED: () => ({
    cause: "the pool was closed (close() was called) before this request",
    fix: "do not use a DatabaseConnection after close(); open a new one",
  }),
  SESSION_CLOSED: () => ({
    cause: "the session had ended, or its connection was lost",
    fix: "start a new session (getSession) and run the transaction again",
  }),
  QUERY_TIMEOUT: ({ message }) => ({
    cause: `a statement ran longer than its timeout option allowed, or waited that long for a connection: ${message}`,
    fix: "raise the statement's timeout, make the statement faster, or raise pool_max if it waited for a connection",
  }),
  QUERY_ABORTED: ({ message }) => ({
    cause: `the caller aborted the statement's signal: ${message}`,
    fix: "nothing to fix in the database: the application cancelled the statement (its reason is the cause)",
  }),
  CONNECTION_BUSY: () => ({
    cause: "a statement was sent on an engine connection while a cursor or COPY ran on it",
    fix: "finish the loop (or close the cursor, or read the COPY to its end) first, or take another connection",
  }),
  NOT_SUPPORTED: ({ message }) => ({
    cause: `the adapter cannot do what was asked: ${message}`,
    fix: "use an adapter that can (postgres, neon and pglite support cursors, COPY and LISTEN)",
  }),
  PGLITE_IN_USE: ({ message }) => ({
    cause: `another DatabaseConnection in this process holds the PGlite data directory (one at a time): ${message}`,
    fix: "close the other connection to that data directory first",
  }),
  PGLITE_OPEN: ({ message }, { src }) => ({
    cause: `PGlite could not open its database: ${message}`,
    fix: `check data_dir (${src("data_dir")}): its parent must exist and be writable`,
  }),
  ECONNREFUSED: refused,
  ECONNRESET: reset,
  ECONNABORTED: reset,
  EPIPE: reset,
  ETIMEDOUT: noAnswer,
  EHOSTUNREACH: noRoute,
  ENETUNREACH: noRoute,
  ENOTFOUND: dnsAdvice,
  EAI_AGAIN: dnsAdvice,
};

/** The server's SQLSTATEs that commonly stop a connection. */
const BY_SQLSTATE: Record<string, Adviser> = {
  "28P01": (_, { config, src }) =>
    config.password === undefined
      ? {
        cause: `the server asks user ${config.user} for a password and none is configured`,
        fix: "set password (for example password: ${DB_PASSWORD} in the config file, or PGPASSWORD)",
      }
      : {
        cause: `the server rejected the password of user ${config.user}`,
        fix: `check the password (${src("password")}); on the server an administrator can reset it: ` +
          `ALTER ROLE ${config.user} PASSWORD '...'`,
      },
  "28000": ({ message }, { config, src }) => {
    const { user, dbname: db } = config;
    if (/pg_hba\.conf/.test(message)) {
      const plain = /no encryption/.test(message);
      return {
        cause: `the server's pg_hba.conf has no line letting user ${user} connect to database ${db} from this ` +
          `address${plain ? " without TLS" : ""}`,
        fix: `add a line such as "${plain ? "host" : "hostssl"} ${db} ${user} <this machine's address>/32 ` +
          `scram-sha-256" to pg_hba.conf and reload (SELECT pg_reload_conf())${plain ? ", or connect with TLS" : ""}`,
      };
    }
    if (/role .* does not exist/.test(message)) {
      return {
        cause: `there is no role ${user} on the server`,
        fix: `correct user (${src("user")}), or create it: CREATE ROLE ${user} LOGIN PASSWORD '...'`,
      };
    }
    return { cause: `the server refused user ${user}: ${message}`, fix: "check pg_hba.conf and the role's LOGIN" };
  },
  "3D000": ({ host }, { config, src }) => ({
    cause: `there is no database ${config.dbname} on ${host}`,
    fix: `correct dbname (${src("dbname")}), or create it: CREATE DATABASE ${config.dbname}`,
  }),
  "53300": () => ({
    cause: "the server has no free connection slots (too many connections)",
    fix: "lower pool_max across your processes, raise max_connections, or put PgBouncer in front",
  }),
  "57P03": () => ({ cause: "the server is starting up, shutting down or recovering", fix: "wait and try again" }),
};
