/**
 * The doctor's network probes that come before TLS, one step each: resolve the host and open TCP. TLS
 * and everything after are the adapter's own connection (see `tls.ts`). Each returns a
 * {@linkcode Step}; a failed step carries the cause and the fix.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import net from "node:net";
import { unixSocketPath } from "../adapters/postgres_socket.ts";
import { advise, type Failure } from "./advice.ts";
import type { Step, StepName } from "./types.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type { ErrorCode } from "../src/error_codes.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
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
  /** libpq's `hostaddr` for this host, dialled instead of resolving `host`. */
  address?: string;
  /** The password a password file gave this host, if not the configuration's. */
  password?: DatabaseConfig["password"];
}

/** `promise`, or a `CONNECT_TIMEOUT` rejection after `ms`, as a connection attempt gets. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = () =>
    new DatabaseConnectionError(`${what}: no answer within connect_timeout (${ms / 1000} s)`, {
      code: "CONNECT_TIMEOUT" satisfies ErrorCode,
      retryable: true,
      reachedServer: false,
    });
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(timeout()), ms)),
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
  tls?: Failure["tls"],
): Step {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = redactText(typeof e?.message === "string" ? e.message : String(error));
  const { cause, fix } = advise({ step: name, code, message, host: ctx.host, port: ctx.port, tls }, ctx.config);
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
  if (ctx.address !== undefined) {
    const detail = `hostaddr ${ctx.address} is dialled instead of resolving ${host}`;
    return { step: { name: "dns", status: "skip", detail }, addresses: [ctx.address] };
  }
  if (host.startsWith("/")) {
    return { step: { name: "dns", status: "skip", detail: `${host} is a Unix socket directory` }, addresses: [host] };
  }
  if (net.isIP(host)) {
    return { step: { name: "dns", status: "skip", detail: `${host} is an IP address` }, addresses: [host] };
  }
  const t = performance.now();
  try {
    const found = await within(
      lookup(host, { all: true, verbatim: true }),
      ctx.config.connect_timeout,
      `DNS lookup of ${host}`,
    );
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
 * Opens TCP to the first address that answers (a Unix socket for a directory host), then closes it:
 * the connection itself is the adapter's, in the steps that follow.
 *
 * @example
 * ```ts ignore
 * const step = await tcpStep(ctx, addresses);
 * ```
 */
export async function tcpStep(ctx: ProbeContext, addresses: string[]): Promise<Step> {
  let lastError: unknown;
  const t = performance.now();
  for (const address of addresses) {
    const path = unixSocketPath(address, ctx.port);
    const where = path ?? `${address}:${ctx.port}`;
    const socket = path ? net.connect({ path }) : net.connect({ host: address, port: ctx.port });
    try {
      await within(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("error", reject);
        }),
        ctx.config.connect_timeout,
        `TCP connect to ${where}`,
      );
      return { name: "tcp", status: "ok", detail: `connected to ${where}`, ms: performance.now() - t };
    } catch (error) {
      lastError = error;
    } finally {
      socket.on("error", () => {}); // an error after the verdict (a reset while closing) changes nothing
      socket.destroy();
    }
  }
  const e = lastError as { code?: string; message?: string };
  const detail = e?.code === "CONNECT_TIMEOUT"
    ? `no answer within connect_timeout (${ctx.config.connect_timeout / 1000} s)`
    : e?.code === "ECONNREFUSED"
    ? "connection refused (ECONNREFUSED)"
    : undefined;
  return failed(ctx, "tcp", lastError, detail);
}
