/**
 * Rules between keys, checked once every value is valid on its own.
 *
 * @module
 */

import type { ConfigIssue } from "../errors.ts";
import type { CompleteValues } from "./build.ts";
import { SECTION } from "./layers.ts";
import type { FieldName } from "./schema.ts";

const TLS_ORDER = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
/**
 * Supabase's transaction poolers, PgBouncer's semantics: Supavisor on its pooler hosts, and the dedicated PgBouncer
 * next to a project's database, both on this port.
 */
const SUPABASE_POOLER = /\.supabase\.(com|co)$/i;
const SUPABASE_TRANSACTION_PORT = 6543;

/**
 * The problems between keys of `v`; a key in `failed` (already reported) is
 * left out, so each problem is reported once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossCheck } from "./cross_check.ts";
 * import { DEFAULTS } from "./defaults.ts";
 * const issues = crossCheck({ ...DEFAULTS, pool_min: 20 } as never, {}, new Set());
 * assert(issues[0].message === "expected at most pool_max (10), found 20");
 * ```
 */
export function crossCheck(v: CompleteValues, sources: Record<string, string>, failed: Set<FieldName>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ok = (...keys: FieldName[]) => keys.every((k) => !failed.has(k));
  const issue = (key: FieldName, message: string) =>
    issues.push({ path: `${SECTION}.${key}`, message, source: sources[key] });
  if (ok("pool_min", "pool_max") && v.pool_min > v.pool_max) {
    issue("pool_min", `expected at most pool_max (${v.pool_max}), found ${v.pool_min}`);
  }
  if (ok("reconnect_backoff_base", "reconnect_backoff_max") && v.reconnect_backoff_base > v.reconnect_backoff_max) {
    const found = `${v.reconnect_backoff_base} ms`;
    issue(
      "reconnect_backoff_base",
      `expected at most reconnect_backoff_max (${v.reconnect_backoff_max} ms), found ${found}`,
    );
  }
  if (ok("host", "port") && v.port.length !== 1 && v.port.length !== v.host.length) {
    const hosts = `${v.host.length} host${v.host.length === 1 ? "" : "s"}`;
    issue("port", `expected one port for all hosts or one per host (${hosts}), found ${v.port.length} ports`);
  }
  if (ok("host", "hostaddr") && v.hostaddr && v.hostaddr.length !== v.host.length) {
    issue("hostaddr", `expected one address per host (${v.host.length}), found ${v.hostaddr.length}`);
  }
  const socket = v.host.find((h) => h.startsWith("/"));
  if (ok("host", "driver") && socket !== undefined && v.driver !== "postgres") {
    issue("host", `a Unix-socket directory (${socket}) needs driver postgres; driver ${v.driver} cannot dial one`);
  }
  const min = v.ssl_min_protocol_version;
  const max = v.ssl_max_protocol_version;
  if (
    ok("ssl_min_protocol_version", "ssl_max_protocol_version") && max && TLS_ORDER.indexOf(min) > TLS_ORDER.indexOf(max)
  ) {
    issue("ssl_min_protocol_version", `expected at most ssl_max_protocol_version (${max}), found ${min}`);
  }
  if (ok("sslnegotiation", "sslmode") && v.sslnegotiation === "direct" && /^(disable|allow|prefer)$/.test(v.sslmode)) {
    issue(
      "sslnegotiation",
      `direct TLS needs sslmode require, verify-ca or verify-full, found sslmode=${v.sslmode} (as in libpq 17)`,
    );
  }
  if (ok("channel_binding", "sslmode") && v.channel_binding === "require" && v.sslmode === "disable") {
    issue("channel_binding", "require binds authentication to TLS, and sslmode=disable never uses TLS");
  }
  const pooler = v.host.findIndex((h) => SUPABASE_POOLER.test(h));
  const port = v.port.length === 1 ? v.port[0] : v.port[pooler];
  if (ok("host", "port", "pgbouncer") && pooler >= 0 && port === SUPABASE_TRANSACTION_PORT && !v.pgbouncer) {
    if (sources.pgbouncer === "default") {
      issue(
        "pgbouncer",
        `port ${port} of ${v.host[pooler]} is Supabase's transaction pooler, which keeps no prepared statement: ` +
          `set pgbouncer: true (?pgbouncer=true in a URL), or use port 5432 (its session pooler)`,
      );
    }
  }
  return issues;
}
