/**
 * SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677), the client side
 * as libpq runs it: the GS2 header says whether channel binding is used
 * (`p=tls-server-end-point`), supported but not offered by the server (`y`),
 * or not supported (`n`); the binding data is the hash of the server's TLS
 * certificate (RFC 5929's `tls-server-end-point`).
 *
 * @module
 */

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import { children, element, oid } from "./der.ts";

/** How the client uses channel binding in one exchange. */
export type Gs2 =
  | { readonly flag: "p"; readonly bindingData: Uint8Array }
  | { readonly flag: "y" | "n" };

/** One SCRAM exchange: the first message, then the final one for the server's answer, then its verification. */
export interface ScramExchange {
  /** The client-first-message. */
  readonly first: string;
  /** The client-final-message for the server-first-message; throws on a malformed or mismatching one. */
  final(serverFirst: string): Promise<string>;
  /** Checks the server-final-message; throws when the server did not prove it knows the password. */
  verify(serverFinal: string): void;
}

/**
 * Starts a SCRAM-SHA-256 exchange for `password` (prepared as SASLprep asks,
 * where it can be), binding to the TLS certificate when `gs2.flag` is `p`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scram } from "./scram.ts";
 * const exchange = scram("pencil", { flag: "n" });
 * assert(exchange.first.startsWith("n,,n=,r="));
 * ```
 */
export function scram(password: string, gs2: Gs2): ScramExchange {
  const clientNonce = randomBytes(18).toString("base64");
  const header = gs2.flag === "p" ? "p=tls-server-end-point,," : `${gs2.flag},,`;
  const firstBare = `n=,r=${clientNonce}`;
  let expectedSignature: Buffer | undefined;
  return {
    first: header + firstBare,
    async final(serverFirst) {
      const attrs = attributes(serverFirst);
      const nonce = attrs.get("r");
      const salt = attrs.get("s");
      const iterations = Number(attrs.get("i"));
      if (!nonce || !nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
        throw new Error("the server's SCRAM nonce does not extend ours");
      }
      if (!salt || !Number.isSafeInteger(iterations) || iterations < 1) {
        throw new Error("malformed SCRAM server-first-message");
      }
      const binding = gs2.flag === "p"
        ? Buffer.concat([Buffer.from(header), Buffer.from(gs2.bindingData)])
        : Buffer.from(header);
      const finalBare = `c=${binding.toString("base64")},r=${nonce}`;
      const authMessage = `${firstBare},${serverFirst},${finalBare}`;
      const salted = await derive(saslprep(password), Buffer.from(salt, "base64"), iterations);
      const clientKey = hmac(salted, "Client Key");
      const storedKey = createHash("sha256").update(clientKey).digest();
      const signature = hmac(storedKey, authMessage);
      const proof = Buffer.alloc(clientKey.length);
      for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ signature[i];
      expectedSignature = hmac(hmac(salted, "Server Key"), authMessage);
      return `${finalBare},p=${proof.toString("base64")}`;
    },
    verify(serverFinal) {
      const attrs = attributes(serverFinal);
      const error = attrs.get("e");
      if (error) throw Object.assign(new Error(`SCRAM failed: ${error}`), { code: "SASL_SIGNATURE_MISMATCH" });
      const signature = Buffer.from(attrs.get("v") ?? "", "base64");
      if (!expectedSignature || signature.length !== expectedSignature.length) {
        throw Object.assign(new Error("the server's SCRAM signature is missing or malformed"), {
          code: "SASL_SIGNATURE_MISMATCH",
        });
      }
      if (!timingSafeEqual(signature, expectedSignature)) {
        throw Object.assign(new Error("the server's SCRAM signature does not match"), {
          code: "SASL_SIGNATURE_MISMATCH",
        });
      }
    },
  };
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const eq = part.indexOf("=");
    if (eq === 1) out.set(part[0], part.slice(2));
  }
  return out;
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function derive(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, iterations, 32, "sha256", (error, key) => error ? reject(error) : resolve(key))
  );
}

// RFC 3454 B.1: characters mapped to nothing; C.1.2: non-ASCII spaces mapped to a space.
const TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;
const TO_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// Prohibited output (C.2-C.9, roughly): control characters, private use, surrogates, non-characters.
// deno-lint-ignore no-control-regex
const PROHIBITED = /[\u0000-\u001F\u007F-\u009F\uE000-\uF8FF\uD800-\uDFFF\uFFF9-\uFFFF]/;

/**
 * SASLprep (RFC 4013) of a password, as libpq applies it: a password it
 * cannot prepare (prohibited characters) is used as it is, as the server does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saslprep } from "./scram.ts";
 * assert(saslprep("I\u00ADX") === "IX" && saslprep("\u2168") === "IX" && saslprep("a\u00A0b") === "a b");
 * ```
 */
export function saslprep(password: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7F]*$/.test(password)) return password;
  const mapped = password.replace(TO_NOTHING, "").replace(TO_SPACE, " ").normalize("NFKC");
  return PROHIBITED.test(mapped) ? password : mapped;
}

/** Signature algorithms of X.509 certificates (OID → hash), for `tls-server-end-point`. */
const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  "1.2.840.113549.1.1.4": "sha256", // md5WithRSA: RFC 5929 says SHA-256 for MD5 and SHA-1
  "1.2.840.113549.1.1.5": "sha256", // sha1WithRSA
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.113549.1.1.14": "sha224",
  "1.2.840.10045.4.1": "sha256", // ecdsa-with-SHA1
  "1.2.840.10045.4.3.1": "sha224",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
};

/**
 * RFC 5929's `tls-server-end-point` data for a DER certificate: its hash
 * with the hash of its signature algorithm (SHA-256 for MD5 and SHA-1), or
 * `undefined` when the algorithm names no hash (Ed25519, RSA-PSS), where
 * PostgreSQL cannot bind either.
 *
 * @example
 * ```ts ignore
 * const data = serverEndPoint(tlsSocket.getPeerCertificate().raw);
 * ```
 */
export function serverEndPoint(der: Uint8Array): Uint8Array | undefined {
  const hash = SIGNATURE_HASHES[signatureAlgorithm(der) ?? ""];
  return hash ? createHash(hash).update(der).digest() : undefined;
}

/** The OID of a DER certificate's signatureAlgorithm (the second element of the outer SEQUENCE). */
function signatureAlgorithm(der: Uint8Array): string | undefined {
  try {
    const [, algorithm] = children(der, element(der, 0));
    const id = element(der, algorithm.content);
    return id.tag === 0x06 ? oid(der.subarray(id.content, id.end)) : undefined;
  } catch {
    return undefined;
  }
}
