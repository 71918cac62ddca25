/**
 * Schemas of libpq's parameters whose values need more than the generic
 * building blocks of `coerce.ts`: IP addresses, encodings, `require_auth`
 * lists, the deprecated `requiressl`, and `replication`.
 *
 * @module
 */

import * as z from "zod/mini";
import { boolean, coerce, expected, lazy, toBoolean } from "./coerce.ts";
import { unsupportedValue } from "./libpq.ts";
import { closest } from "./suggest.ts";

/**
 * libpq's deprecated `requiressl`: `1` is `sslmode=require`, anything else `prefer`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requiressl } from "./schema_libpq.ts";
 * assert(requiressl().parse("1") === "require" && requiressl().parse("0") === "prefer");
 * ```
 */
export const requiressl = () => z.pipe(boolean(), z.transform((on): "require" | "prefer" => on ? "require" : "prefer"));

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-f]*:[0-9a-f:.]*(%[\w.-]+)?$/i;
/**
 * An IPv4 or IPv6 address (libpq's `hostaddr` takes no name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipAddress } from "./schema_libpq.ts";
 * assert(ipAddress().parse("::1") === "::1" && !ipAddress().safeParse("db").success);
 * ```
 */
export const ipAddress = lazy(() =>
  coerce("an IP address", (input) => {
    const t = typeof input === "string" ? input.trim() : "";
    return IPV4.test(t) || IPV6.test(t) ? t : undefined;
  })
);

// PostgreSQL's names of UTF-8, compared as the server does: case and punctuation aside.
const UTF8_NAMES = ["utf8", "unicode", "auto"];
/**
 * libpq's `client_encoding`: UTF-8 under any of its names (or `auto`), as `UTF8`; other encodings refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientEncoding } from "./schema_libpq.ts";
 * assert(clientEncoding().parse("utf-8") === "UTF8" && !clientEncoding().safeParse("LATIN1").success);
 * ```
 */
export const clientEncoding = () =>
  z.transform((input: unknown, payload): "UTF8" => {
    const word = typeof input === "string" ? input.trim().toLowerCase().replace(/[^a-z0-9]/g, "") : undefined;
    if (word !== undefined && UTF8_NAMES.includes(word)) return "UTF8";
    const message = typeof input === "string" && input.trim()
      ? unsupportedValue("client_encoding", input.trim())
      : expected("an encoding name")({ input });
    payload.issues.push({ code: "custom", input, message });
    return z.NEVER;
  });

const AUTH_METHODS = ["password", "md5", "gss", "sspi", "scram-sha-256", "none"];
/**
 * libpq 16's `require_auth`: methods, all negated (`!md5`) or none; returned normalised (`scram-sha-256,md5`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requireAuth } from "./schema_libpq.ts";
 * assert(requireAuth().parse("SCRAM-SHA-256, md5") === "scram-sha-256,md5");
 * ```
 */
export const requireAuth = () =>
  z.transform((input: unknown, payload): string => {
    const fail = (message: string) => {
      payload.issues.push({ code: "custom", input, message });
      return z.NEVER;
    };
    const items = typeof input === "string" ? input.split(",").map((s) => s.trim().toLowerCase()) : undefined;
    if (!items || items.every((i) => i === "")) {
      return fail(expected(`a list of ${AUTH_METHODS.join(", ")}`)({ input }));
    }
    const negated = items[0].startsWith("!");
    for (const item of items) {
      if (item.startsWith("!") !== negated) {
        return fail('negative and positive methods cannot be mixed in require_auth (write "!md5,!password")');
      }
      const method = item.replace(/^!/, "");
      if (!AUTH_METHODS.includes(method)) {
        const hint = closest(method, AUTH_METHODS);
        return fail(
          `${expected(`one of ${AUTH_METHODS.join(", ")}`)({ input: method })}${
            hint ? ` (did you mean "${hint}"?)` : ""
          }`,
        );
      }
      if (negated && method === "none") return fail('"!none" is not allowed in require_auth');
    }
    if (new Set(items).size !== items.length) return fail("a method is listed twice in require_auth");
    return items.join(",");
  });

/**
 * libpq's `replication`: off only (`true` and `database` start the replication protocol).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replication } from "./schema_libpq.ts";
 * assert(replication().parse("0") === false && !replication().safeParse("database").success);
 * ```
 */
export const replication = () =>
  z.transform((input: unknown, payload): false => {
    if (toBoolean(input) === false) return false;
    const word = typeof input === "string" ? input.trim() : String(input);
    const message = toBoolean(input) === true || word.toLowerCase() === "database"
      ? unsupportedValue("replication", word)
      : expected("false (off)")({ input });
    payload.issues.push({ code: "custom", input, message });
    return z.NEVER;
  });
