/**
 * The doctor's report: what `deno task doctor` prints, and `--json` emits.
 * Plain data, never a secret.
 *
 * @module
 */

import type { ConfigIssue } from "../src/errors.ts";

/**
 * A step of connecting to one host, in order: `dns`, `tcp`, `tls`, `auth`,
 * `server`, `latency` (`open` instead of the network steps for PGlite).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepName } from "./types.ts";
 * const first: StepName = "dns";
 * assert(first === "dns");
 * ```
 */
export type StepName = "dns" | "tcp" | "tls" | "auth" | "open" | "server" | "latency";

/**
 * One step's outcome. The first `fail` ends the host's steps; `cause` and
 * `fix` say why and what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Step } from "./types.ts";
 * const step: Step = { name: "tcp", status: "fail", detail: "connection refused", code: "ECONNREFUSED" };
 * assert(step.status === "fail");
 * ```
 */
export interface Step {
  /** Which step. */
  name: StepName;
  /** `ok`, `fail`, or `skip` (not applicable: `sslmode=disable`, an IP address needs no DNS...). */
  status: "ok" | "fail" | "skip";
  /** What happened, one line. */
  detail: string;
  /** How long the step took, ms. */
  ms?: number;
  /** SQLSTATE or network/TLS error code, on failure. */
  code?: string;
  /** The likely cause, on failure. */
  cause?: string;
  /** What to do about it, on failure. */
  fix?: string;
  /** Details for scripts: addresses, certificate, server numbers. */
  data?: Record<string, unknown>;
}

/**
 * The steps for one configured host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HostReport } from "./types.ts";
 * const host: HostReport = { host: "db", port: 5432, ok: true, steps: [] };
 * assert(host.ok);
 * ```
 */
export interface HostReport {
  /** Host as configured. */
  host: string;
  /** Port as configured. */
  port: number;
  /** Every step passed. */
  ok: boolean;
  /** The steps run, up to and including the first failure. */
  steps: Step[];
}

/**
 * What the server says about its connection limits and itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ServerFacts } from "./types.ts";
 * const facts: ServerFacts = { version: "16.4", maxConnections: 100, superuserReserved: 3, reserved: 0, inUse: 5,
 *   superuser: false, roleLimit: -1, databaseLimit: -1, user: "app", database: "app", inRecovery: false };
 * assert(facts.maxConnections - facts.superuserReserved === 97);
 * ```
 */
export interface ServerFacts {
  /** `server_version`. */
  version: string;
  /** `max_connections`. */
  maxConnections: number;
  /** `superuser_reserved_connections`. */
  superuserReserved: number;
  /** `reserved_connections` (PostgreSQL 16+; 0 before). */
  reserved: number;
  /** Client connections open now, the doctor's own included. */
  inUse: number;
  /** Whether the configured user is a superuser. */
  superuser: boolean;
  /** The role's `CONNECTION LIMIT`; -1 for none. */
  roleLimit: number;
  /** The database's `CONNECTION LIMIT`; -1 for none. */
  databaseLimit: number;
  /** `current_user`. */
  user: string;
  /** `current_database()`. */
  database: string;
  /** A standby (`pg_is_in_recovery()`). */
  inRecovery: boolean;
  /** `default_transaction_read_only` is on. */
  readOnly?: boolean;
}

/**
 * A judgement about the configuration or the pool: `warn` for a risky
 * choice, `info` for a note, `ok` for a check that passed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Finding } from "./types.ts";
 * const f: Finding = { level: "warn", key: "sslmode", message: "sslmode=require does not check the server's certificate" };
 * assert(f.level === "warn");
 * ```
 */
export interface Finding {
  /** How much it matters. */
  level: "ok" | "info" | "warn";
  /** The config key concerned. */
  key?: string;
  /** What was found. */
  message: string;
  /** What to do about it. */
  fix?: string;
}

/**
 * One configuration value as printed: secrets masked, durations readable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ConfigEntry } from "./types.ts";
 * const e: ConfigEntry = { key: "password", value: "***", source: "env DB_PASSWORD (config/dewey.yaml:7)" };
 * assert(e.value === "***");
 * ```
 */
export interface ConfigEntry {
  /** Config key. */
  key: string;
  /** The value, secrets as `***`. */
  value: string;
  /** Where it came from: a file line, an env var, `DATABASE_URL`, `default`. */
  source: string;
  /** What the key means, from the configuration's key table. */
  description?: string;
}

/**
 * The whole report. `exitCode`: 0 healthy (warnings allowed), 1 a step
 * failed, 2 the configuration is invalid or could not be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DoctorReport } from "./types.ts";
 * const r: DoctorReport = { target: "config/dewey.yaml", ok: false, exitCode: 2, hosts: [], pool: [], warnings: [],
 *   summary: "invalid configuration" };
 * assert(!r.ok && r.exitCode === 2);
 * ```
 */
export interface DoctorReport {
  /** What was checked: a file, a URL with its password masked, or the environment. */
  target: string;
  /** Healthy: the configuration is valid and every host passed every step. */
  ok: boolean;
  /** The process exit code. */
  exitCode: 0 | 1 | 2;
  /** The configuration, when it loaded. */
  config?: ConfigEntry[];
  /** Why the configuration did not load. */
  configIssues?: ConfigIssue[];
  /** Each host's steps. */
  hosts: HostReport[];
  /** What the first reachable server said about itself. */
  server?: ServerFacts;
  /** The pool settings against the server's limits. */
  pool: Finding[];
  /** Risky choices in the configuration. */
  warnings: Finding[];
  /** One line: healthy, or what failed. */
  summary: string;
}
