/**
 * Redaction: the one place that decides how secrets are hidden from errors,
 * logs, events, health output and `inspect` output.
 *
 * A {@linkcode Redactor} is built per configuration from its raw input, so it
 * knows that configuration's secrets even when the input is too broken to
 * parse; the configuration carries it ({@linkcode redactorOf}). The generic
 * patterns ({@linkcode redactText}: URL passwords, `password=` parameters,
 * PEM private keys) need no knowledge and are applied by every redactor.
 *
 * @module
 */

const MASK = "***";

/**
 * Secrets shorter than this are not searched for in free text: masking every
 * "ab" would garble messages and point at the secret. They are masked where
 * they stand alone as a value (`:ab@`, `"ab"`), and structure hides them
 * elsewhere: messages never quote the value of a secret key.
 */
const MIN_FREE_TEXT = 3;

/**
 * Words the library writes itself (key names, schemes, defaults). A password
 * equal to one of them is not masked in free text: every occurrence is the
 * library's word, and masking them would only show what the password is.
 */
const OWN_WORDS = new Set([
  "postgres",
  "postgresql",
  "pglite",
  "neon",
  "database",
  "password",
  "localhost",
  "default",
  "dewey",
  "url",
  "env",
  "object",
  "memory",
  "true",
  "false",
  "null",
  "undefined",
]);

const GENERIC: readonly [RegExp, string][] = [
  // scheme://user:password@ (also scheme:/ and other mistyped separators); the password may hold "@" and ":".
  [/(\b[a-z][a-z0-9+.-]*:[:/\\]*[^:/?#@\s"'<>]*:)[^\s/]*@/gi, `$1${MASK}@`],
  // password=..., sslpassword=..., sslkey=... in URL queries and keyword/value strings, quoted or not.
  [/(password|sslkey)(\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s&'"]+)/gi, `$1$2${MASK}`],
  // A key's body, not a header quoted alone ("expected -----BEGIN PRIVATE KEY----- or similar").
  [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----(?=\s*(?:[A-Za-z0-9+/]{8}|Proc-Type))[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    MASK,
  ],
];

/**
 * Replaces what looks like a secret in `text` with `***`, knowing no
 * particular secret: passwords in `scheme://user:password@host` URLs (also
 * mistyped ones), `password=`, `sslpassword=` and `sslkey=` parameters, and
 * PEM private keys. Use the {@linkcode Redactor} of a configuration where
 * there is one: it also knows that configuration's secrets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactText } from "./redact.ts";
 * assert(redactText("postgres://app:pw@db/x") === "postgres://app:***@db/x");
 * assert(redactText("host=db password='a b'") === "host=db password=***");
 * ```
 */
export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of GENERIC) out = out.replace(pattern, replacement);
  return out;
}

/**
 * Knows the secrets of one configuration and hides them, and anything the
 * generic patterns of {@linkcode redactText} catch, in text, errors and plain
 * values. Immutable; {@linkcode Redactor.with} gives an extended copy.
 *
 * Each secret is also found in the forms it takes when quoted: percent-encoded,
 * JSON-escaped, line by line for multi-line values (PEM keys).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Redactor } from "./redact.ts";
 * const redactor = new Redactor(["s3cr3t pw"]);
 * assert(redactor.redact('auth "s3cr3t pw" failed') === 'auth "***" failed');
 * assert(redactor.redact("u=s3cr3t%20pw") === "u=***");
 * assert(new Redactor().redact("postgres://app:pw@db/x") === "postgres://app:***@db/x");
 * assert(redactor.with(["k3y-2"]).redact("s3cr3t pw, k3y-2") === "***, ***");
 * ```
 */
export class Redactor {
  readonly #secrets: readonly string[];
  readonly #ordinary: ReadonlySet<string>;
  #pattern?: RegExp | null;

  /**
   * `secrets`: the values to hide. `ordinary`: values that may equal a secret
   * but are shown anyway (the user name, the database name...): when a secret
   * is one of them, its occurrences cannot be told apart from theirs.
   */
  constructor(secrets: Iterable<string> = [], ordinary: Iterable<string> = []) {
    this.#secrets = [...new Set(secrets)].filter((s) => typeof s === "string" && s !== "");
    this.#ordinary = new Set(ordinary);
  }

  /** A redactor that also knows `secrets` (and shows `ordinary` values). */
  with(secrets: Iterable<string>, ordinary: Iterable<string> = []): Redactor {
    return new Redactor([...this.#secrets, ...secrets], [...this.#ordinary, ...ordinary]);
  }

  /** `text` with every known secret and every generic secret pattern replaced by `***`. */
  redact(text: string): string {
    const pattern = this.#pattern === undefined ? (this.#pattern = this.#build()) : this.#pattern;
    return redactText(pattern ? text.replace(pattern, MASK) : text);
  }

  /**
   * Redacts `error` in place and returns it: message, stack, string fields
   * (`detail`, `hint`...), `issues` and `errors` lists, and its causes.
   * Where a property cannot be rewritten (a driver's read-only `stack`), the
   * error or cause is replaced by a redacted copy of the same class: rethrow
   * the value returned. Non-errors pass through.
   */
  redactError<E>(error: E): E {
    return this.#scrubError(error, 0, new Set()) as E;
  }

  #scrubError(error: unknown, depth: number, seen: Set<unknown>): unknown {
    if (typeof error !== "object" || error === null || depth >= 8 || seen.has(error)) return error;
    seen.add(error);
    const target = this.#scrubObject(error as Record<string, unknown>) ? error : this.#substitute(error);
    const cause = (error as { cause?: unknown }).cause;
    const clean = this.#scrubError(cause, depth + 1, seen);
    if (clean !== cause || target !== error) {
      try {
        Object.defineProperty(target, "cause", { value: clean, writable: true, configurable: true });
      } catch {
        return this.#substitute(error, clean);
      }
    }
    return target;
  }

  /** Rewrites the strings of `target` in place; false when one could not be rewritten. */
  #scrubObject(target: Record<string, unknown>): boolean {
    let done = true;
    for (const key of ["message", "stack", ...Object.keys(target)]) {
      let value: unknown;
      try {
        value = target[key];
      } catch {
        continue;
      }
      const clean = typeof value === "string"
        ? this.redact(value)
        : Array.isArray(value) && (key === "issues" || key === "errors")
        ? value.map((item) => this.#copy(item, 1))
        : value;
      if (clean === value) continue;
      try {
        target[key] = clean;
      } catch { /* read-only: checked below */ }
      if (target[key] !== clean) done = false;
    }
    return done;
  }

  /** A redacted copy of `error`: same prototype, every own property redacted, `cause` set apart. */
  #substitute(error: object, cause?: unknown): object {
    const copy = Object.create(Object.getPrototypeOf(error));
    for (const key of Reflect.ownKeys(error)) {
      if (key === "cause") continue;
      const descriptor = Object.getOwnPropertyDescriptor(error, key)!;
      let value: unknown;
      try {
        value = (error as Record<PropertyKey, unknown>)[key];
      } catch {
        continue;
      }
      const clean = typeof value === "string" ? this.redact(value) : this.#copy(value, 1);
      Object.defineProperty(copy, key, { value: clean, writable: true, configurable: true, ...pick(descriptor) });
    }
    if (cause !== undefined) Object.defineProperty(copy, "cause", { value: cause, writable: true, configurable: true });
    return copy;
  }

  /**
   * `value` with every string redacted, through arrays and plain objects
   * (event payloads, health snapshots): a copy where something changed, the
   * same value otherwise; errors are redacted in place.
   */
  redactValue<T>(value: T): T {
    return this.#copy(value, 0) as T;
  }

  /** Never prints a secret: `Redactor(n secrets)`. */
  toString(): string {
    return `Redactor(${this.#secrets.length} secrets)`;
  }

  /** Never prints a secret. */
  toJSON(): string {
    return this.toString();
  }

  /** Deno's `inspect` hook. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Node's `util.inspect` hook. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  #build(): RegExp | null {
    const forms = new Set<string>();
    for (const secret of this.#secrets) {
      if (this.#ordinary.has(secret) || OWN_WORDS.has(secret.toLowerCase())) continue;
      for (const form of spellings(secret)) if (form !== "") forms.add(form);
    }
    if (forms.size === 0) return null;
    // Longest first, so a secret is masked whole before any shorter secret inside it.
    const patterns = [...forms].sort((a, b) => b.length - a.length).map((form) => {
      const e = escape(form);
      // A short one is masked only where it stands alone as a value: between ":" and "@", or quoted whole.
      return form.length >= MIN_FREE_TEXT ? e : `(?<=:)${e}(?=@)|(?<=")${e}(?=")|(?<=')${e}(?=')`;
    });
    return new RegExp(patterns.join("|"), "g");
  }

  /** `value` redacted; the same object when nothing in it changed, so event payloads of numbers cost nothing. */
  #copy(value: unknown, depth: number): unknown {
    if (typeof value === "string") return this.redact(value);
    if (depth > 8 || typeof value !== "object" || value === null) return value;
    if (value instanceof Error) return this.redactError(value);
    if (Array.isArray(value)) {
      const items = value.map((item) => this.#copy(item, depth + 1));
      return items.some((item, i) => item !== value[i]) ? items : value;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    let copy: Record<string, unknown> | undefined;
    for (const key in value) {
      const item = (value as Record<string, unknown>)[key];
      const clean = this.#copy(item, depth + 1);
      if (clean !== item) (copy ??= { ...value })[key] = clean;
    }
    return copy ?? value;
  }
}

function pick(descriptor: PropertyDescriptor): { enumerable: boolean } {
  return { enumerable: descriptor.enumerable ?? false };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The forms a secret takes when printed: as is, trimmed, lower-cased,
 * percent-encoded, JSON-escaped, and each line of a multi-line one.
 */
function spellings(secret: string): string[] {
  const forms = [
    secret,
    secret.trim(),
    secret.toLowerCase(),
    JSON.stringify(secret).slice(1, -1),
    secret.replace(/['\\]/g, "\\$&"),
  ];
  try {
    forms.push(encodeURIComponent(secret), encodeURI(secret));
  } catch { /* a lone surrogate: no encoded form */ }
  if (/[\r\n]/.test(secret)) forms.push(...secret.split(/\r\n|\r|\n/).map((line) => line.trim()));
  return forms;
}

/** A redactor that knows no secret: the generic patterns only. */
const GENERIC_REDACTOR = new Redactor();

const REDACTOR_KEY: unique symbol = Symbol.for("@dewey/db.redactor");

/**
 * Gives `target` its redactor, as a hidden property (non-enumerable,
 * symbol-keyed: absent from JSON, spreads and `inspect`). Returns `target`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Redactor, redactorOf, withRedactor } from "./redact.ts";
 * const config = withRedactor({ host: "db" }, new Redactor(["hunter2"]));
 * assert(redactorOf(config).redact("pw hunter2") === "pw ***" && JSON.stringify(config) === '{"host":"db"}');
 * ```
 */
export function withRedactor<T extends object>(target: T, redactor: Redactor): T {
  Object.defineProperty(target, REDACTOR_KEY, { value: redactor, enumerable: false });
  return target;
}

/**
 * The redactor `value` (a `DatabaseConfig`) carries, or one that applies the
 * generic patterns only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config/parse.ts";
 * import { redactorOf } from "./redact.ts";
 * const config = parseConfig("postgres://app:hunter2@db/shop", { env: {} });
 * assert(redactorOf(config).redact("auth hunter2 failed") === "auth *** failed");
 * assert(redactorOf(undefined).redact("auth hunter2 failed") === "auth hunter2 failed");
 * ```
 */
export function redactorOf(value: unknown): Redactor {
  const own = typeof value === "object" && value !== null
    ? (value as { [REDACTOR_KEY]?: unknown })[REDACTOR_KEY]
    : undefined;
  return own instanceof Redactor ? own : GENERIC_REDACTOR;
}

/**
 * A secret value (a password, a private key) that never prints itself.
 *
 * `String(secret)`, `JSON.stringify(secret)`, `Deno.inspect(secret)` and
 * Node's `util.inspect(secret)` all give `***`; only {@linkcode Secret.reveal}
 * returns the value, and adapters call it when they hand it to a driver. The
 * configuration's {@linkcode Redactor} knows the value, so text that quotes
 * it is masked too.
 *
 * @example Hide a password
 * ```ts
 * import assert from "node:assert/strict";
 * import { Secret } from "./redact.ts";
 * const password = new Secret("hunter2");
 * assert(`${password}` === "***");
 * assert(JSON.stringify({ password }) === '{"password":"***"}');
 * assert(password.reveal() === "hunter2");
 * ```
 */
export class Secret {
  #value: string;

  /** Wraps `value`. */
  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself; pass it only to a driver. */
  reveal(): string {
    return this.#value;
  }

  /** Always `***`. */
  toString(): string {
    return MASK;
  }

  /** Always `***`. */
  toJSON(): string {
    return MASK;
  }

  /** Deno's `inspect` hook: `***`. */
  [Symbol.for("Deno.customInspect")](): string {
    return MASK;
  }

  /** Node's `util.inspect` hook: `***`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return MASK;
  }
}

/**
 * Returns `error` with its message, stack, fields and causes redacted in
 * place by the generic patterns, so it can be rethrown or logged safely.
 * Non-errors pass through. Prefer the configuration's redactor:
 * `redactorOf(config).redactError(error)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactError } from "./redact.ts";
 * const error = redactError(new Error("bad postgres://app:pw@db/x"));
 * assert(error.message === "bad postgres://app:***@db/x");
 * ```
 */
export function redactError<E>(error: E): E {
  return GENERIC_REDACTOR.redactError(error);
}

/**
 * A short, redacted description of an error for events and messages:
 * `code: message`. `redactor` defaults to the generic patterns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeError, Redactor } from "./redact.ts";
 * const error = Object.assign(new Error("auth hunter2"), { code: "28P01" });
 * assert(describeError(error, new Redactor(["hunter2"])) === "28P01: auth ***");
 * ```
 */
export function describeError(error: unknown, redactor: Redactor = GENERIC_REDACTOR): string {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message : String(error);
  const code = typeof e?.code === "string" ? e.code : undefined;
  return redactor.redact(code && !message.includes(code) ? `${code}: ${message}` : message);
}
