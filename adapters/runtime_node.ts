/**
 * The runtime for Deno and Node: file and environment access,
 * `AsyncLocalStorage` for scoped sessions, the postgres.js, PGlite and Neon
 * adapters (each imported on first use), host lists and read replicas.
 * `@dewey/db` binds it; pass it yourself to the core's `DatabaseConnection`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NODE_RUNTIME } from "./runtime_node.ts";
 * assert.deepEqual(Object.keys(NODE_RUNTIME.drivers).sort(), ["neon", "pglite", "postgres"]);
 * ```
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync, statSync } from "node:fs";
import process from "node:process";
import { libpqFiles } from "../src/config/libpq_files.ts";
import type { FileInfo, Platform } from "../src/contracts.ts";
import type { Runtime } from "../src/runtime.ts";

const deno = (globalThis as {
  Deno?: {
    unrefTimer?: (id: number) => void;
    env?: { toObject(): Record<string, string> };
    permissions?: { querySync?(d: { name: "read"; path: string }): { state: string } };
  };
}).Deno;

/** Whether `path` may be read without a permission prompt (Deno); always on Node. */
function mayRead(path: string): boolean {
  try {
    const state = deno?.permissions?.querySync?.({ name: "read", path }).state;
    return state === undefined || state === "granted";
  } catch {
    return false;
  }
}

function fileInfo(path: string): FileInfo | undefined {
  if (!mayRead(path)) return undefined;
  try {
    const s = statSync(path);
    const kind = s.isFile() ? "file" : s.isDirectory() ? "directory" : s.isSocket() ? "socket" : "other";
    return { kind, mode: s.mode & 0o7777 };
  } catch {
    return undefined;
  }
}

/**
 * Deno's and Node's host services.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NODE_PLATFORM } from "./runtime_node.ts";
 * assert(typeof NODE_PLATFORM.env?.() === "object");
 * ```
 */
export const NODE_PLATFORM: Platform = Object.freeze({
  env: () => {
    try {
      // Deno's process.env asks for each variable on its own: toObject() is one call.
      return deno?.env ? deno.env.toObject() : { ...process.env };
    } catch {
      return {}; // no --allow-env: behave as an empty environment
    }
  },
  // node:fs/promises only when a config file is read: loading it shows in the cold start.
  readTextFile: async (path: string) => (await import("node:fs/promises")).readFile(path, "utf8"),
  fileExists: async (path: string) => (await import("node:fs/promises")).access(path).then(() => true, () => false),
  readTextFileSync: (path: string) => readFileSync(path, "utf8"),
  statSync: fileInfo,
  createScope: <T>() => new AsyncLocalStorage<T>(),
  unrefTimer: (handle: unknown) => {
    if (typeof handle === "number") deno?.unrefTimer?.(handle);
  },
});

/**
 * The Deno/Node runtime: every adapter and optional part, each loaded on first use.
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "../src/database.ts";
 * const db = new DatabaseConnection("postgres://app@localhost/app", { runtime: NODE_RUNTIME });
 * ```
 */
export const NODE_RUNTIME: Runtime = Object.freeze({
  platform: NODE_PLATFORM,
  drivers: Object.freeze({
    postgres: async () => (await import("./postgres.ts")).createDriver,
    pglite: async () => (await import("./pglite.ts")).createDriver,
    neon: async () => (await import("./neon.ts")).createDriver,
  }),
  libpqFiles: libpqFiles(NODE_PLATFORM),
  hostList: async () => (await import("../src/connect_hosts.ts")).hostListConnector,
  replicas: async () => (await import("../src/replicas.ts")).replicaRouter,
});
