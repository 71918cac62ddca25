/**
 * The `Runtime`: everything a `DatabaseConnection` may use beyond the core,
 * passed to it explicitly (the entry points bind one, as Hono's presets do),
 * and how the core takes from it what a configuration needs. Nothing here is
 * filled by importing a module.
 *
 * @module
 */

import type { LibpqFiles } from "./config/libpq_files.ts";
import type { DatabaseConfig } from "./config/types.ts";
import type {
  Driver,
  DriverFactory,
  DriverLoader,
  HostListConnector,
  Platform,
  ReplicaRouterFactory,
} from "./contracts.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";

/**
 * What a runtime gives the core: host services, the adapters it ships (loaded
 * on first use), and the optional parts of the core it includes. The edge
 * runtime lists fewer, which keeps Worker bundles small.
 *
 * @example A runtime with one adapter (loaded on first use) and no host services
 * ```ts
 * import type { Runtime } from "./runtime.ts";
 * import type { Driver, DriverFactory } from "./contracts.ts";
 * const createDriver: DriverFactory = (): Driver => { throw new Error("an adapter's createDriver"); };
 * const runtime: Runtime = { platform: {}, drivers: { postgres: () => createDriver } };
 * ```
 */
export interface Runtime {
  /** Files, environment, `AsyncLocalStorage`, timers. */
  readonly platform: Platform;
  /** Adapters by `driver:` name. */
  readonly drivers: Readonly<Record<string, DriverLoader>>;
  /** libpq's files: service and password files, the default Unix socket (`src/config/libpq_files.ts`). */
  readonly libpqFiles?: LibpqFiles;
  /** Host lists, `load_balance_hosts` and `target_session_attrs` other than `any` (`src/connect_hosts.ts`). */
  readonly hostList?: () => Promise<HostListConnector>;
  /** Read replicas (`src/replicas.ts`). */
  // deno-lint-ignore no-explicit-any -- the pools are the core's own type, kept out of the public one
  readonly replicas?: () => Promise<ReplicaRouterFactory<any>>;
}

/**
 * No host services, no adapters, no optional parts: what the core has when
 * given nothing. Enough with an explicit `driver` and a single host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BARE_RUNTIME } from "./runtime.ts";
 * assert(Object.keys(BARE_RUNTIME.drivers).length === 0);
 * ```
 */
export const BARE_RUNTIME: Runtime = Object.freeze({ platform: {}, drivers: {} });

/**
 * The driver for `config`: `choice` (a driver or a factory) when given, else
 * the runtime's adapter named by `config.driver`; a `ConfigError` when the
 * runtime has none by that name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BARE_RUNTIME, resolveDriver } from "./runtime.ts";
 * import { parseConfig } from "./config/parse.ts";
 * const config = parseConfig("postgres://app@db/app", { env: {} });
 * await assert.rejects(resolveDriver(config, BARE_RUNTIME), /no adapter for driver "postgres"/);
 * ```
 */
export async function resolveDriver(
  config: DatabaseConfig,
  runtime: Runtime,
  choice?: Driver | DriverFactory,
): Promise<Driver> {
  if (choice !== undefined) return typeof choice === "function" ? await choice(config) : choice;
  const load = runtime.drivers[config.driver];
  if (!load) {
    const known = Object.keys(runtime.drivers).join(", ") || "none";
    throw new ConfigError([{
      path: "database.postgres.driver",
      message: `no adapter for driver "${config.driver}" in this entry point (available: ${known})`,
      source: config.sources.driver,
    }]);
  }
  const factory = await load();
  return await factory(config);
}

/** The optional parts a configuration needs, loaded. */
export interface OptionalParts {
  /** Set when the configuration has a host list or asks for a server role. */
  hostList?: HostListConnector;
  /** Set when the configuration has replicas. */
  // deno-lint-ignore no-explicit-any -- see Runtime.replicas
  replicas?: ReplicaRouterFactory<any>;
}

/**
 * Loads the optional parts `config` needs from `runtime`, or fails with a
 * `ConfigError` naming those the runtime leaves out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BARE_RUNTIME, loadOptionalParts } from "./runtime.ts";
 * import { parseConfig } from "./config/parse.ts";
 * const parts = await loadOptionalParts(parseConfig("postgres://app@db/app", { env: {} }), BARE_RUNTIME);
 * assert(parts.hostList === undefined && parts.replicas === undefined); // one host, no replicas
 * ```
 */
export async function loadOptionalParts(config: DatabaseConfig, runtime: Runtime): Promise<OptionalParts> {
  const wantsHostList = config.hosts.length > 1 || config.target_session_attrs !== "any";
  const wantsReplicas = config.replicas.length > 0;
  const parts: OptionalParts = {};
  if (wantsHostList && runtime.hostList) parts.hostList = await runtime.hostList();
  if (wantsReplicas && runtime.replicas) parts.replicas = await runtime.replicas();
  const issues: ConfigIssue[] = [];
  const missing = (key: "host" | "target_session_attrs" | "replicas", what: string) =>
    issues.push({
      path: `database.postgres.${key}`,
      message: `${what} are not in this entry point (@dewey/db/edge connects to one host); use @dewey/db`,
      source: config.sources[key],
    });
  if (wantsHostList && !parts.hostList) {
    if (config.hosts.length > 1) missing("host", "host lists");
    else missing("target_session_attrs", "server role checks (target_session_attrs)");
  }
  if (wantsReplicas && !parts.replicas) missing("replicas", "read replicas");
  if (issues.length) throw new ConfigError(issues);
  return parts;
}

/**
 * A function that lets a timer handle not keep the process alive: `unref()`
 * where handles have it (Node), else the platform's hook (Deno's numeric ids).
 *
 * @example
 * ```ts
 * import { timerUnref } from "./runtime.ts";
 * const unref = timerUnref({});
 * const handle = setTimeout(() => {}, 10);
 * unref(handle);
 * clearTimeout(handle);
 * ```
 */
export function timerUnref(platform: Platform): (handle: unknown) => void {
  return (handle) => {
    const h = handle as { unref?: () => void };
    if (typeof h === "object" && h !== null && typeof h.unref === "function") h.unref();
    else platform.unrefTimer?.(handle);
  };
}
