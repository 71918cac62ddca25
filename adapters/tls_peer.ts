/**
 * What the TLS negotiation reads off the server's certificate: its description for reports, the chain it
 * sent (for revocation checks), and the words for a chain that does not verify.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import type tls from "node:tls";
import type { TlsMaterial } from "./tls_material.ts";

/**
 * The server's certificate as the negotiation received it.
 *
 * @example
 * ```ts
 * import type { PeerCertificate } from "./tls_negotiate.ts";
 * const cert: PeerCertificate = { subject: "CN=db.example.com", issuer: "CN=Example CA", names: ["db.example.com"] };
 * ```
 */
export interface PeerCertificate {
  /** Distinguished name, `CN=db.example.com, O=Example`. */
  subject?: string;
  /** The issuer's distinguished name. */
  issuer?: string;
  /** The names and addresses in its subjectAltName. */
  names: string[];
  /** Start of validity, ISO 8601. */
  validFrom?: string;
  /** End of validity, ISO 8601. */
  validTo?: string;
  /** SHA-256 fingerprint, `AB:CD:...`. */
  fingerprint256?: string;
}

/**
 * The server's certificate and the issuers it sent, DER, up to a self-issued one.
 *
 * @example
 * ```ts ignore
 * const chain = chainOf(tlsSocket.getPeerCertificate(true));
 * ```
 */
export function chainOf(peer: tls.DetailedPeerCertificate): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<unknown>();
  for (let c: tls.DetailedPeerCertificate | undefined = peer; c?.raw && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    out.push(new Uint8Array(c.raw));
  }
  return out;
}

/**
 * The roots of `sslrootcert`, DER.
 *
 * @example
 * ```ts ignore
 * const roots = anchors(material);
 * ```
 */
export function anchors(material: TlsMaterial): Uint8Array[] {
  return Array.isArray(material.ca) ? material.ca.map((pem) => new Uint8Array(new X509Certificate(pem).raw)) : [];
}

/**
 * Why a chain does not verify, in words, from the TLS library's (or the revocation check's) reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainChain } from "./tls_peer.ts";
 * assert(explainChain("CERT_HAS_EXPIRED") === "it has expired");
 * ```
 */
export function explainChain(reason: string): string {
  switch (reason) {
    case "CERT_REVOKED":
      return "it has been revoked (a list in sslcrl or sslcrldir names it)";
    case "UNABLE_TO_GET_CRL":
      return "sslcrl or sslcrldir holds no revocation list from its issuer";
    case "CRL_HAS_EXPIRED":
      return "the revocation list from its issuer has expired";
    case "CRL_SIGNATURE_FAILURE":
      return "the revocation list from its issuer is not signed by it";
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      return "it is not signed by a trusted root (wrong CA?)";
    case "CERT_HAS_EXPIRED":
      return "it has expired";
    case "CERT_NOT_YET_VALID":
      return "it is not valid yet";
    default:
      return "the chain does not verify";
  }
}

/**
 * The certificate's subject, issuer, names, validity and fingerprint, as text.
 *
 * @example
 * ```ts ignore
 * const described = describePeer(tlsSocket.getPeerCertificate());
 * ```
 */
export function describePeer(peer: tls.PeerCertificate | undefined): PeerCertificate | undefined {
  if (!peer || Object.keys(peer).length === 0) return undefined;
  const date = (text: string | undefined) => {
    const d = text ? new Date(text) : undefined;
    return d && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined;
  };
  return {
    subject: distinguishedName(peer.subject),
    issuer: distinguishedName(peer.issuer),
    names: (peer.subjectaltname ?? "").split(",").map((n) => n.trim().replace(/^(DNS|IP Address):/, ""))
      .filter(Boolean),
    validFrom: date(peer.valid_from),
    validTo: date(peer.valid_to),
    fingerprint256: peer.fingerprint256 || undefined,
  };
}

/** `CN=localhost, O=Example`; `undefined` for an empty name. */
function distinguishedName(name: object | undefined): string | undefined {
  const parts = Object.entries(name ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`);
  return parts.length ? parts.join(", ") : undefined;
}

/**
 * The certificate's subject CN, `CN=...`, or `unknown`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { subjectOf } from "./tls_peer.ts";
 * assert(subjectOf(undefined) === "unknown");
 * ```
 */
export function subjectOf(peer: tls.PeerCertificate | undefined): string {
  const cn = peer?.subject?.CN;
  return cn ? `CN=${Array.isArray(cn) ? cn.join(",") : cn}` : "unknown";
}
