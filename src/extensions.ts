/**
 * Optional parts of the core, wired in by the entry points rather than
 * imported by the facade. Each registers itself here when its module is
 * imported; `@dewey/db` registers loaders that import them when a
 * configuration first needs them (a cold start with one host loads neither),
 * `@dewey/db/edge` registers nothing, so a Worker bundle carries only what one
 * database endpoint needs. A configuration that needs a part the entry point
 * left out fails with a `ConfigError` naming it.
 *
 * @module
 */

import type { DatabaseConfig, HostPort } from "./config/types.ts";
import type { ConnectorOptions } from "./dial.ts";
import type { Driver } from "./driver.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import type { Emitter } from "./events.ts";
import type { HealthSnapshot } from "./health.ts";
import type { Connector, Pool } from "./pool.ts";

/** Builds the pool's connector for a host list (`src/connector.ts`). */
export type HostListConnector = (
  driver: Driver,
  config: DatabaseConfig,
  targets: readonly HostPort[],
  options?: ConnectorOptions,
) => Connector;

/** What the facade asks of a replica router. */
export interface Router {
  /** A usable replica pool, or undefined: use the primary. */
  pick(): Promise<Pool | undefined>;
  /** A replica just failed a caller. */
  failed(pool: Pool, error: unknown): void;
  /** The replicas' part of the health snapshot; undefined without replicas. */
  health(): { degraded: boolean; replicas: NonNullable<HealthSnapshot["replicas"]> } | undefined;
  /** Stops checking. */
  close(): Promise<void>;
}

/** Options of a {@linkcode ReplicaRouterFactory}. */
export interface RouterOptions {
  /** `max_replica_lag` in ms; unset = replicas are not measured. */
  maxLag?: number;
  /** Whether the driver pipelines (the lag query then shares a connection instead of leasing one). */
  pipelining: boolean;
  /** Bound on one check, ms. */
  checkTimeout: number;
  /** Where `failover` events go. */
  events: Emitter;
  /** The primary's `host:port` list, for events. */
  primary: string;
}

/** Builds the router over replica pools (`src/replicas.ts`); `pools[i]` serves `targets[i]`. */
export type ReplicaRouterFactory = (
  pools: readonly Pool[],
  targets: readonly HostPort[],
  options: RouterOptions,
) => Router;

/** The optional parts; each is set by its module when imported. */
export interface Extensions {
  /** Host lists, `load_balance_hosts` and `target_session_attrs` other than `any`. */
  hostList?: HostListConnector;
  /** Read replicas (`replicas`, `max_replica_lag`). */
  replicas?: ReplicaRouterFactory;
}

/** Imports that install a part (its module registers itself), run when a configuration first needs it. */
export type ExtensionLoaders = { [K in keyof Extensions]?: () => Promise<unknown> };

/** The parts installed so far. */
export const extensions: Extensions = {};
const loaders: ExtensionLoaders = {};

/**
 * Installs optional parts (their own modules call it when imported), or
 * loaders that import them on first need (entry points).
 *
 * @example
 * ```ts
 * import { extend } from "./extensions.ts";
 * extend({ load: { replicas: () => import("./replicas.ts") } });
 * ```
 */
export function extend(parts: Extensions & { load?: ExtensionLoaders }): void {
  const { load, ...installed } = parts;
  Object.assign(loaders, load);
  Object.assign(extensions, installed);
}

/** Without replicas: every read goes to the primary. */
const NO_REPLICAS: Router = {
  pick: () => Promise.resolve(undefined),
  failed() {},
  health: () => undefined,
  close: () => Promise.resolve(),
};

/**
 * The router for `pools` (the no-op one when there are none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replicaRouter } from "./extensions.ts";
 * import { Emitter } from "./events.ts";
 * const router = replicaRouter([], [], { pipelining: true, checkTimeout: 1000, events: new Emitter(), primary: "db:5432" });
 * assert(router.health() === undefined);
 * ```
 */
export function replicaRouter(pools: readonly Pool[], targets: readonly HostPort[], options: RouterOptions): Router {
  if (pools.length === 0) return NO_REPLICAS;
  return extensions.replicas!(pools, targets, options);
}

/** Whether the primary's connector must walk a host list or check server roles. */
function needsHostList(config: DatabaseConfig): boolean {
  return config.hosts.length > 1 || config.target_session_attrs !== "any";
}

/**
 * Loads the parts `config` needs, or fails with a `ConfigError` naming those
 * this entry point left out.
 *
 * @example
 * ```ts
 * import { loadExtensions } from "./extensions.ts";
 * import { parseConfig } from "./config/parse.ts";
 * await loadExtensions(parseConfig("postgres://app@db/app", { env: {} })); // one host, no replicas: nothing needed
 * ```
 */
export async function loadExtensions(config: DatabaseConfig): Promise<void> {
  const hostList = needsHostList(config);
  const replicas = config.replicas.length > 0;
  if (hostList && !extensions.hostList) await loaders.hostList?.();
  if (replicas && !extensions.replicas) await loaders.replicas?.();
  const issues: ConfigIssue[] = [];
  const missing = (key: "host" | "target_session_attrs" | "replicas", what: string) =>
    issues.push({
      path: `database.postgres.${key}`,
      message: `${what} are not in this entry point (@dewey/db/edge connects to one host); use @dewey/db`,
      source: config.sources[key],
    });
  if (hostList && !extensions.hostList) {
    if (config.hosts.length > 1) missing("host", "host lists");
    else missing("target_session_attrs", "server role checks (target_session_attrs)");
  }
  if (replicas && !extensions.replicas) missing("replicas", "read replicas");
  if (issues.length) throw new ConfigError(issues);
}
