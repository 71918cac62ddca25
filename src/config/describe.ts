/**
 * How error messages show a value that was found where something else was
 * expected. Secret keys use {@linkcode describeKind}, which never shows the value.
 *
 * @module
 */

import { maskCredentials } from "./secrets.ts";

/**
 * The value as it appears in an error message: strings quoted (with any
 * credentials they hold masked), lists and objects summarised (their items
 * may hold secrets).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeValue } from "./describe.ts";
 * assert(describeValue("54x") === '"54x"');
 * assert(describeValue(-1) === "-1");
 * ```
 */
export function describeValue(value: unknown): string {
  if (typeof value === "string") {
    const shown = maskCredentials(value);
    return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
  }
  if (typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  return describeKind(value);
}

/**
 * What kind of value was found, without the value itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeKind } from "./describe.ts";
 * assert(describeKind(12345) === "a number");
 * assert(describeKind(["a"]) === "a list");
 * ```
 */
export function describeKind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return typeof value === "number" ? "a number" : `a ${typeof value}`;
}
