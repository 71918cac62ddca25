/**
 * What the doctor takes from the Deno/Node runtime ({@linkcode NODE_RUNTIME}): the environment, files,
 * and the drivers. The postgres driver is built with a TLS observer, so the report says what the
 * adapter itself negotiated and verified.
 *
 * @module
 */

import { createDriver, type TlsEvent } from "../adapters/postgres.ts";
import { NODE_RUNTIME } from "../adapters/runtime_node.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type { Driver, Platform } from "../src/contracts.ts";
import { resolveDriver } from "../src/runtime.ts";

/** Files and environment, as `getConnection` has them on Deno and Node. */
export const DOCTOR_PLATFORM: Platform = NODE_RUNTIME.platform;

/**
 * The process's environment; empty without permission to read it.
 *
 * @example
 * ```ts ignore
 * const env = processEnv();
 * ```
 */
export function processEnv(): Readonly<Record<string, string | undefined>> {
  return DOCTOR_PLATFORM.env?.() ?? {};
}

/**
 * Whether `path` exists.
 *
 * @example
 * ```ts ignore
 * if (await fileExists("config/dewey.yaml")) console.log("found");
 * ```
 */
export async function fileExists(path: string): Promise<boolean> {
  return await DOCTOR_PLATFORM.fileExists?.(path) ?? false;
}

/**
 * The driver `config.driver` names, as an application gets it; the postgres driver tells `observeTls`
 * of every TLS decision.
 *
 * @example
 * ```ts ignore
 * const events: TlsEvent[] = [];
 * const driver = await loadDriver(config, (e) => events.push(e));
 * ```
 */
export async function loadDriver(config: DatabaseConfig, observeTls: (event: TlsEvent) => void): Promise<Driver> {
  if (config.driver === "postgres") return await createDriver(config, { observeTls });
  return await resolveDriver(config, NODE_RUNTIME);
}
