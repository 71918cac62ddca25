/**
 * Which adapter serves which `driver:` name. Entry points register the
 * adapters they ship (lazily, so an unused driver is never loaded); the core
 * never imports an adapter.
 *
 * @module
 */

import type { DatabaseConfig } from "./config/types.ts";
import type { Driver, DriverFactory } from "./driver.ts";
import { ConfigError } from "./errors.ts";

/** Loads an adapter's `createDriver` on first use. */
export type DriverLoader = () => DriverFactory | Promise<DriverFactory>;
const loaders = new Map<string, DriverLoader>();

/**
 * Makes `name` (the config's `driver:` value) resolve to an adapter.
 *
 * @example
 * ```ts
 * import { registerDriver } from "./registry.ts";
 * registerDriver("postgres", async () => (await import("../adapters/postgres.ts")).createDriver);
 * ```
 */
export function registerDriver(name: string, load: DriverLoader): void {
  loaders.set(name, load);
}

/** Builds the driver `config.driver` names; a `ConfigError` if no entry point registered it. */
export async function resolveDriver(config: DatabaseConfig): Promise<Driver> {
  const load = loaders.get(config.driver);
  if (!load) {
    const known = [...loaders.keys()].join(", ") || "none";
    throw new ConfigError([{
      path: "database.postgres.driver",
      message: `no adapter for driver "${config.driver}" in this entry point (available: ${known})`,
      source: config.sources.driver,
    }]);
  }
  const factory = await load();
  return await factory(config);
}
