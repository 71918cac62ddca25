/**
 * The runtime for Deno Deploy, Cloudflare Workers and other runtimes without
 * raw TCP or files: the Neon adapter (PostgreSQL over WebSocket), the
 * environment only from explicit records, `AsyncLocalStorage` where the
 * runtime has it. No host lists or replicas, no YAML: Worker bundles stay small.
 * `@dewey/db/edge` binds it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EDGE_RUNTIME } from "./runtime_edge.ts";
 * assert.deepEqual(Object.keys(EDGE_RUNTIME.drivers), ["neon"]);
 * assert(EDGE_RUNTIME.hostList === undefined && EDGE_RUNTIME.platform.readTextFile === undefined);
 * ```
 *
 * @module
 */

import type { ScopeStorage } from "../src/contracts.ts";
import type { Runtime } from "../src/runtime.ts";
import { createDriver as createNeonDriver } from "./neon.ts";

// Scoped sessions (`db.query` inside a `getSession` callback joining that session) need AsyncLocalStorage: Deno
// Deploy has it, Workers with the nodejs_als or nodejs_compat flag too. Imported now, not at the first session, so
// the first request is scoped like the others; where the import fails, sessions work unscoped.
let Storage: (new <T>() => ScopeStorage<T>) | undefined;
import("node:async_hooks").then((m) => Storage = m.AsyncLocalStorage, () => {});

/**
 * The edge runtime: the Neon adapter, no files, scoped sessions where `AsyncLocalStorage` exists.
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "../src/database.ts";
 * const db = new DatabaseConnection(env.DATABASE_URL, { runtime: EDGE_RUNTIME, env });
 * ```
 */
export const EDGE_RUNTIME: Runtime = Object.freeze({
  platform: { createScope: <T>() => Storage && new Storage<T>() },
  drivers: { neon: () => createNeonDriver },
});
