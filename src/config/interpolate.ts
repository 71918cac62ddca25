/**
 * Environment-variable interpolation in configuration strings, shell style:
 * `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
 * `${VAR?message}`, and `$$` for a literal `$`.
 *
 * @module
 */

/**
 * An environment: variable name to value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Env } from "./interpolate.ts";
 * const env: Env = { DB_HOST: "db", UNSET: undefined };
 * assert(env.DB_HOST === "db");
 * ```
 */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The outcome of {@linkcode interpolate}: the text and the variables used, or why it failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interpolate, type Interpolation } from "./interpolate.ts";
 * const result: Interpolation = interpolate("${A:-x}", {});
 * assert(result.ok && result.value === "x");
 * ```
 */
export type Interpolation =
  | { readonly ok: true; readonly value: string; readonly vars: readonly string[] }
  | { readonly ok: false; readonly message: string };

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([\s\S]*))?$/;

class Problem {
  constructor(readonly message: string) {}
}

/**
 * Replaces `${...}` references in `text` with values from `env`.
 *
 * - `${VAR}`: the value; an unset variable is an error (an empty one is fine).
 * - `${VAR:-default}`: `default` when `VAR` is unset or empty (`${VAR-default}`: only when unset).
 * - `${VAR:?message}`: an error saying `message` when `VAR` is unset or empty (`${VAR?message}`: only when unset).
 * - `$$` is a literal `$`; any other `$` is kept as it is.
 *
 * Defaults may themselves hold references. A value taken from the environment
 * is used verbatim, never interpolated again, so a password containing `${X}`
 * stays intact. `vars` lists the variables whose values were used, for
 * provenance. Error messages name variables but never quote `text`, which may
 * be a secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interpolate } from "./interpolate.ts";
 * const env = { DB_HOST: "db.internal", TRICKY: "${NOT_EXPANDED}" };
 * const host = interpolate("${DB_HOST}:${DB_PORT:-5432}", env);
 * assert(host.ok && host.value === "db.internal:5432" && host.vars.join() === "DB_HOST");
 * const tricky = interpolate("${TRICKY}", env);
 * assert(tricky.ok && tricky.value === "${NOT_EXPANDED}");
 * const missing = interpolate("${DB_USER}", env);
 * assert(!missing.ok && missing.message === "missing required environment variable DB_USER");
 * ```
 */
export function interpolate(text: string, env: Env): Interpolation {
  const vars: string[] = [];
  try {
    return { ok: true, value: expand(text, env, vars), vars };
  } catch (e) {
    if (e instanceof Problem) return { ok: false, message: e.message };
    throw e;
  }
}

function expand(text: string, env: Env, vars: string[]): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) return out + text.slice(i);
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next !== "{") {
      out += "$";
      i = dollar + (next === "$" ? 2 : 1);
      continue;
    }
    const end = closingBrace(text, dollar + 2);
    if (end < 0) throw new Problem('unterminated "${": close it with "}", or write "$$" for a literal "$"');
    out += substitute(text.slice(dollar + 2, end), env, vars);
    i = end + 1;
  }
  return out;
}

/** Index of the `}` closing a `${` whose body starts at `start`, skipping nested references. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  for (let j = start; j < text.length; j++) {
    if (text[j] === "$" && (text[j + 1] === "$" || text[j + 1] === "{")) {
      if (text[j + 1] === "{") depth++;
      j++;
    } else if (text[j] === "}") {
      if (depth === 0) return j;
      depth--;
    }
  }
  return -1;
}

function substitute(body: string, env: Env, vars: string[]): string {
  const match = REFERENCE.exec(body);
  if (!match) {
    throw new Problem('invalid variable reference: expected "${NAME}", "${NAME:-default}" or "${NAME:?message}"');
  }
  const [, name, operator, rest] = match;
  const value = env[name];
  const usable = operator?.startsWith(":") ? value !== undefined && value !== "" : value !== undefined;
  if (usable) {
    vars.push(name);
    return value!;
  }
  if (operator === undefined) throw new Problem(`missing required environment variable ${name}`);
  if (operator.endsWith("-")) return expand(rest, env, vars);
  const state = value === undefined ? "not set" : "empty";
  throw new Problem(
    rest ? `${rest} (environment variable ${name} is ${state})` : `environment variable ${name} is ${state}`,
  );
}
