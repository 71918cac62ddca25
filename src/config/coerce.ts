/**
 * The building blocks of the schema: zod/mini schemas that coerce the strings
 * env vars, URLs and connection strings give ("5432", "30s", "yes") into typed
 * values, each with an error that says what was expected and what was found.
 *
 * @module
 */

import * as z from "zod/mini";
import { Secret } from "../redact.ts";
import { describeKind, describeValue } from "./describe.ts";
import { parseDuration } from "./duration.ts";
import { unsupportedValue } from "./libpq.ts";
import { closest } from "./suggest.ts";

type Raw = { readonly input?: unknown };

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout fires at once beyond this
const INTEGER = /^[+-]?\d+$/;
const TRUE = ["true", "yes", "on", "1"];
const FALSE = ["false", "no", "off", "0"];

/**
 * `build()`'s value, built on the first call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lazy } from "./coerce.ts";
 * let calls = 0;
 * const get = lazy(() => ++calls);
 * assert(get() === 1 && get() === 1);
 * ```
 */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => value ??= build();
}

/**
 * An error message builder: `expected <what>, found <input>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expected } from "./coerce.ts";
 * assert(expected("a port")({ input: "x" }) === 'expected a port, found "x"');
 * ```
 */
export const expected = (what: string) => (issue: Raw): string =>
  `expected ${what}, found ${describeValue(issue.input)}`;

/**
 * A schema from a coercion that returns `undefined` when the input does not
 * fit. `secret`: the error names the kind of value, never the value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coerce } from "./coerce.ts";
 * const even = coerce("an even number", (v) => typeof v === "number" && v % 2 === 0 ? v : undefined);
 * assert(even.parse(4) === 4 && !even.safeParse(3).success);
 * ```
 */
export function coerce<T>(what: string, fn: (input: unknown) => T | undefined, secret = false) {
  return z.transform((input: unknown, payload): T => {
    const out = fn(input);
    if (out === undefined) {
      const found = secret ? describeKind(input) : describeValue(input);
      const hint = secret && typeof input === "number" ? " (quote it in YAML)" : "";
      payload.issues.push({ code: "custom", input, message: `expected ${what}, found ${found}${hint}` });
    }
    return out as T;
  });
}

function toInteger(input: unknown): number | undefined {
  const n = typeof input === "string" && INTEGER.test(input.trim()) ? Number(input) : input;
  return typeof n === "number" && Number.isSafeInteger(n) ? n : undefined;
}

/**
 * An integer from `min` (to `max`), from a number or a string of digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integer } from "./coerce.ts";
 * assert(integer(1).parse("5") === 5 && !integer(1).safeParse("0").success);
 * ```
 */
export function integer(min: number, max?: number, noun = "an integer") {
  const what = max === undefined ? `${noun} of at least ${min}` : `${noun} from ${min} to ${max}`;
  const range = max === undefined ? [z.gte(min, { error: expected(what) })] : [
    z.gte(min, { error: expected(what) }),
    z.lte(max, { error: expected(what) }),
  ];
  return z.pipe(coerce(what, toInteger), z.number().check(...range));
}

/**
 * `true`/`false` from a boolean or the words `true`, `yes`, `on`, `1` and their opposites.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toBoolean } from "./coerce.ts";
 * assert(toBoolean("on") === true && toBoolean("0") === false && toBoolean("maybe") === undefined);
 * ```
 */
export function toBoolean(input: unknown): boolean | undefined {
  if (typeof input === "boolean") return input;
  if (typeof input !== "string" && typeof input !== "number") return undefined;
  const word = String(input).trim().toLowerCase();
  return TRUE.includes(word) ? true : FALSE.includes(word) ? false : undefined;
}

/**
 * A duration in ms, or `undefined` when `input` is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tryDuration } from "./coerce.ts";
 * assert(tryDuration("2s") === 2000 && tryDuration("x") === undefined);
 * ```
 */
export function tryDuration(input: unknown): number | undefined {
  try {
    return parseDuration(input);
  } catch {
    return undefined;
  }
}

const DURATION = 'a duration such as "500ms", "30s", "5m", "1h" or a number of seconds';
const maxTimer = () =>
  z.number().check(
    z.lte(MAX_TIMER_MS, { error: (i: Raw) => `expected a duration of at most 24.8 days, found ${i.input} ms` }),
  );

/**
 * A duration in ms: a number of seconds or a string with units.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { duration } from "./coerce.ts";
 * assert(duration().parse("1m") === 60_000 && duration().parse(2) === 2000);
 * ```
 */
export const duration = lazy(() => z.pipe(coerce(DURATION, tryDuration), maxTimer()));

/**
 * A duration in ms where a bare number counts milliseconds (libpq's `tcp_user_timeout`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { durationMs } from "./coerce.ts";
 * assert(durationMs().parse("10000") === 10_000 && durationMs().parse("10s") === 10_000);
 * ```
 */
export const durationMs = lazy(() =>
  z.pipe(
    coerce('a duration such as "500ms", "10s" or a number of milliseconds', (input) => {
      const n = toInteger(input);
      return n !== undefined ? (n >= 0 ? n : undefined) : tryDuration(input);
    }),
    maxTimer(),
  )
);

/**
 * A non-empty string (numbers are stringified), trimmed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { text } from "./coerce.ts";
 * assert(text().parse(" app ") === "app" && !text().safeParse("").success);
 * ```
 */
export const text = lazy(() =>
  coerce("a non-empty string", (input) => {
    if (typeof input === "number" && Number.isFinite(input)) return String(input);
    return typeof input === "string" && input.trim() !== "" ? input.trim() : undefined;
  })
);

/**
 * A secret string, wrapped. A number is refused rather than stringified: YAML
 * reads `0123` as 123 and `1e3` as 1000.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { secret } from "./coerce.ts";
 * assert(secret().parse("pw").reveal() === "pw" && !secret().safeParse(123).success);
 * ```
 */
export const secret = lazy(() =>
  coerce("a non-empty string", (input) => {
    if (input instanceof Secret) return input;
    return typeof input === "string" && input !== "" ? new Secret(input) : undefined;
  }, true)
);

/**
 * A boolean (see {@linkcode toBoolean}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boolean } from "./coerce.ts";
 * assert(boolean().parse("yes") === true);
 * ```
 */
export const boolean = lazy(() => coerce("true or false", toBoolean));

/** What {@linkcode choice} does with values it does not take. */
export interface ChoiceOptions {
  /** The libpq parameter whose values these are: values in `refused` are refused as libpq values this library does not support. */
  readonly key?: string;
  /** libpq values not supported (compared case-insensitively). */
  readonly refused?: readonly string[];
  /** Other libraries' values, each with what to write instead. */
  readonly foreign?: Readonly<Record<string, string>>;
}

/**
 * One of `values`, compared case-insensitively, returned as written in
 * `values`. The error lists them, with a "did you mean" for a near miss, the
 * reason for a libpq value the library refuses, and the libpq equivalent of
 * another library's value. It quotes the input as written: a lower-cased copy
 * of a secret put here by mistake would escape redaction.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choice } from "./coerce.ts";
 * const tls = choice(["TLSv1.2", "TLSv1.3"]);
 * assert(tls.parse("tlsv1.3") === "TLSv1.3");
 * const mode = choice(["disable", "require"], { foreign: { "no-verify": "require" } });
 * assert(!mode.safeParse("no-verify").success);
 * ```
 */
export function choice<const T extends readonly [string, ...string[]]>(values: T, options: ChoiceOptions = {}) {
  const what = `one of ${values.join(", ")}`;
  return z.transform((input: unknown, payload): T[number] => {
    const word = typeof input === "string" ? input.trim().toLowerCase() : undefined;
    const found = word === undefined ? undefined : values.find((v) => v.toLowerCase() === word);
    if (found !== undefined) return found;
    let message: string;
    if (word !== undefined && options.refused?.includes(word) && options.key) {
      message = unsupportedValue(options.key, word);
    } else if (word !== undefined && options.foreign && Object.hasOwn(options.foreign, word)) {
      message = `${expected(what)({ input })} (another library's value; libpq's equivalent is ${
        options.foreign[word]
      })`;
    } else {
      const hint = typeof input === "string" ? closest(input, values) : undefined;
      message = `${expected(what)({ input })}${hint ? ` (did you mean "${hint}"?)` : ""}`;
    }
    payload.issues.push({ code: "custom", input, message });
    return z.NEVER;
  });
}

/**
 * `false` only: a libpq boolean whose `true` the library refuses (see `libpq.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { offOnly } from "./coerce.ts";
 * assert(offOnly("sslcompression").parse("0") === false && !offOnly("sslcompression").safeParse("1").success);
 * ```
 */
export function offOnly(key: string) {
  return z.transform((input: unknown, payload): false => {
    const value = toBoolean(input);
    if (value === false) return false;
    const message = value === true ? unsupportedValue(key, String(input)) : expected("true or false")({ input });
    payload.issues.push({ code: "custom", input, message });
    return z.NEVER;
  });
}

/**
 * Items of a comma-separated string, or the items of a list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toList } from "./coerce.ts";
 * assert(toList("a, b")?.join() === "a,b" && toList(5)?.[0] === 5);
 * ```
 */
export function toList(input: unknown): unknown[] | undefined {
  if (Array.isArray(input)) return input;
  if (typeof input === "string") return input.split(",").map((s) => s.trim());
  return typeof input === "number" ? [input] : undefined;
}

/**
 * A non-empty list of `item`, from a list or a comma-separated string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integer, list } from "./coerce.ts";
 * assert(list(integer(0), "number").parse("1,2").join() === "1,2");
 * ```
 */
export function list<T extends z.core.SomeType>(item: T, what: string) {
  const atLeastOne = z.minLength(1, { error: `expected at least one ${what}, found none` });
  return z.pipe(coerce(`a ${what} or a list of them`, toList), z.array(item).check(atLeastOne));
}
