/**
 * `runDoctor`: load and validate a configuration, then walk every configured
 * host step by step (DNS, TCP, TLS, authentication, server, round trip),
 * stopping at the first failing step, and check the pool against the server.
 *
 * @module
 */

import { NODE_RUNTIME } from "../adapters/runtime_node.ts";
import { configEntries } from "../src/doctor/config_table.ts";
import { poolFindings, riskWarnings } from "../src/doctor/checks.ts";
import { formatMs } from "../src/doctor/format.ts";
import type { DoctorReport, Finding, HostReport, ServerFacts, Step } from "../src/doctor/types.ts";
import { DEFAULT_CONFIG_FILE, loadConfig } from "../src/config/load.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import { isUrl, redactUrl } from "../src/config/url.ts";
import type { Driver, DriverConnection } from "../src/contracts.ts";
import { ConfigError, DatabaseConnectionError } from "../src/errors.ts";
import { matchesAttrs } from "../src/connect_hosts.ts";
import { resolveDriver } from "../src/runtime.ts";

const platform = NODE_RUNTIME.platform;
import { dnsStep, failed, type ProbeContext, tcpStep, tlsStep } from "./probe.ts";

/**
 * Options for {@linkcode runDoctor}.
 *
 * @example
 * ```ts ignore
 * const report = await runDoctor(undefined, { env: { DATABASE_URL: "postgres://app@db/app" }, samples: 3 });
 * ```
 */
export interface DoctorOptions {
  /** The environment (`DATABASE_URL`, `DEWEY_CONFIG`, `PG*`, `${VAR}`); the process's by default. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Round trips timed in the latency step (default 5). */
  samples?: number;
}

const FACTS = `SELECT current_setting('server_version') AS version,
  current_setting('max_connections')::int AS max_connections,
  current_setting('superuser_reserved_connections')::int AS superuser_reserved,
  coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
  (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS in_use,
  coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
  coalesce((SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user), -1) AS role_limit,
  coalesce((SELECT datconnlimit FROM pg_database WHERE datname = current_database()), -1) AS database_limit,
  current_user AS "user", current_database() AS database, pg_is_in_recovery() AS in_recovery,
  current_setting('default_transaction_read_only') = 'on' AS read_only`;

/**
 * Checks a configuration file, a URL, or (without `target`) what
 * `loadConfig()` would use. Never throws for a bad configuration or an
 * unreachable server: the report says what is wrong.
 *
 * @example
 * ```ts ignore
 * import { formatReport, runDoctor } from "jsr:@dewey/db/doctor";
 * const report = await runDoctor("postgres://app@db.example.com/app");
 * console.log(formatReport(report));
 * Deno.exit(report.exitCode);
 * ```
 */
export async function runDoctor(target?: string, options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? platform.env?.() ?? {};
  const shown = await describeTarget(target, env);
  let config: DatabaseConfig;
  try {
    config = await loadConfig(target, { env, platform });
  } catch (error) {
    const issues = error instanceof ConfigError
      ? error.issues
      : [{ path: "database", message: error instanceof Error ? error.message : String(error) }];
    return {
      target: shown,
      ok: false,
      exitCode: 2,
      configIssues: [...issues],
      hosts: [],
      pool: [],
      warnings: [],
      summary: `unhealthy: the configuration is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"})`,
    };
  }
  const warnings = riskWarnings(config);
  const hosts: HostReport[] = [];
  let server: ServerFacts | undefined;
  let driver: Driver | undefined;
  let matched = false;
  try {
    driver = await resolveDriver(config, NODE_RUNTIME);
  } catch (error) {
    hosts.push({ host: config.host, port: config.port, ok: false, steps: [failed(ctxOf(config), "auth", error)] });
  }
  if (driver) {
    const targets = config.driver === "pglite" ? [{ host: String(config), port: 0 }] : config.hosts;
    for (const { host, port } of targets) {
      const result = await checkHost({ config, host, port }, driver, options.samples ?? 5);
      hosts.push(result.report);
      warnings.push(...result.findings);
      server ??= result.facts;
      if (result.facts && matches(config, result.facts)) matched = true;
    }
    await driver.end?.();
  }
  const pool: Finding[] = server && config.driver !== "pglite" ? poolFindings(config, server) : [];
  const reachable = hosts.length > 0 && hosts.every((h) => h.ok);
  // Every host answered, yet none is what target_session_attrs asks for: the application cannot connect.
  const unmatched = reachable && config.driver !== "pglite" && !matched;
  const ok = reachable && !unmatched;
  const warned = [...warnings, ...pool].filter((f) => f.level === "warn").length;
  const failedHost = hosts.find((h) => !h.ok);
  const failedStep = failedHost?.steps.find((s) => s.status === "fail");
  const summary = ok
    ? `healthy${warned ? ` (${warned} warning${warned === 1 ? "" : "s"})` : ""}`
    : unmatched
    ? `unhealthy: no server matches target_session_attrs=${config.target_session_attrs}`
    : `unhealthy: ${failedStep?.name ?? "a step"} failed for ${failedHost?.host}${
      failedHost && config.driver !== "pglite" ? `:${failedHost.port}` : ""
    }${failedStep?.cause ? `: ${failedStep.cause}` : ""}`;
  return {
    target: shown,
    ok,
    exitCode: ok ? 0 : 1,
    config: configEntries(config),
    hosts,
    server,
    pool,
    warnings,
    summary,
  };
}

/** Whether a server like `facts` is one `target_session_attrs` accepts (prefer-standby accepts any, in the end). */
function matches(config: DatabaseConfig, facts: ServerFacts): boolean {
  const attrs = config.target_session_attrs;
  return attrs === "prefer-standby" ||
    matchesAttrs(attrs, { inRecovery: facts.inRecovery, readOnly: facts.readOnly === true });
}

function ctxOf(config: DatabaseConfig): ProbeContext {
  return { config, host: config.host, port: config.port };
}

/** What `loadConfig(target)` reads, for the report's first line. */
async function describeTarget(
  target: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  if (target !== undefined) return isUrl(target) ? redactUrl(target) : target;
  const parts: string[] = [];
  if (env.DATABASE_URL) parts.push(`DATABASE_URL=${redactUrl(env.DATABASE_URL)}`);
  if (env.DEWEY_CONFIG) parts.push(`$DEWEY_CONFIG (${env.DEWEY_CONFIG})`);
  else if (await platform.fileExists?.(DEFAULT_CONFIG_FILE)) parts.push(DEFAULT_CONFIG_FILE);
  if (Object.keys(env).some((k) => k.startsWith("PG") && env[k])) parts.push("PG* variables");
  return parts.length ? parts.join(" + ") : "defaults (no DATABASE_URL, $DEWEY_CONFIG or config/dewey.yaml)";
}

/** The steps for one host; `facts` when the server answered. */
async function checkHost(
  ctx: ProbeContext,
  driver: Driver,
  samples: number,
): Promise<{ report: HostReport; findings: Finding[]; facts?: ServerFacts }> {
  const steps: Step[] = [];
  const findings: Finding[] = [];
  const report = (facts?: ServerFacts) => ({
    report: { host: ctx.host, port: ctx.port, ok: steps.every((s) => s.status !== "fail"), steps },
    findings,
    facts,
  });
  const embedded = driver.remote === false;
  if (!embedded && driver.name === "postgres") {
    const dns = await dnsStep(ctx);
    steps.push(dns.step);
    if (dns.step.status === "fail") return report();
    const tcp = await tcpStep(ctx, dns.addresses);
    steps.push(tcp.step);
    if (!tcp.socket) return report();
    const tlsResult = await tlsStep(ctx, tcp.socket);
    steps.push(tlsResult.step);
    findings.push(...tlsResult.findings);
    if (tlsResult.step.status === "fail") return report();
  }
  const name = embedded ? "open" : "auth";
  const t = performance.now();
  let conn: DriverConnection;
  const ctl = new AbortController();
  // PGlite's first open runs initdb: allow it more than a network connection gets.
  const limit = embedded ? Math.max(ctx.config.connect_timeout, 60_000) : ctx.config.connect_timeout;
  const timer = setTimeout(() => {
    ctl.abort(
      new DatabaseConnectionError(`no connection within connect_timeout (${limit / 1000} s)`, {
        code: "CONNECT_TIMEOUT",
      }),
    );
  }, limit);
  try {
    conn = await driver.connect({
      config: ctx.config,
      host: ctx.host,
      port: ctx.port,
      signal: ctl.signal,
      onClose: () => {},
    });
  } catch (error) {
    steps.push(failed(ctx, name, ctl.signal.aborted ? ctl.signal.reason : error));
    return report();
  } finally {
    clearTimeout(timer);
  }
  try {
    const how = embedded
      ? `embedded PGlite, ${ctx.config.data_dir === undefined ? "in memory" : `data directory ${ctx.config.data_dir}`}`
      : `as user ${ctx.config.user} to database ${ctx.config.dbname}${await authMethod(conn)}`;
    steps.push({ name, status: "ok", detail: how, ms: performance.now() - t });
    let facts: ServerFacts | undefined;
    try {
      facts = toFacts((await conn.query(FACTS)).rows[0]);
      const role = facts.inRecovery ? "a standby (read-only)" : "a primary";
      const tls = conn.info.tls ? `, TLS ${conn.info.tls.protocol ?? "on"}` : conn.info.tls === null ? ", no TLS" : "";
      steps.push({
        name: "server",
        status: "ok",
        detail: `PostgreSQL ${facts.version}, ${role}${tls}`,
        data: { ...facts },
      });
      if (!embedded && !matches(ctx.config, facts)) {
        findings.push({
          level: "warn",
          key: "target_session_attrs",
          message: `${ctx.host}:${ctx.port} is ${role}, so target_session_attrs=${ctx.config.target_session_attrs} ` +
            `(${ctx.config.sources.target_session_attrs ?? "default"}) skips it`,
          fix: "list a server that matches, or change target_session_attrs",
        });
      }
    } catch (error) {
      steps.push(failed(ctx, "server", error));
      return report();
    }
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const s = performance.now();
      await conn.query("SELECT 1");
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    steps.push({
      name: "latency",
      status: "ok",
      detail: `round trip ${formatMs(median)} (median of ${times.length}, best ${formatMs(times[0])})`,
      data: { medianMs: median, minMs: times[0], samples: times.length },
    });
    return report(facts);
  } catch (error) {
    steps.push(failed(ctx, "latency", error));
    return report();
  } finally {
    await conn.close();
  }
}

/** `, scram-sha-256` from PostgreSQL 16's `system_user`; empty when unknown (older servers, trust). */
async function authMethod(conn: DriverConnection): Promise<string> {
  try {
    const { rows } = await conn.query("SELECT system_user AS s");
    const s = rows[0]?.s;
    return typeof s === "string" ? `, authenticated by ${s.split(":")[0]}` : ", no password asked (trust)";
  } catch {
    return "";
  }
}

function toFacts(row: Record<string, unknown>): ServerFacts {
  return {
    version: String(row.version),
    maxConnections: Number(row.max_connections),
    superuserReserved: Number(row.superuser_reserved),
    reserved: Number(row.reserved),
    inUse: Number(row.in_use),
    superuser: row.superuser === true,
    roleLimit: Number(row.role_limit),
    databaseLimit: Number(row.database_limit),
    user: String(row.user),
    database: String(row.database),
    inRecovery: row.in_recovery === true,
    readOnly: row.read_only === true,
  };
}
