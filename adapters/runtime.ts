/**
 * The runtime module for Deno and Node: file and environment access and
 * `AsyncLocalStorage`, installed into the core's {@linkcode setPlatform}.
 * Importing `@dewey/db` installs it; the edge entry does not.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { access, readFile } from "node:fs/promises";
import process from "node:process";
import { setPlatform } from "../src/platform.ts";

const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;

/** Installs the Deno/Node services into the core. Idempotent. */
export function installRuntime(): void {
  setPlatform({
    env: () => {
      try {
        return { ...process.env };
      } catch {
        return {}; // no --allow-env: behave as an empty environment
      }
    },
    readTextFile: (path) => readFile(path, "utf8"),
    fileExists: (path) => access(path).then(() => true, () => false),
    createScope: () => new AsyncLocalStorage(),
    unrefTimer: (handle) => {
      if (typeof handle === "number") deno?.unrefTimer?.(handle);
    },
  });
}

installRuntime();
