/**
 * Just enough DER (ASN.1) to read what TLS libraries do not expose: a
 * certificate's signature algorithm and issuer, a revocation list's fields.
 *
 * @module
 */

/** One DER element: its tag, where its content starts and where it ends. */
export interface Der {
  /** The tag byte (`0x30` SEQUENCE, `0x02` INTEGER, `0xa0` [0]...). */
  readonly tag: number;
  /** Offset of the whole element. */
  readonly start: number;
  /** Offset of its content. */
  readonly content: number;
  /** Offset just past it. */
  readonly end: number;
}

/**
 * The element at `start` of `der`; throws on truncated input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { element } from "./der.ts";
 * const e = element(new Uint8Array([0x02, 0x01, 0x05]), 0);
 * assert(e.tag === 0x02 && e.content === 2 && e.end === 3);
 * ```
 */
export function element(der: Uint8Array, start: number): Der {
  if (start + 2 > der.length) throw new RangeError("truncated DER");
  let length = der[start + 1];
  let content = start + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[content + i];
    content += bytes;
  }
  if (content + length > der.length) throw new RangeError("truncated DER");
  return { tag: der[start], start, content, end: content + length };
}

/**
 * The elements inside a constructed element (a SEQUENCE's items).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { children, element } from "./der.ts";
 * const seq = new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]);
 * assert(children(seq, element(seq, 0)).length === 2);
 * ```
 */
export function children(der: Uint8Array, parent: Der): Der[] {
  const out: Der[] = [];
  for (let at = parent.content; at < parent.end;) {
    const e = element(der, at);
    out.push(e);
    at = e.end;
  }
  return out;
}

/**
 * An OBJECT IDENTIFIER's content as dotted text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oid } from "./der.ts";
 * assert(oid(new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])) === "1.2.840.10045.4.3.2");
 * ```
 */
export function oid(bytes: Uint8Array): string {
  const parts = [Math.floor(bytes[0] / 40), bytes[0] % 40];
  let value = 0;
  for (const b of bytes.subarray(1)) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

/**
 * A UTCTime or GeneralizedTime element's instant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { time } from "./der.ts";
 * const t = new TextEncoder().encode("250102030405Z");
 * assert(time(new Uint8Array([0x17, t.length, ...t]), { tag: 0x17, start: 0, content: 2, end: 2 + t.length }).toISOString() === "2025-01-02T03:04:05.000Z");
 * ```
 */
export function time(der: Uint8Array, e: Der): Date {
  const text = new TextDecoder().decode(der.subarray(e.content, e.end));
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return new Date(NaN);
  const year = m[1].length === 2 ? (Number(m[1]) < 50 ? 2000 : 1900) + Number(m[1]) : Number(m[1]);
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
