/**
 * libpq's connection parameters (PostgreSQL 17's "Parameter Key Words", and
 * the deprecated `requiressl` it still reads): each one's `PG*` variable and
 * what this library does with it. A parameter is a key of the schema when the
 * library honours it (perhaps only some of its values); the others are
 * refused here with the reason, never as an unknown key.
 *
 * @module
 */

/**
 * What the library does with one libpq parameter: `yes` honours it; `values`
 * honours some of its values and refuses the others with a reason; `accepted`
 * takes it without effect, as libpq does where the system lacks the feature;
 * `no` refuses it.
 *
 * @example
 * ```ts
 * import type { LibpqSupport } from "./libpq.ts";
 * const support: LibpqSupport = "values";
 * ```
 */
export type LibpqSupport = "yes" | "values" | "accepted" | "no";

/**
 * One libpq parameter: its variable, its support, and for anything short of
 * `yes` why (one sentence, Markdown code spans allowed).
 *
 * @example
 * ```ts
 * import type { LibpqParameter } from "./libpq.ts";
 * const p: LibpqParameter = { env: "PGHOST", support: "yes" };
 * ```
 */
export interface LibpqParameter {
  /** libpq's environment variable for it, if any. */
  readonly env?: string;
  /** What the library does with it. */
  readonly support: LibpqSupport;
  /** Why it is refused, or which values are and why. */
  readonly note?: string;
}

const GSS = "GSSAPI (Kerberos) is not implemented by this library";

/**
 * Every libpq connection parameter, in libpq's documentation order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LIBPQ_PARAMETERS } from "./libpq.ts";
 * assert(LIBPQ_PARAMETERS.channel_binding.env === "PGCHANNELBINDING");
 * assert(LIBPQ_PARAMETERS.krbsrvname.support === "no");
 * ```
 */
export const LIBPQ_PARAMETERS: Readonly<Record<string, LibpqParameter>> = {
  host: { env: "PGHOST", support: "yes" },
  hostaddr: { env: "PGHOSTADDR", support: "yes" },
  port: { env: "PGPORT", support: "yes" },
  dbname: { env: "PGDATABASE", support: "yes" },
  user: { env: "PGUSER", support: "yes" },
  password: { env: "PGPASSWORD", support: "yes" },
  passfile: { env: "PGPASSFILE", support: "yes" },
  require_auth: { env: "PGREQUIREAUTH", support: "values", note: `\`gss\` and \`sspi\` never match: ${GSS}.` },
  channel_binding: { env: "PGCHANNELBINDING", support: "yes" },
  connect_timeout: { env: "PGCONNECT_TIMEOUT", support: "yes" },
  client_encoding: {
    env: "PGCLIENTENCODING",
    support: "values",
    note: "`UTF8` (and `auto`) only: the postgres.js driver decodes every text value as UTF-8.",
  },
  options: { env: "PGOPTIONS", support: "yes" },
  application_name: { env: "PGAPPNAME", support: "yes" },
  fallback_application_name: { support: "yes" },
  keepalives: { support: "yes" },
  keepalives_idle: { support: "yes" },
  keepalives_interval: {
    support: "accepted",
    note: "Deno's and Node's sockets set only the idle time; the probe interval stays the system's (as libpq where " +
      "the system lacks `TCP_KEEPINTVL`).",
  },
  keepalives_count: {
    support: "accepted",
    note: "Deno's and Node's sockets set only the idle time; the probe count stays the system's (as libpq where " +
      "the system lacks `TCP_KEEPCNT`).",
  },
  tcp_user_timeout: {
    support: "accepted",
    note: "Deno's and Node's sockets cannot set `TCP_USER_TIMEOUT` (as libpq where the system lacks it); " +
      "`connect_timeout` and statement timeouts bound waits instead.",
  },
  replication: {
    support: "values",
    note: "Off only: the replication protocol is for replication clients, not a connection pool.",
  },
  gssencmode: { env: "PGGSSENCMODE", support: "values", note: `\`disable\` and \`prefer\` (never used): ${GSS}.` },
  sslmode: { env: "PGSSLMODE", support: "yes" },
  requiressl: { env: "PGREQUIRESSL", support: "yes", note: "Deprecated in libpq: `1` is `sslmode=require`." },
  sslnegotiation: { env: "PGSSLNEGOTIATION", support: "yes" },
  sslcompression: {
    env: "PGSSLCOMPRESSION",
    support: "values",
    note: "Off only: TLS compression is insecure (CRIME) and disabled in the TLS libraries of Deno and Node.",
  },
  sslcert: { env: "PGSSLCERT", support: "yes" },
  sslkey: { env: "PGSSLKEY", support: "yes" },
  sslpassword: { support: "yes" },
  sslcertmode: {
    env: "PGSSLCERTMODE",
    support: "values",
    note: "`disable` and `allow`: Deno's and Node's TLS cannot tell whether the server asked for a certificate, " +
      "which `require` checks.",
  },
  sslrootcert: { env: "PGSSLROOTCERT", support: "yes" },
  sslcrl: { env: "PGSSLCRL", support: "yes" },
  sslcrldir: { env: "PGSSLCRLDIR", support: "yes" },
  sslsni: { env: "PGSSLSNI", support: "yes" },
  requirepeer: {
    env: "PGREQUIREPEER",
    support: "no",
    note: "Deno's and Node's sockets cannot read the peer credentials of a Unix-domain socket (`SO_PEERCRED`).",
  },
  ssl_min_protocol_version: { env: "PGSSLMINPROTOCOLVERSION", support: "yes" },
  ssl_max_protocol_version: { env: "PGSSLMAXPROTOCOLVERSION", support: "yes" },
  krbsrvname: { env: "PGKRBSRVNAME", support: "no", note: `${GSS}.` },
  gsslib: { env: "PGGSSLIB", support: "no", note: `${GSS}.` },
  gssdelegation: { env: "PGGSSDELEGATION", support: "values", note: `Off only: ${GSS}.` },
  service: { env: "PGSERVICE", support: "yes" },
  target_session_attrs: { env: "PGTARGETSESSIONATTRS", support: "yes" },
  load_balance_hosts: { env: "PGLOADBALANCEHOSTS", support: "yes" },
};

/**
 * The refusal of a libpq parameter the library does not support at all, or
 * `undefined` when `key` is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unsupportedParameter } from "./libpq.ts";
 * assert(unsupportedParameter("krbsrvname")?.startsWith('"krbsrvname" is a libpq parameter this library does not support'));
 * assert(unsupportedParameter("host") === undefined);
 * ```
 */
export function unsupportedParameter(key: string): string | undefined {
  const p = Object.hasOwn(LIBPQ_PARAMETERS, key) ? LIBPQ_PARAMETERS[key] : undefined;
  if (p?.support !== "no") return undefined;
  return `"${key}" is a libpq parameter this library does not support: ${plain(p.note ?? "")}`;
}

/**
 * The refusal of one value of a libpq parameter the library honours only in
 * part: `"<key>=<value>" is not supported: <why>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unsupportedValue } from "./libpq.ts";
 * assert(unsupportedValue("gssencmode", "require").includes("GSSAPI"));
 * ```
 */
export function unsupportedValue(key: string, value: string): string {
  const note = Object.hasOwn(LIBPQ_PARAMETERS, key) ? LIBPQ_PARAMETERS[key].note : undefined;
  return `libpq's ${key}=${value} is not supported by this library${note ? `: ${plain(note)}` : ""}`;
}

/** A note without Markdown code spans, for error messages. */
function plain(note: string): string {
  return note.replace(/`/g, "").replace(/\.$/, "");
}
