/**
 * What the runtime-agnostic core needs from its host runtime, injected by a
 * runtime module (`adapters/runtime.ts` on Deno and Node) instead of imported,
 * so `src/` never touches `Deno.*` or `node:fs`. On the edge nothing is
 * injected and the core does without: no files, env only from explicit records.
 *
 * @module
 */

/** The minimal `AsyncLocalStorage` surface the core uses for scoped sessions. */
export interface ScopeStorage<T> {
  /** The value of the innermost `run` in this async context. */
  getStore(): T | undefined;
  /** Runs `fn` with `store` as the context value. */
  run<R>(store: T, fn: () => R): R;
}

/** Host-runtime services. Every member is optional. */
export interface Platform {
  /** The process environment, when the runtime has one and permits reading it. */
  env?: () => Record<string, string | undefined>;
  /** Reads a UTF-8 file. */
  readTextFile?: (path: string) => Promise<string>;
  /** Whether a file exists. */
  fileExists?: (path: string) => Promise<boolean>;
  /** Builds an `AsyncLocalStorage`-like store; undefined while none is available (yet). */
  createScope?: <T>() => ScopeStorage<T> | undefined;
  /** Lets a timer not keep the process alive. */
  unrefTimer?: (handle: unknown) => void;
}

/** The injected services; empty until a runtime module fills it. */
export const platform: Platform = {};

/**
 * Installs host-runtime services (called once by a runtime module).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { platform, setPlatform } from "./platform.ts";
 * setPlatform({ env: () => ({ PGHOST: "db" }) });
 * assert(platform.env?.().PGHOST === "db");
 * ```
 */
export function setPlatform(services: Platform): void {
  Object.assign(platform, services);
}

/** Lets a timer handle (from `setTimeout` or `setInterval`) not keep the process alive. */
export function unref(handle: unknown): void {
  const h = handle as { unref?: () => void };
  if (typeof h === "object" && h !== null && typeof h.unref === "function") h.unref();
  else platform.unrefTimer?.(handle);
}

/** `setTimeout` that does not keep the process alive. */
export function unrefTimeout(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const handle = setTimeout(fn, ms);
  unref(handle);
  return handle;
}
