/**
 * Cloudflare Workers lifecycle: I/O objects (sockets, WebSockets) cannot
 * cross requests there, so {@linkcode withDatabase} gives each request its own
 * `DatabaseConnection`, runs the handler, and closes it through
 * `ctx.waitUntil` without delaying the response. No timer outlives the
 * request: no health checks, no idle reaper, no lifetime timer, no `pool_min`.
 *
 * @module
 */

import { ConfigError } from "../src/errors.ts";
import { DatabaseConnectionBase, type DatabaseConnectionOptions } from "../src/database.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import { type Layer, objectLayer, urlLayer } from "../src/config/layers.ts";
import { resolveLayers } from "../src/config/resolve.ts";
import { EDGE_RUNTIME } from "./runtime_edge.ts";

/** The part of a Workers `ExecutionContext` that {@linkcode withDatabase} uses. */
export interface WorkerContext {
  /** Keeps the Worker alive until `promise` settles, after the response was sent. */
  waitUntil(promise: Promise<unknown>): void;
}

/** Options of {@linkcode withDatabase}. */
export interface WithDatabaseOptions extends Omit<DatabaseConnectionOptions, "env"> {
  /**
   * The configuration: a URL or an object (`{ postgres: { ... } }`, `${VAR}`
   * interpolated from `env`). Default: the binding named by `binding`.
   */
  config?: string | Record<string, unknown>;
  /**
   * The binding holding the connection URL: a string (a `vars` entry or a
   * secret) or a Hyperdrive binding (`{ connectionString }`). Default `DATABASE_URL`.
   */
  binding?: string;
}

/** Settings no per-request connection may change: each would start a timer or open connections in the background. */
const PER_REQUEST = { pool_min: 0, health_check_interval: 0, pool_idle_timeout: 0, pool_max_lifetime: 0 };
/** Where `driver` is left unset, the edge's own adapter. */
const EDGE_DEFAULTS = { driver: "neon" };

const cache = new WeakMap<object, { source: unknown; config: DatabaseConfig }>();

/**
 * Resolves the per-request configuration from `env` (cached per `env` object,
 * which Workers keeps across requests): `options.config` or the binding,
 * `${VAR}` and `PG*` from the string bindings, `driver` defaulting to `neon`,
 * and the per-request settings above forced.
 *
 * @throws {ConfigError} when there is no configuration or it is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { workerConfig } from "./workers.ts";
 * const config = workerConfig({ DATABASE_URL: "postgres://app@db.example.com/app" });
 * assert(config.driver === "neon" && config.pool_min === 0 && config.health_check_interval === 0);
 * ```
 */
export function workerConfig(env: Record<string, unknown>, options: WithDatabaseOptions = {}): DatabaseConfig {
  const binding = options.binding ?? "DATABASE_URL";
  const raw = options.config ?? env[binding];
  const source = typeof raw === "object" && raw !== null && typeof (raw as { connectionString?: unknown })
        .connectionString === "string"
    ? (raw as { connectionString: string }).connectionString // a Hyperdrive binding
    : raw;
  const hit = cache.get(env);
  if (hit && hit.source === source) return hit.config;
  if (typeof source !== "string" && (typeof source !== "object" || source === null)) {
    throw new ConfigError([{
      path: "database.postgres",
      message: `no configuration: set the ${binding} binding (a var or secret holding a postgres:// URL) ` +
        "or pass options.config",
      source: `env ${binding}`,
    }]);
  }
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === "string") strings[k] = v;
  const layers: Layer[] = [
    objectLayer(PER_REQUEST, { env: strings, origin: "withDatabase (per request)" }),
    typeof source === "string"
      ? urlLayer(source, options.config !== undefined ? "url" : `env ${binding}`)
      : objectLayer(source, { env: strings }),
    objectLayer(EDGE_DEFAULTS, { env: strings, origin: "edge default" }),
  ];
  const config = resolveLayers(layers, strings);
  cache.set(env, { source, config });
  return config;
}

/**
 * Runs `fn` with a `DatabaseConnection` made for this request, then closes it
 * with `ctx.waitUntil` (the response does not wait for the close). The
 * configuration comes from `env.DATABASE_URL` (or `options.config` /
 * `options.binding`); `driver` defaults to `neon`. Inside a `getSession`
 * callback, `db.query` joins the session where the Worker has
 * `AsyncLocalStorage` (the `nodejs_als` or `nodejs_compat` flag); without
 * either, run the transaction's statements on the session (`session.query`).
 *
 * @example
 * ```ts ignore
 * import { withDatabase } from "jsr:@dewey/db/edge";
 *
 * export default {
 *   fetch: (req: Request, env: Record<string, unknown>, ctx: ExecutionContext) =>
 *     withDatabase(env, ctx, async (db) => Response.json(await db.sql`SELECT now() AS now`)),
 * };
 * ```
 */
export async function withDatabase<T>(
  env: Record<string, unknown>,
  ctx: WorkerContext,
  fn: (db: DatabaseConnectionBase) => Promise<T>,
  options: WithDatabaseOptions = {},
): Promise<T> {
  const { config: _config, binding: _binding, ...connectionOptions } = options;
  const db = new DatabaseConnectionBase(workerConfig(env, options), { runtime: EDGE_RUNTIME, ...connectionOptions });
  try {
    return await fn(db);
  } finally {
    ctx.waitUntil(db.close());
  }
}
