/**
 * Likely causes and fixes for a failed connection step, by error code and
 * message: the doctor's knowledge of how connecting goes wrong.
 *
 * @module
 */

import type { DatabaseConfig } from "../config/types.ts";
import type { StepName } from "./types.ts";

/**
 * What failed: the step, the error's code (SQLSTATE, network or TLS code)
 * and message, and the host dialled.
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
  /** SQLSTATE, network code (`ECONNREFUSED`), TLS code (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`), or `TIMEOUT`. */
  code?: string;
  /** The error message (already free of secrets). */
  message: string;
  /** Host dialled. */
  host: string;
  /** Port dialled. */
  port: number;
  /** TLS: the certificate's subject, issuer, names and expiry, when one was received. */
  certificate?: { subject?: string; issuer?: string; names?: string[]; validTo?: string };
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

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
]);

/**
 * The likely cause of `failure` and its fix, naming the config keys (and
 * where their values came from) that may need changing.
 *
 * @example Server not listening
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/parse.ts";
 * import { advise } from "./advice.ts";
 * const config = parseConfig("postgres://db:5433/app", { env: {} });
 * const { cause } = advise({ step: "tcp", code: "ECONNREFUSED", message: "refused", host: "db", port: 5433 }, config);
 * assert(cause.includes("nothing listens on db:5433"));
 * ```
 *
 * @example Wrong password
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/parse.ts";
 * import { advise } from "./advice.ts";
 * const config = parseConfig("postgres://app:x@db/app", { env: {} });
 * const { fix } = advise({ step: "auth", code: "28P01", message: "password authentication failed", host: "db", port: 5432 }, config);
 * assert(fix.includes("password"));
 * ```
 */
export function advise(failure: Failure, config: DatabaseConfig): Advice {
  const { code = "", message, host, port } = failure;
  const src = (key: string) => config.sources[key] ?? "default";
  const target = `${host}:${port}`;
  const timeout = `${config.connect_timeout / 1000} s`;
  switch (failure.step) {
    case "dns":
      if (code === "TIMEOUT") {
        return {
          cause: `the DNS lookup of ${host} took longer than connect_timeout (${timeout})`,
          fix: dnsFix(host, src),
        };
      }
      if (code === "EAI_AGAIN") {
        return { cause: `the DNS server did not answer for ${host} (a temporary failure)`, fix: dnsFix(host, src) };
      }
      return { cause: `the host name ${host} does not resolve to an address`, fix: dnsFix(host, src) };
    case "tcp":
      if (code === "ECONNREFUSED") {
        return {
          cause: `nothing listens on ${target}: the server is down, or listens on another port or address`,
          fix: `start PostgreSQL, or correct port (${src("port")}) and host (${src("host")}); on the server, check ` +
            `port and listen_addresses in postgresql.conf (pg_isready -h ${host} -p ${port})`,
        };
      }
      if (code === "TIMEOUT" || code === "ETIMEDOUT") {
        return {
          cause: `no answer from ${target} within connect_timeout (${timeout}): a firewall or security group drops ` +
            `the packets, or the host is down`,
          fix: `allow TCP to port ${port} from this machine (firewall, security group, VPN), check the server is up; ` +
            `raise connect_timeout (${src("connect_timeout")}) only if the network is known to be slow`,
        };
      }
      if (code === "EHOSTUNREACH" || code === "ENETUNREACH") {
        return { cause: `no network route to ${host}`, fix: "check the network, VPN or routing to the database host" };
      }
      return { cause: `the TCP connection to ${target} failed: ${message}`, fix: "check the network path to the host" };
    case "tls":
      return tlsAdvice(failure, config, src);
    case "auth":
    case "open":
      return authAdvice(failure, config, src);
    default:
      return { cause: message, fix: "see the server log for details" };
  }
}

function dnsFix(host: string, src: (key: string) => string): string {
  return `check the spelling of host "${host}" (${src("host")}); for a private name, check /etc/hosts, the VPN ` +
    `or the DNS server this machine uses`;
}

function tlsAdvice(failure: Failure, config: DatabaseConfig, src: (key: string) => string): Advice {
  const { code = "", message, host, certificate: cert } = failure;
  const root = config.sslrootcert === undefined || config.sslrootcert === "system"
    ? "the system's trusted roots"
    : config.sslrootcert.includes("-----BEGIN")
    ? `the inline sslrootcert (${src("sslrootcert")})`
    : `sslrootcert ${config.sslrootcert} (${src("sslrootcert")})`;
  if (code === "SERVER_NO_TLS") {
    return {
      cause: `the server does not accept TLS (ssl = off), and sslmode=${config.sslmode} (${
        src("sslmode")
      }) requires it`,
      fix: "turn ssl on in postgresql.conf (with ssl_cert_file and ssl_key_file) and reload; lower sslmode only " +
        "on a network you trust",
    };
  }
  if (code === "TIMEOUT") {
    return {
      cause: `${failure.host}:${failure.port} accepted the TCP connection but did not answer PostgreSQL's TLS ` +
        `request within connect_timeout (${config.connect_timeout / 1000} s): it may not be PostgreSQL (a wrong ` +
        `port?), or it is overloaded`,
      fix: `check that port ${failure.port} is PostgreSQL's (${src("port")}), and the server's load`,
    };
  }
  if (code === "NOT_POSTGRES") {
    return {
      cause: `${failure.host}:${failure.port} is not speaking PostgreSQL's protocol: ${message}`,
      fix: `check the port (${src("port")}): it may be another service, or a proxy that needs other settings`,
    };
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH") {
    const names = cert?.names?.length ? cert.names.join(", ") : cert?.subject ?? "other names";
    return {
      cause: `the server's certificate is for ${names}, not ${host} (sslmode=verify-full checks the name)`,
      fix: `connect with a host name the certificate names (${names}), or reissue the server certificate with ` +
        `${host} in its subjectAltName`,
    };
  }
  if (code === "CERT_HAS_EXPIRED") {
    return {
      cause: `the server's certificate expired${cert?.validTo ? ` on ${cert.validTo}` : ""}`,
      fix: "renew the server's certificate (ssl_cert_file) and reload the server",
    };
  }
  if (code === "CERT_NOT_YET_VALID") {
    return {
      cause: "the server's certificate is not valid yet: a clock is wrong on one side",
      fix: "check the clocks of this machine and the server (NTP)",
    };
  }
  if (UNTRUSTED.has(code)) {
    const issued = cert?.issuer ? `, issued by ${cert.issuer},` : "";
    return {
      cause: `the server's certificate${issued} is not signed by a root in ${root}`,
      fix: "set sslrootcert to the CA certificate that issued the server's certificate, or fix the chain the " +
        "server sends (ssl_cert_file should hold the intermediates)",
    };
  }
  if (code === "ENOENT" || code === "EACCES") {
    return { cause: `cannot read a TLS file: ${message}`, fix: "check sslrootcert, sslcert and sslkey paths" };
  }
  return { cause: `the TLS handshake failed: ${message}`, fix: "check the server's TLS settings and the certificates" };
}

function authAdvice(failure: Failure, config: DatabaseConfig, src: (key: string) => string): Advice {
  const { code = "", message, host } = failure;
  const user = config.user;
  const db = config.dbname;
  if (code === "28P01") {
    const none = config.password === undefined;
    return {
      cause: none
        ? `the server asks user ${user} for a password and none is configured`
        : `the server rejected the password of user ${user}`,
      fix: none
        ? "set password (for example password: ${DB_PASSWORD} in the config file, or PGPASSWORD)"
        : `check the password (${src("password")}); on the server an administrator can reset it: ` +
          `ALTER ROLE ${user} PASSWORD '...'`,
    };
  }
  if (code === "28000" && /pg_hba\.conf/.test(message)) {
    const tls = /no encryption/.test(message) ? "host" : "hostssl";
    return {
      cause: `the server's pg_hba.conf has no line letting user ${user} connect to database ${db} from this ` +
        `address${/no encryption/.test(message) ? " without TLS" : ""}`,
      fix: `add a line such as "${tls} ${db} ${user} <this machine's address>/32 scram-sha-256" to pg_hba.conf ` +
        `and reload (SELECT pg_reload_conf())${/no encryption/.test(message) ? ", or connect with TLS" : ""}`,
    };
  }
  if (code === "28000" && /role .* does not exist/.test(message)) {
    return {
      cause: `there is no role ${user} on the server`,
      fix: `correct user (${src("user")}), or create it: CREATE ROLE ${user} LOGIN PASSWORD '...'`,
    };
  }
  if (code === "28000") {
    return { cause: `the server refused user ${user}: ${message}`, fix: "check pg_hba.conf and the role's LOGIN" };
  }
  if (code === "3D000") {
    return {
      cause: `there is no database ${db} on ${host}`,
      fix: `correct dbname (${src("dbname")}), or create it: CREATE DATABASE ${db}`,
    };
  }
  if (code === "53300") {
    return {
      cause: "the server has no free connection slots (too many connections)",
      fix: "lower pool_max across your processes, raise max_connections, or put PgBouncer in front",
    };
  }
  if (code === "57P03") {
    return { cause: "the server is starting up, shutting down or recovering", fix: "wait and try again" };
  }
  if (code === "CONNECT_TIMEOUT" || code === "TIMEOUT") {
    return {
      cause: `the server did not finish the connection startup within connect_timeout ` +
        `(${config.connect_timeout / 1000} s): it is overloaded, or a proxy in between stalls`,
      fix: "check the server's load and any proxy in between; raise connect_timeout if the server is known to be slow",
    };
  }
  if (code === "PGLITE_IN_USE") {
    return { cause: message, fix: "close the other connection to that data directory first" };
  }
  if (code === "PGLITE_OPEN") {
    return { cause: message, fix: `check data_dir (${src("data_dir")}): its parent must exist and be writable` };
  }
  if (message.startsWith("invalid database configuration")) {
    return { cause: message.replace(/\s*\n\s*/g, " "), fix: "correct the configuration as the message says" };
  }
  if (/certificate|self.signed|TLS|SSL/i.test(message)) {
    return { cause: `TLS failed while connecting: ${message}`, fix: "check sslmode, sslrootcert, sslcert and sslkey" };
  }
  return { cause: message, fix: "see the server log for details" };
}
