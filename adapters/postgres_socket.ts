/**
 * TCP sockets for the postgres.js adapter on Deno and Node (`node:net`).
 * Dialing here instead of inside postgres.js lets the adapter bound the dial
 * with the connect signal and refuse postgres.js's silent redials.
 *
 * @module
 */

import net from "node:net";
import { DatabaseConnectionError } from "../src/errors.ts";

/** What a socket factory is asked for. */
export interface SocketRequest {
  /** Host to dial. */
  host: string;
  /** Port to dial. */
  port: number;
  /** libpq's `hostaddr`: the IP address to dial instead of resolving `host`. */
  address?: string;
  /** Aborts the dial. */
  signal: AbortSignal;
  /** Turn TCP keepalives on. */
  keepalives: boolean;
  /** Idle ms before the first keepalive probe. */
  keepalivesIdle: number;
}

/** Makes a connected socket postgres.js can speak over. */
export type SocketFactory = (request: SocketRequest) => Promise<unknown>;

/**
 * The Unix-domain socket a directory `host` names for `port`, as libpq builds it
 * (`/run/postgresql/.s.PGSQL.5432`); `undefined` for a host name or an address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unixSocketPath } from "./postgres_socket.ts";
 * assert(unixSocketPath("/run/postgresql", 5432) === "/run/postgresql/.s.PGSQL.5432");
 * assert(unixSocketPath("db.example.com", 5432) === undefined);
 * ```
 */
export function unixSocketPath(host: string, port: number): string | undefined {
  return host.startsWith("/") ? `${host.replace(/\/+$/, "")}/.s.PGSQL.${port}` : undefined;
}

/**
 * Dials `host:port` over TCP, or the Unix-domain socket in directory `host`; resolves once connected.
 *
 * @example
 * ```ts ignore
 * const socket = await openSocket({ host: "127.0.0.1", port: 5432, signal, keepalives: true, keepalivesIdle: 60_000 });
 * ```
 */
export function openSocket(request: SocketRequest): Promise<net.Socket> {
  const { host, port, signal } = request;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const socket = new net.Socket();
    const cleanup = () => {
      socket.off("connect", onConnect);
      socket.off("error", onError);
      signal.removeEventListener("abort", onAbort);
    };
    const path = unixSocketPath(host, port);
    const onConnect = () => {
      cleanup();
      if (!path) {
        socket.setNoDelay(true);
        if (request.keepalives) socket.setKeepAlive(true, request.keepalivesIdle);
      }
      resolve(socket);
    };
    const onError = (error: Error & { code?: string }) => {
      cleanup();
      socket.destroy();
      reject(
        new DatabaseConnectionError(`${host}:${port}: ${error.message}`, {
          code: error.code,
          retryable: true,
          reachedServer: false,
          cause: error,
        }),
      );
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(signal.reason);
    };
    socket.once("connect", onConnect);
    socket.once("error", onError);
    signal.addEventListener("abort", onAbort, { once: true });
    if (path) socket.connect({ path });
    else socket.connect(port, request.address ?? host);
  });
}
