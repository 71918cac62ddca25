/**
 * Certificate revocation lists (`sslcrl`, `sslcrldir`), checked by the adapter itself as OpenSSL does for
 * libpq (every certificate of the chain but the root needs a valid, current list from its issuer, and must
 * not be on it): Deno's TLS takes no CRL, so leaving it to the TLS library would check nothing there.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { verify, X509Certificate } from "node:crypto";
import { children, type Der, element, oid, time } from "./der.ts";

/** A parsed revocation list. */
export interface RevocationList {
  /** The issuer's name, DER. */
  readonly issuer: Uint8Array;
  /** Serial numbers revoked, hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
  /** When the list expires, if it says. */
  readonly nextUpdate?: Date;
  /** What the signature covers, DER. */
  readonly signed: Uint8Array;
  /** The signature algorithm's OID. */
  readonly algorithm: string;
  /** The signature. */
  readonly signature: Uint8Array;
}

/** Signature algorithms (OID → hash for `crypto.verify`; `null`: the key's own, Ed25519). */
const HASHES: Readonly<Record<string, string | null>> = {
  "1.2.840.113549.1.1.5": "sha1",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.10045.4.1": "sha1",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.3.101.112": null,
};

/**
 * Parses one PEM revocation list; throws when it is not one.
 *
 * @example
 * ```ts ignore
 * const list = parseCrl(await Deno.readTextFile("crl.pem"));
 * ```
 */
export function parseCrl(pem: string): RevocationList {
  const der = new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64"));
  const [tbs, algorithmId, signatureBits] = children(der, element(der, 0));
  const items = children(der, tbs);
  let i = items[0].tag === 0x02 ? 1 : 0; // version
  i++; // signature algorithm, repeated
  const issuer = items[i++];
  i++; // thisUpdate
  let nextUpdate: Date | undefined;
  if (items[i] && (items[i].tag === 0x17 || items[i].tag === 0x18)) nextUpdate = time(der, items[i++]);
  const revoked = new Set<string>();
  if (items[i]?.tag === 0x30) {
    for (const entry of children(der, items[i])) revoked.add(serial(der, element(der, entry.content)));
  }
  const id = element(der, algorithmId.content);
  return {
    issuer: der.slice(issuer.start, issuer.end),
    revoked,
    nextUpdate,
    signed: der.slice(tbs.start, tbs.end),
    algorithm: oid(der.subarray(id.content, id.end)),
    signature: der.slice(signatureBits.content + 1, signatureBits.end), // after the unused-bits byte
  };
}

/**
 * Why `chain` (DER certificates, the server's first, then its issuers) fails against `lists`, in OpenSSL's
 * words (`CERT_REVOKED`, `UNABLE_TO_GET_CRL`, `CRL_HAS_EXPIRED`, `CRL_SIGNATURE_FAILURE`), or `undefined`
 * when every certificate but a self-issued root has a valid, current list that does not name it.
 * `anchors` (the roots of `sslrootcert`) and the chain may sign the lists.
 *
 * @example
 * ```ts ignore
 * const reason = revocationProblem([leafDer, intermediateDer], lists, roots);
 * ```
 */
export function revocationProblem(
  chain: readonly Uint8Array[],
  lists: readonly RevocationList[],
  anchors: readonly Uint8Array[],
): string | undefined {
  const signers = [...chain, ...anchors].map(certificateFields);
  for (const cert of chain.map(certificateFields)) {
    if (same(cert.issuer, cert.subject)) continue; // a root: trusted as such
    const list = lists.find((l) => same(l.issuer, cert.issuer));
    if (!list) return "UNABLE_TO_GET_CRL";
    const signer = signers.find((s) => same(s.subject, list.issuer));
    if (!signer || !signedBy(list, signer.der)) return "CRL_SIGNATURE_FAILURE";
    if (list.nextUpdate && list.nextUpdate.getTime() < Date.now()) return "CRL_HAS_EXPIRED";
    if (list.revoked.has(cert.serial)) return "CERT_REVOKED";
  }
  return undefined;
}

function signedBy(list: RevocationList, signerDer: Uint8Array): boolean {
  const hash = HASHES[list.algorithm];
  if (hash === undefined) return false;
  try {
    return verify(hash, list.signed, new X509Certificate(signerDer).publicKey, list.signature);
  } catch {
    return false;
  }
}

/** A certificate's serial number, issuer and subject (DER). */
function certificateFields(
  der: Uint8Array,
): { der: Uint8Array; serial: string; issuer: Uint8Array; subject: Uint8Array } {
  const [tbs] = children(der, element(der, 0));
  const items = children(der, tbs);
  const i = items[0].tag === 0xa0 ? 1 : 0; // [0] version
  const slice = (e: Der) => der.subarray(e.start, e.end);
  return { der, serial: serial(der, items[i]), issuer: slice(items[i + 2]), subject: slice(items[i + 4]) };
}

function serial(der: Uint8Array, e: Der): string {
  return Buffer.from(der.subarray(e.content, e.end)).toString("hex").replace(/^(00)+(?=.)/, "");
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
