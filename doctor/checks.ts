/**
 * The doctor's judgements: risky configuration choices, and the pool
 * settings against what the server allows.
 *
 * @module
 */

import { effectiveSslMode } from "../adapters/postgres_tls.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type { Finding, ServerFacts } from "./types.ts";

/**
 * Whether `host` is this machine: `localhost`, a loopback address, or a Unix
 * socket directory. Traffic to it never crosses a network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLocalHost } from "./checks.ts";
 * assert(isLocalHost("127.0.0.1") && isLocalHost("::1") && isLocalHost("localhost"));
 * assert(!isLocalHost("db.example.com") && !isLocalHost("10.0.0.5"));
 * ```
 */
export function isLocalHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::1" ||
    h === "0:0:0:0:0:0:0:1" || h.startsWith("/");
}

const WEAK_TLS: Record<string, string> = {
  "disable": "the connection is not encrypted",
  "allow": "the connection is not encrypted unless the server insists",
  "prefer": "the connection falls back to no encryption, and the server's identity is never checked",
  "require":
    "the connection is encrypted, but the server's certificate is not checked: anyone in the path can pose as it",
  "verify-ca": "the certificate chain is checked, but not that it was issued for this host name",
};

/**
 * Risky choices in `config`: `sslmode` weaker than `verify-full` for a host
 * that is not local, no `connect_timeout` set, a password written into a
 * config file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../src/config/parse.ts";
 * import { riskWarnings } from "./checks.ts";
 * const found = riskWarnings(parseConfig("postgres://app@db.example.com/app?sslmode=require", { env: {} }));
 * assert(found.some((f) => f.key === "sslmode") && found.some((f) => f.key === "connect_timeout"));
 * ```
 */
export function riskWarnings(config: DatabaseConfig): Finding[] {
  const found: Finding[] = [];
  const src = config.sources;
  if (config.driver === "pglite") {
    if (config.pool_max > 1) {
      found.push({
        level: "info",
        key: "pool_max",
        message: `PGlite is a single connection: pool_max ${config.pool_max} acts as 1, sessions take turns`,
      });
    }
    return found;
  }
  const remote = config.hosts.map((h) => h.host).filter((h) => !isLocalHost(h));
  // What the adapter applies: sslrootcert=system left at the default sslmode means verify-full.
  const sslmode = config.driver === "postgres" ? effectiveSslMode(config) : config.sslmode;
  if (remote.length && sslmode !== "verify-full") {
    found.push({
      level: "warn",
      key: "sslmode",
      message: `sslmode=${sslmode} (${src.sslmode ?? "default"}) for ${remote.join(", ")}: ${WEAK_TLS[sslmode]}`,
      fix: "use sslmode=verify-full, with sslrootcert set to the CA that issued the server's certificate",
    });
  }
  if ((src.connect_timeout ?? "default") === "default") {
    found.push({
      level: "warn",
      key: "connect_timeout",
      message: `connect_timeout is not set, so an unreachable server holds each attempt for the default ${
        config.connect_timeout / 1000
      } s`,
      fix: "set connect_timeout to how long your application can wait for a connection (for example 5s)",
    });
  }
  const pw = src.password;
  const fromPassfile = config.passfile !== undefined && pw?.startsWith(`${config.passfile}:`);
  if (config.password && pw && /^[^\s()]+:\d+$/.test(pw) && !fromPassfile) {
    found.push({
      level: "warn",
      key: "password",
      message: `the password is written into ${pw.replace(/:\d+$/, "")} (${pw})`,
      fix: "read it from the environment instead: password: ${DB_PASSWORD}",
    });
  }
  for (const key of ["keepalives_interval", "keepalives_count", "tcp_user_timeout"] as const) {
    if (config[key] === undefined) continue;
    found.push({
      level: "info",
      key,
      message: `${key} (${src[key]}) is accepted as libpq does where the system lacks it: Deno's and Node's ` +
        "sockets cannot set it, so the system's value applies",
    });
  }
  return found;
}

/**
 * The pool settings against the server: `pool_max` above what the server
 * allows this user (`max_connections` minus the reserved slots), above the
 * role's or database's connection limit, or above the slots free right now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../src/config/parse.ts";
 * import { poolFindings } from "./checks.ts";
 * const config = parseConfig("postgres://app@db/app?pool_max=150", { env: {} });
 * const facts = { version: "16.4", maxConnections: 100, superuserReserved: 3, reserved: 0, inUse: 4, superuser: false,
 *   roleLimit: -1, databaseLimit: -1, user: "app", database: "app", inRecovery: false };
 * assert(poolFindings(config, facts)[0].level === "warn");
 * ```
 */
export function poolFindings(config: DatabaseConfig, facts: ServerFacts): Finding[] {
  const found: Finding[] = [];
  const max = config.pool_max;
  const reservedTotal = facts.superuserReserved + facts.reserved;
  const allowed = facts.superuser ? facts.maxConnections - facts.reserved : facts.maxConnections - reservedTotal;
  const who = facts.superuser ? `${facts.user} (a superuser)` : facts.user;
  const limits = facts.superuser
    ? `max_connections ${facts.maxConnections}${facts.reserved ? `, ${facts.reserved} reserved` : ""}; ` +
      `a superuser may also use the ${facts.superuserReserved} superuser_reserved_connections`
    : `max_connections ${facts.maxConnections} minus ${reservedTotal} reserved`;
  const fix = "lower pool_max, raise max_connections on the server, or put PgBouncer in front";
  if (max > allowed) {
    found.push({
      level: "warn",
      key: "pool_max",
      message: `pool_max ${max} is more than the ${allowed} connections the server allows user ${who} (${limits})`,
      fix,
    });
  } else {
    const others = Math.max(0, facts.inUse - 1); // the doctor's own connection closes when it is done
    const free = allowed - others;
    if (max > free) {
      found.push({
        level: "warn",
        key: "pool_max",
        message:
          `only ${free} of the ${allowed} connection slots for user ${who} are free now (${others} in use by others): ` +
          `pool_max ${max} may not be reached`,
        fix,
      });
    } else {
      found.push({
        level: "ok",
        key: "pool_max",
        message:
          `pool_max ${max} fits: the server allows user ${who} ${allowed} connections (${limits}); ${others} in ` +
          `use by others now, so ${Math.floor(free / max)} processes with this pool fit`,
      });
    }
  }
  const limited = [["role", facts.user, facts.roleLimit], ["database", facts.database, facts.databaseLimit]] as const;
  for (const [what, name, limit] of limited) {
    if (limit < 0 || max <= limit) continue;
    found.push({
      level: "warn",
      key: "pool_max",
      message: `pool_max ${max} is more than ${what} ${name}'s CONNECTION LIMIT ${limit}`,
      fix: `lower pool_max, or ALTER ${what.toUpperCase()} ${name} CONNECTION LIMIT ${max}`,
    });
  }
  if (config.pool_min > allowed) {
    found.push({
      level: "warn",
      key: "pool_min",
      message: `pool_min ${config.pool_min} can never be reached: the server allows user ${who} ${allowed} connections`,
      fix: "lower pool_min",
    });
  }
  return found;
}
