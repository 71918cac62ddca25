/**
 * `runDoctor`: load and validate a configuration, then walk every configured
 * host step by step (DNS, TCP, TLS, authentication, server, round trip),
 * stopping at the first failing step, and check the pool against the server.
 *
 * @module
 */

import type { TlsEvent } from "../adapters/postgres_tls.ts";
import { DEFAULT_CONFIG_FILE, loadConfig } from "../src/config/load.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import { redactUrl } from "../src/config/url.ts";
import { singleConnector } from "../src/connect.ts";
import { matchesAttrs } from "../src/connect_hosts.ts";
import type { Driver, DriverConnection } from "../src/contracts.ts";
import { ConfigError, type ConfigIssue } from "../src/errors.ts";
import { redactorOf } from "../src/redact.ts";
import { poolFindings, riskWarnings } from "./checks.ts";
import { configEntries } from "./config_table.ts";
import { formatMs } from "./format.ts";
import { dnsStep, failed, type ProbeContext, tcpStep } from "./probe.ts";
import { DOCTOR_PLATFORM, fileExists, loadDriver, processEnv } from "./runtime.ts";
import { authMethod, serverFacts } from "./server.ts";
import { tlsStep } from "./tls.ts";
import type { DoctorReport, Finding, HostReport, ServerFacts, Step } from "./types.ts";

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
  const env = options.env ?? processEnv();
  const shown = await describeTarget(target, env);
  let config: DatabaseConfig;
  try {
    config = await loadConfig(target, { env, platform: DOCTOR_PLATFORM });
  } catch (error) {
    return invalid(shown, error);
  }
  const warnings = riskWarnings(config);
  const hosts: HostReport[] = [];
  let server: ServerFacts | undefined;
  let driver: Driver;
  let matched = false;
  // The adapter tells what it decided and saw about TLS; the hosts are checked one after the other.
  const events: TlsEvent[] = [];
  try {
    driver = await loadDriver(config, (event) => events.push(event));
  } catch (error) {
    // Certificates and keys are read when the driver is built: a bad one is a configuration problem.
    if (error instanceof ConfigError) return invalid(shown, error);
    const ctx = { config, host: config.host, port: config.port };
    hosts.push({ host: config.host, port: config.port, ok: false, steps: [failed(ctx, "auth", error)] });
    return summarize(shown, config, hosts, warnings, undefined, false);
  }
  const targets = config.driver === "pglite" ? [{ host: String(config), port: 0 }] : config.hosts;
  for (const target of targets) {
    events.length = 0;
    const result = await checkHost({ config, ...target }, driver, events, options.samples ?? 5);
    hosts.push(result.report);
    warnings.push(...result.findings);
    server ??= result.facts;
    if (result.facts && matches(config, result.facts)) matched = true;
  }
  await driver.end?.();
  return summarize(shown, config, hosts, warnings, server, matched);
}

/** The report for a configuration that did not load (exit code 2). */
function invalid(target: string, error: unknown): DoctorReport {
  const issues: ConfigIssue[] = error instanceof ConfigError
    ? [...error.issues]
    : [{ path: "database", message: error instanceof Error ? error.message : String(error) }];
  return {
    target,
    ok: false,
    exitCode: 2,
    configIssues: issues,
    hosts: [],
    pool: [],
    warnings: [],
    summary: `unhealthy: the configuration is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"})`,
  };
}

/** The verdict over every host. */
function summarize(
  target: string,
  config: DatabaseConfig,
  hosts: HostReport[],
  warnings: Finding[],
  server: ServerFacts | undefined,
  matched: boolean,
): DoctorReport {
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
  // Host steps quote driver errors: the configuration's redactor knows its secrets.
  return redactorOf(config).redactValue({
    target,
    ok,
    exitCode: ok ? 0 : 1,
    config: configEntries(config),
    hosts,
    server,
    pool,
    warnings,
    summary,
  });
}

/** Whether a server like `facts` is one `target_session_attrs` accepts (prefer-standby accepts any, in the end). */
function matches(config: DatabaseConfig, facts: ServerFacts): boolean {
  const attrs = config.target_session_attrs;
  return attrs === "prefer-standby" ||
    matchesAttrs(attrs, { inRecovery: facts.inRecovery, readOnly: facts.readOnly === true });
}

/** What `loadConfig(target)` reads, for the report's first line. */
async function describeTarget(
  target: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  // redactUrl leaves a file path as it is, and masks the credentials of a URL or keyword/value string, mistyped or not.
  if (target !== undefined) return redactUrl(target);
  const parts: string[] = [];
  if (env.DATABASE_URL) parts.push(`DATABASE_URL=${redactUrl(env.DATABASE_URL)}`);
  if (env.DEWEY_CONFIG) parts.push(`$DEWEY_CONFIG (${redactUrl(env.DEWEY_CONFIG)})`);
  else if (await fileExists(DEFAULT_CONFIG_FILE)) parts.push(DEFAULT_CONFIG_FILE);
  if (Object.keys(env).some((k) => k.startsWith("PG") && env[k])) parts.push("PG* variables");
  return parts.length ? parts.join(" + ") : "defaults (no DATABASE_URL, $DEWEY_CONFIG or config/dewey.yaml)";
}

/**
 * The steps for one host; `facts` when the server answered. DNS and TCP are the doctor's own probes;
 * TLS, authentication and the rest are one connection made the way the pool makes it, and the TLS step
 * reports what the adapter told `events` about it.
 */
async function checkHost(
  ctx: ProbeContext,
  driver: Driver,
  events: readonly TlsEvent[],
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
  const network = !embedded && driver.name === "postgres";
  if (network) {
    const dns = await dnsStep(ctx);
    steps.push(dns.step);
    if (dns.step.status === "fail") return report();
    const tcp = await tcpStep(ctx, dns.addresses);
    steps.push(tcp);
    if (tcp.status === "fail") return report();
  }
  const name = embedded ? "open" : "auth";
  const t = performance.now();
  let conn: DriverConnection | undefined;
  let error: unknown;
  try {
    conn = await connect(ctx, driver);
  } catch (e) {
    error = e;
  }
  let ms = performance.now() - t;
  if (network) {
    const tls = tlsStep(ctx, events, error);
    steps.push(tls.step);
    findings.push(...tls.findings);
    ms -= tls.step.ms ?? 0;
    if (tls.step.status === "fail") return report();
  }
  if (!conn) {
    steps.push(failed(ctx, name, error));
    return report();
  }
  try {
    const how = embedded
      ? `embedded PGlite, ${ctx.config.data_dir === undefined ? "in memory" : `data directory ${ctx.config.data_dir}`}`
      : `as user ${ctx.config.user} to database ${ctx.config.dbname}${await authMethod(conn)}`;
    steps.push({ name, status: "ok", detail: how, ms });
    let facts: ServerFacts | undefined;
    try {
      facts = await serverFacts(conn);
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

/** One connection, opened as the pool opens it (bounded by connect_timeout, or the embedded start limit). */
function connect(ctx: ProbeContext, driver: Driver): Promise<DriverConnection> {
  return singleConnector(driver, ctx.config, ctx)(new AbortController().signal, () => {});
}
