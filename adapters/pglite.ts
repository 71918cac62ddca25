/**
 * The PGlite adapter (embedded PostgreSQL in WebAssembly). Placeholder until it lands.
 *
 * @module
 */

import type { DatabaseConfig } from "../src/config/types.ts";
import type { Driver } from "../src/driver.ts";
import { ConfigError } from "../src/errors.ts";

/** Creates the PGlite driver. */
export function createDriver(config: DatabaseConfig): Driver {
  throw new ConfigError([{
    path: "database.postgres.driver",
    message: "pglite is not available yet",
    source: config.sources.driver,
  }]);
}
