/**
 * The doctor's network probes, one step each: resolve the host, open TCP,
 * ask for TLS the way PostgreSQL does (an SSLRequest, then the handshake) and
 * look at the certificate. Each returns a {@linkcode Step}; a failed step
 * carries the cause and the fix.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import net from "node:net";
import tls from "node:tls";
import { advise, type Failure } from "../src/doctor/advice.ts";
import type { Finding, Step, StepName } from "../src/doctor/types.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import { redactText } from "../src/redact.ts";

/**
 * What a probe needs: the config and the host and port being checked. Each
 * step is bounded by `connect_timeout`.
 *
 * @example
 * ```ts ignore
 * const ctx: ProbeContext = { config, host: "db.example.com", port: 5432 };
 * ```
 */
export interface ProbeContext {
  /** The validated configuration. */
  config: DatabaseConfig;
  /** Host as configured. */
  host: string;
  /** Port as configured. */
  port: number;
}

class Timeout extends Error {
  code = "TIMEOUT";
}

/** `promise`, or a rejection with a `TIMEOUT` code after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Timeout(`${what} timed out`)), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A failed step with the doctor's advice for `error` (its code and message).
 *
 * @example
 * ```ts ignore
 * const step = failed(ctx, "tcp", Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
 * console.log(step.cause, step.fix);
 * ```
 */
export function failed(
  ctx: ProbeContext,
  name: StepName,
  error: unknown,
  detail?: string,
  certificate?: Failure["certificate"],
): Step {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = redactText(typeof e?.message === "string" ? e.message : String(error));
  const { cause, fix } = advise({ step: name, code, message, host: ctx.host, port: ctx.port, certificate }, ctx.config);
  return {
    name,
    status: "fail",
    detail: detail ?? `${message}${code && !message.includes(code) ? ` (${code})` : ""}`,
    code,
    cause,
    fix,
  };
}

/**
 * Resolves the host: nothing to do for an IP address or a Unix socket
 * directory, else every address `getaddrinfo` gives (so `/etc/hosts` counts).
 *
 * @example
 * ```ts ignore
 * const { step, addresses } = await dnsStep({ config, host: "db.example.com", port: 5432 });
 * ```
 */
export async function dnsStep(ctx: ProbeContext): Promise<{ step: Step; addresses: string[] }> {
  const { host } = ctx;
  if (host.startsWith("/")) {
    return { step: { name: "dns", status: "skip", detail: `${host} is a Unix socket directory` }, addresses: [host] };
  }
  if (net.isIP(host)) {
    return { step: { name: "dns", status: "skip", detail: `${host} is an IP address` }, addresses: [host] };
  }
  const t = performance.now();
  try {
    const found = await within(lookup(host, { all: true, verbatim: true }), ctx.config.connect_timeout, "DNS lookup");
    const addresses = found.map((a) => a.address);
    return {
      step: {
        name: "dns",
        status: "ok",
        detail: `${host} → ${addresses.join(", ")}`,
        ms: performance.now() - t,
        data: { addresses },
      },
      addresses,
    };
  } catch (error) {
    return { step: failed(ctx, "dns", error), addresses: [] };
  }
}

/**
 * Opens TCP to the first address that answers (a Unix socket for a directory host).
 *
 * @example
 * ```ts ignore
 * const { step, socket } = await tcpStep(ctx, addresses);
 * ```
 */
export async function tcpStep(ctx: ProbeContext, addresses: string[]): Promise<{ step: Step; socket?: net.Socket }> {
  let lastError: unknown;
  const t = performance.now();
  for (const address of addresses) {
    const socket = address.startsWith("/")
      ? net.connect({ path: `${address}/.s.PGSQL.${ctx.port}` })
      : net.connect({ host: address, port: ctx.port });
    try {
      await within(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("error", reject);
        }),
        ctx.config.connect_timeout,
        `TCP connect to ${address}:${ctx.port}`,
      );
      socket.removeAllListeners("error");
      socket.on("error", () => {}); // reported by the step that reads from it
      const where = address.startsWith("/") ? `${address}/.s.PGSQL.${ctx.port}` : `${address}:${ctx.port}`;
      return {
        step: { name: "tcp", status: "ok", detail: `connected to ${where}`, ms: performance.now() - t },
        socket,
      };
    } catch (error) {
      socket.destroy();
      lastError = error;
    }
  }
  const e = lastError as { code?: string; message?: string };
  const detail = e?.code === "TIMEOUT"
    ? `no answer within connect_timeout (${ctx.config.connect_timeout / 1000} s)`
    : e?.code === "ECONNREFUSED"
    ? "connection refused (ECONNREFUSED)"
    : undefined;
  return { step: failed(ctx, "tcp", lastError, detail) };
}

/** The answer to an SSLRequest: `S`, `N`, or why there was none. */
async function sslRequest(socket: net.Socket, ms: number): Promise<"S" | "N"> {
  const request = new Uint8Array(8);
  const view = new DataView(request.buffer);
  view.setInt32(0, 8);
  view.setInt32(4, 80877103); // PostgreSQL's SSLRequest code
  const answer = new Promise<"S" | "N">((resolve, reject) => {
    const cleanup = () => {
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
    };
    const onData = (chunk: Uint8Array) => {
      cleanup();
      const first = String.fromCharCode(chunk[0]);
      if (first === "S" || first === "N") return resolve(first);
      const what = first === "E"
        ? "it answered the TLS request with an error (a server older than 7.2?)"
        : `it answered ${JSON.stringify(first)}`;
      reject(Object.assign(new Error(what), { code: "NOT_POSTGRES" }));
    };
    const onClose = () => {
      cleanup();
      reject(Object.assign(new Error("it closed the connection without answering"), { code: "NOT_POSTGRES" }));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onError);
  });
  socket.write(request);
  return await within(answer, ms, "the answer to the TLS request");
}

/** PEM text from a file path or inline PEM; `undefined` for unset or `system`. */
async function pem(value: string | undefined): Promise<string | undefined> {
  if (value === undefined || value === "system") return undefined;
  return value.includes("-----BEGIN") ? value : await readFile(value, "utf8");
}

/** A certificate's distinguished name as `CN=localhost, O=...`. */
function dn(name: Record<string, unknown> | undefined): string | undefined {
  if (!name) return undefined;
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`);
  return parts.length ? parts.join(", ") : undefined;
}

/**
 * TLS the way PostgreSQL negotiates it, judged by `sslmode`: the protocol and
 * cipher, the certificate's subject, names, issuer and expiry, and whether it
 * is trusted and issued for the host. Closes `socket`.
 *
 * @example
 * ```ts ignore
 * const { step, findings } = await tlsStep(ctx, socket);
 * ```
 */
export async function tlsStep(ctx: ProbeContext, socket: net.Socket): Promise<{ step: Step; findings: Finding[] }> {
  const { config, host } = ctx;
  const mode = config.sslmode;
  const findings: Finding[] = [];
  if (mode === "disable" || mode === "allow") {
    socket.destroy();
    const why = mode === "disable"
      ? "sslmode=disable: no TLS"
      : "sslmode=allow: plaintext first, TLS only if the server insists";
    return { step: { name: "tls", status: "skip", detail: why }, findings };
  }
  const t = performance.now();
  let secure: tls.TLSSocket | undefined;
  try {
    const answer = await sslRequest(socket, config.connect_timeout);
    if (answer === "N") {
      socket.destroy();
      if (mode === "prefer") {
        return {
          step: { name: "tls", status: "ok", detail: "the server does not offer TLS: plaintext (sslmode=prefer)" },
          findings,
        };
      }
      const error = Object.assign(new Error("the server does not accept TLS"), { code: "SERVER_NO_TLS" });
      return {
        step: failed(ctx, "tls", error, `the server does not accept TLS, and sslmode=${mode} requires it`),
        findings,
      };
    }
    const [ca, cert, key] = await Promise.all([
      pem(config.sslrootcert),
      pem(config.sslcert),
      pem(config.sslkey?.reveal()),
    ]);
    secure = tls.connect({
      socket,
      ...(net.isIP(host) || host.startsWith("/") ? {} : { servername: host }),
      ...(ca ? { ca: [ca] } : {}),
      ...(cert && key ? { cert, key, passphrase: config.sslpassword?.reveal() } : {}),
      rejectUnauthorized: false, // judged below, so the report can say what is wrong with the certificate
    });
    const s = secure;
    await within(
      new Promise<void>((resolve, reject) => {
        s.once("secureConnect", resolve);
        s.once("error", reject);
      }),
      config.connect_timeout,
      "the TLS handshake",
    );
    const peer = s.getPeerCertificate(false) as tls.PeerCertificate | undefined;
    const cipher = s.getCipher();
    const protocol = s.getProtocol() ?? "TLS";
    const names = (peer?.subjectaltname ?? "").split(",").map((n) => n.trim().replace(/^(DNS|IP Address):/, "")).filter(
      Boolean,
    );
    const validTo = peer?.valid_to ? new Date(peer.valid_to) : undefined;
    const daysLeft = validTo ? Math.floor((validTo.getTime() - Date.now()) / 86_400_000) : undefined;
    const certificate = {
      subject: dn(peer?.subject as unknown as Record<string, unknown>),
      issuer: dn(peer?.issuer as unknown as Record<string, unknown>),
      names,
      validTo: validTo?.toISOString().slice(0, 10),
    };
    // Deno reports a name mismatch (against the servername, or "localhost" without one) as an authorization
    // error too; the chain is trusted then, and the name is checked below against the host actually dialled.
    const trusted = s.authorized || String(s.authorizationError) === "ERR_TLS_CERT_ALTNAME_INVALID";
    const trustError = trusted ? undefined : String(s.authorizationError ?? "CERT_UNTRUSTED");
    const identityError = host.startsWith("/") ? undefined : peer ? tls.checkServerIdentity(host, peer) : undefined;
    const data = {
      protocol,
      cipher: cipher?.name,
      ...certificate,
      daysLeft,
      fingerprint256: peer?.fingerprint256,
      trusted,
      trustError,
      hostMatches: identityError === undefined,
    };
    s.destroy();
    const about =
      `certificate ${certificate.subject ?? "(no subject)"}${names.length ? ` for ${names.join(", ")}` : ""}, ` +
      `issued by ${certificate.issuer ?? "?"}, expires ${certificate.validTo ?? "?"}` +
      (daysLeft === undefined ? "" : daysLeft < 0 ? " (EXPIRED)" : ` (in ${daysLeft} days)`);
    const head = `${protocol}, ${cipher?.name ?? "?"}; ${about}`;
    // libpq checks the chain whenever sslrootcert is set, in every mode that uses TLS; prefer then falls back
    // to plaintext, so for prefer an untrusted certificate is only reported.
    const verify = mode === "verify-ca" || mode === "verify-full" || (mode === "require" && ca !== undefined);
    if (verify && !trusted) {
      const code = trustError!;
      return {
        step: { ...failed(ctx, "tls", { code, message: code }, `${head}; not trusted (${code})`, certificate), data },
        findings,
      };
    }
    if (mode === "verify-full" && identityError) {
      const error = { code: "HOSTNAME_MISMATCH", message: identityError.message };
      return { step: { ...failed(ctx, "tls", error, `${head}; not issued for ${host}`, certificate), data }, findings };
    }
    if (daysLeft !== undefined && daysLeft < 30) {
      findings.push({
        level: "warn",
        key: "sslmode",
        message: daysLeft < 0
          ? `the server's certificate expired on ${certificate.validTo}`
          : `the server's certificate expires in ${daysLeft} days (${certificate.validTo})`,
        fix: "renew the server's certificate (ssl_cert_file) and reload the server",
      });
    }
    const verdict = mode === "verify-full"
      ? `trusted, issued for ${host}`
      : verify
      ? `trusted (sslmode=${mode} does not check the host name)`
      : ca !== undefined && !trusted
      ? `not trusted (${data.trustError}): sslmode=prefer falls back to plaintext`
      : `not verified (sslmode=${mode} without sslrootcert)`;
    return {
      step: { name: "tls", status: "ok", detail: `${head}; ${verdict}`, ms: performance.now() - t, data },
      findings,
    };
  } catch (error) {
    secure?.destroy();
    socket.destroy();
    const e = error as { code?: string };
    const detail = e?.code === "TIMEOUT"
      ? `no answer to the TLS request within connect_timeout (${config.connect_timeout / 1000} s)`
      : undefined;
    return { step: failed(ctx, "tls", error, detail), findings };
  }
}
