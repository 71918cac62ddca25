/**
 * Redaction: the one place that decides how secrets are hidden from errors,
 * logs, events, health output and `inspect` output.
 *
 * @module
 */

const MASK = "***";
const secrets = new Set<string>();

/**
 * A secret value (a password, a private key) that never prints itself.
 *
 * `String(secret)`, `JSON.stringify(secret)`, `Deno.inspect(secret)` and
 * Node's `util.inspect(secret)` all give `***`; only {@linkcode Secret.reveal}
 * returns the value, and adapters call it when they hand it to a driver.
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

  /** Wraps `value` and remembers it, so any text that contains it can be redacted. */
  constructor(value: string) {
    this.#value = value;
    if (value.length >= 3) secrets.add(value);
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
 * Replaces every secret this process has seen (any {@linkcode Secret}) and any
 * password in a `scheme://user:password@host` URL inside `text` with `***`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactText, Secret } from "./redact.ts";
 * new Secret("s3cr3t-pw");
 * assert(redactText("auth s3cr3t-pw failed") === "auth *** failed");
 * assert(redactText("postgres://app:pw@db/x") === "postgres://app:***@db/x");
 * ```
 */
export function redactText(text: string): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s/]*)@/gi, `$1${MASK}@`);
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, MASK);
}

/**
 * Returns `error` with its message (and its causes' messages) redacted in
 * place, so it can be rethrown or logged safely. Non-errors pass through.
 */
export function redactError<E>(error: E): E {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const clean = redactText(e.message);
    if (clean !== e.message) {
      try {
        e.message = clean;
        if (e.stack) e.stack = redactText(e.stack);
      } catch { /* frozen: leave it */ }
    }
    e = e.cause;
  }
  return error;
}

/** A short, redacted description of an error for events and messages. */
export function describeError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message : String(error);
  const code = typeof e?.code === "string" ? e.code : undefined;
  return redactText(code && !message.includes(code) ? `${code}: ${message}` : message);
}
