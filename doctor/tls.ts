/**
 * The doctor's TLS step, read from what the postgres adapter itself decided and saw while connecting
 * (its TLS observer): the attempts sslmode orders, the server's answer, protocol, cipher, certificate,
 * which checks were made and their outcome, and each fallback. The doctor runs no TLS of its own, so it
 * cannot disagree with the adapter.
 *
 * @module
 */

import type { TlsEvent } from "../adapters/postgres_tls.ts";
import type { TlsNegotiation } from "../adapters/tls_negotiate.ts";
import { failed, type ProbeContext } from "./probe.ts";
import type { Finding, Step } from "./types.ts";

/**
 * The `tls` step for one connection attempt: `events` are what the adapter reported, `error` how the
 * connection ended (`undefined` when it opened). The step fails when the connection failed because of
 * TLS (an `SSL_*` code, or no answer to the TLS request in time); a connection that failed later leaves
 * it `ok`, for the `auth` step to report.
 *
 * @example
 * ```ts ignore
 * const events: TlsEvent[] = [];
 * const driver = await createDriver(config, { observeTls: (e) => events.push(e) });
 * const { step, findings } = tlsStep(ctx, events, await connect().then(() => undefined, (e) => e));
 * ```
 */
export function tlsStep(ctx: ProbeContext, events: readonly TlsEvent[], error: unknown): {
  step: Step;
  findings: Finding[];
} {
  const findings: Finding[] = [];
  const attempts = events.flatMap((e) => e.type === "attempt" ? [e] : []);
  const negotiation = events.flatMap((e) => e.type === "negotiation" ? [e.negotiation] : []).at(-1);
  const fallback = events.flatMap((e) => e.type === "fallback" ? [e] : []).at(-1);
  const sslmode = attempts[0]?.sslmode ?? ctx.config.sslmode;
  const code = codeOf(error);
  const skip = (detail: string) => ({ step: { name: "tls" as const, status: "skip" as const, detail }, findings });

  if (ctx.host.startsWith("/")) return skip(`${ctx.host} is a Unix-domain socket: no TLS there (sslmode ignored)`);
  if (sslmode === "disable") return skip("sslmode=disable: no TLS");
  if (!negotiation) {
    if (error !== undefined) return skip("not reached: the connection failed before any TLS negotiation");
    if (attempts.some((a) => a.attempt === "TLS")) return skip("TLS negotiated by postgres.js: not observed");
    return skip(`sslmode=${sslmode}: plaintext accepted, so no TLS (tried only if the server insists)`);
  }

  const before = fallback?.to === "TLS"
    ? `the server refused plaintext (${fallback.error.code ?? fallback.error.message}), so sslmode=allow tried TLS: `
    : "";
  const data = dataOf(negotiation);
  const tlsFailed = error !== undefined && (code?.startsWith("SSL_") || negotiation.error !== undefined);
  if (tlsFailed) {
    const timeout = `connect_timeout (${ctx.config.connect_timeout / 1000} s)`;
    const detail = code === "CONNECT_TIMEOUT" && negotiation.answer === undefined
      ? `no answer to the TLS request within ${timeout}`
      : code === "CONNECT_TIMEOUT" && !negotiation.certificate
      ? `the server accepted TLS, but the handshake did not finish within ${timeout}`
      : code === "SSL_NOT_SUPPORTED"
      ? `the server does not accept TLS (ssl=off), and sslmode=${sslmode} requires it`
      : negotiation.certificate && code?.startsWith("SSL_CERT_")
      ? `${before}${head(negotiation)}; ${failedCheck(ctx, negotiation)}`
      : undefined;
    return { step: { ...failed(ctx, "tls", error, detail, negotiation), data }, findings };
  }

  const answer = negotiation.answer === "N"
    ? `the server does not offer TLS (ssl=off): plaintext (sslmode=${sslmode})`
    : negotiation.error
    ? `${head(negotiation)}; ${failedCheck(ctx, negotiation)}`
    : `${head(negotiation)}; ${verdict(ctx, negotiation)}`;
  let after = "";
  if (fallback?.from === "TLS") {
    after = negotiation.error
      ? `; sslmode=${sslmode} fell back to plaintext`
      : `; the server refused the session over TLS (${fallback.error.code ?? "an error"}), so sslmode=${sslmode} ` +
        `retried in plaintext`;
    if (negotiation.error) {
      findings.push({
        level: "warn",
        key: "sslmode",
        message: `TLS to ${ctx.host}:${ctx.port} failed (${negotiation.error.code ?? negotiation.error.message}), ` +
          `so the connection is not encrypted (sslmode=${sslmode} falls back to plaintext)`,
        fix: "fix the TLS problem above, then use sslmode=verify-full so it cannot happen silently",
      });
    }
  }
  const daysLeft = data.daysLeft as number | undefined;
  if (daysLeft !== undefined && daysLeft < 30) {
    findings.push({
      level: "warn",
      key: "sslmode",
      message: daysLeft < 0
        ? `the server's certificate expired on ${data.validTo}`
        : `the server's certificate expires in ${daysLeft} days (${data.validTo})`,
      fix: "renew the server's certificate (ssl_cert_file) and reload the server",
    });
  }
  return {
    step: { name: "tls", status: "ok", detail: `${before}${answer}${after}`, ms: negotiation.ms, data },
    findings,
  };
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** `TLSv1.3, TLS_AES_256_GCM_SHA384; certificate CN=db for db, issued by CN=CA, expires 2030-01-01 (in 900 days)`. */
function head(n: TlsNegotiation): string {
  const cert = n.certificate;
  const tls = `${n.protocol ?? "TLS"}, ${n.cipher ?? "?"}`;
  if (!cert) return tls;
  const days = daysLeft(cert.validTo);
  return `${tls}; certificate ${cert.subject ?? "(no subject)"}` +
    `${cert.names.length ? ` for ${cert.names.join(", ")}` : ""}, issued by ${cert.issuer ?? "?"}, ` +
    `expires ${cert.validTo?.slice(0, 10) ?? "?"}` +
    (days === undefined ? "" : days < 0 ? " (EXPIRED)" : ` (in ${days} days)`);
}

/** What the adapter verified on a negotiation that succeeded. */
function verdict(ctx: ProbeContext, n: TlsNegotiation): string {
  const raised = n.sslmode !== ctx.config.sslmode
    ? ` (sslmode=${n.sslmode}: sslrootcert=system raises the default)`
    : "";
  if (n.chain === "unchecked") return `not verified (sslmode=${n.sslmode} without sslrootcert)`;
  const trusted = n.roots === "system" ? "trusted by the runtime's trust store" : "trusted";
  if (n.hostname === "verified") return `${trusted}, issued for ${ctx.host}${raised}`;
  return `${trusted} (sslmode=${n.sslmode} does not check the host name)${raised}`;
}

/** Which check failed on a negotiation that failed after the handshake. */
function failedCheck(ctx: ProbeContext, n: TlsNegotiation): string {
  if (n.chain === "failed") return `not trusted (${n.chainError ?? "untrusted"})`;
  if (n.hostname === "failed") return `trusted, but not issued for ${ctx.host}`;
  return `failed: ${n.error?.message ?? "?"}`;
}

function daysLeft(validTo: string | undefined): number | undefined {
  return validTo ? Math.floor((new Date(validTo).getTime() - Date.now()) / 86_400_000) : undefined;
}

/** The step's data for scripts: the negotiation, flattened. */
function dataOf(n: TlsNegotiation): Record<string, unknown> {
  const { certificate, error: _error, host: _host, port: _port, ms: _ms, ...rest } = n;
  return {
    ...rest,
    ...certificate,
    validTo: certificate?.validTo?.slice(0, 10),
    validFrom: certificate?.validFrom?.slice(0, 10),
    daysLeft: daysLeft(certificate?.validTo),
  };
}
