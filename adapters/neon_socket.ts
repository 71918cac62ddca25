/**
 * How the Neon adapter reaches the database over WebSocket: the per-client
 * Neon settings a configuration maps to (proxy address, `ws:` or `wss:`), the
 * settings it cannot honour (refused with `ConfigError`), and the cancel
 * request, sent on a WebSocket of its own.
 *
 * @module
 */

import type { DatabaseConfig } from "../src/config/types.ts";
import { ConfigError, type ConfigIssue } from "../src/errors.ts";

/** The per-client subset of Neon's `neonConfig` the adapter sets. */
export interface NeonSocketSettings {
  /** Proxy address for a database host, without scheme. */
  wsProxy: (host: string, port: number | string) => string;
  /** `wss:` (true) or `ws:`. */
  useSecureWebSocket: boolean;
  /** The Postgres protocol inside the WebSocket stays plaintext; `wss:` encrypts the link. */
  forceDisablePgSSL: true;
  /** Pipelining startup and password works only with cleartext passwords; SCRAM needs it off. */
  pipelineConnect: false;
  /** Only meaningful with Postgres-level TLS, which is off. */
  pipelineTLS: false;
  /** A WebSocket implementation where the runtime has no global one. */
  webSocketConstructor?: typeof WebSocket;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i;

/**
 * Maps `config` to Neon socket settings, or throws `ConfigError` listing every
 * setting a WebSocket connection cannot honour.
 *
 * `ws_proxy` is `host[:port][/path]` or a `ws://`/`wss://` URL; without it the
 * driver uses Neon's own `<host>/v2` endpoint. The scheme is the URL's when
 * given, else from `sslmode`: `disable` and `allow` use `ws:`, `require` and
 * `verify-*` use `wss:`, `prefer` uses `wss:` except for a proxy on a loopback
 * address (a local dev proxy speaks plain `ws:`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { neonSocketSettings } from "./neon_socket.ts";
 * import { parseConfig } from "../src/config/parse.ts";
 * const config = parseConfig("postgres://app@127.0.0.1:5432/app?driver=neon&ws_proxy=127.0.0.1:8080/v2", { env: {} });
 * const s = neonSocketSettings(config);
 * assert(s.wsProxy("127.0.0.1", 5432) === "127.0.0.1:8080/v2?address=127.0.0.1:5432");
 * assert(s.useSecureWebSocket === false);
 * ```
 */
export function neonSocketSettings(config: DatabaseConfig, webSocket?: typeof WebSocket): NeonSocketSettings {
  const issues: ConfigIssue[] = [];
  const refuse = (key: keyof DatabaseConfig & string, message: string) =>
    issues.push({ path: `database.postgres.${key}`, message, source: config.sources[key] });

  let proxy = config.ws_proxy;
  let scheme: "ws" | "wss" | undefined;
  if (proxy !== undefined) {
    const m = /^(wss?):\/\/(.*)$/i.exec(proxy);
    if (m) {
      scheme = m[1].toLowerCase() as "ws" | "wss";
      proxy = m[2];
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy)) {
      refuse("ws_proxy", `expected host:port/path or a ws:// or wss:// URL, found ${JSON.stringify(proxy)}`);
    }
    proxy = proxy.replace(/\/+$/, "") || undefined;
    if (proxy === undefined) refuse("ws_proxy", "expected a proxy address, found an empty one");
  }
  const encrypt = ["require", "verify-ca", "verify-full"].includes(config.sslmode);
  if (scheme === "ws" && encrypt) {
    refuse("sslmode", `sslmode ${config.sslmode} needs an encrypted link, but ws_proxy is a plain ws:// URL`);
  }
  if (config.sslrootcert !== undefined && config.sslrootcert !== "system") {
    refuse(
      "sslrootcert",
      "a WebSocket connection is verified against the runtime's trust store; set sslrootcert: system or leave it unset",
    );
  }
  if (config.sslcert !== undefined) refuse("sslcert", "client certificates cannot be sent over a WebSocket connection");
  if (config.sslkey !== undefined) refuse("sslkey", "client certificates cannot be sent over a WebSocket connection");
  if (config.neon_http) {
    refuse(
      "neon_http",
      "HTTP query mode needs Neon's /sql endpoint, which this adapter does not support; " +
        "autocommit queries go over the WebSocket connection",
    );
  }
  if (issues.length) throw new ConfigError(issues);

  const proxyHost = proxy === undefined ? undefined : /^(\[[^\]]*\]|[^:/?]*)/.exec(proxy)?.[1];
  const secure = scheme !== undefined
    ? scheme === "wss"
    : config.sslmode === "prefer"
    ? !(proxyHost !== undefined && LOOPBACK.test(proxyHost))
    : encrypt;

  const base = proxy;
  const wsProxy = base === undefined
    ? (host: string) => `${host}/v2` // Neon's own endpoint
    : (host: string, port: number | string) => {
      const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
      return base.includes("address=") ? base : `${base}${base.includes("?") ? "&" : "?"}address=${address}`;
    };
  return {
    wsProxy,
    useSecureWebSocket: secure,
    forceDisablePgSSL: true,
    pipelineConnect: false,
    pipelineTLS: false,
    ...(webSocket ? { webSocketConstructor: webSocket } : {}),
  };
}

/**
 * Sends a PostgreSQL CancelRequest for backend `pid` over a WebSocket of its
 * own, the way libpq sends one over a new TCP connection. Resolves true once
 * the far side closed that WebSocket normally after the request was sent (the
 * server closes the cancel connection after signalling the backend, and the
 * proxy closes the WebSocket with it); false when it failed, or `waitMs`
 * passed first: the outcome is then unknown. Never rejects.
 *
 * @example
 * ```ts ignore
 * const delivered = await sendCancel(settings, "127.0.0.1", 5432, client.processID, client.secretKey);
 * ```
 */
export function sendCancel(
  settings: NeonSocketSettings,
  host: string,
  port: number,
  pid: number,
  secret: number,
  waitMs = 2_000,
): Promise<boolean> {
  const packet = new Uint8Array(16);
  const view = new DataView(packet.buffer);
  view.setInt32(0, 16);
  view.setInt32(4, 80877102); // CancelRequest code
  view.setInt32(8, pid);
  view.setInt32(12, secret);
  const url = `${settings.useSecureWebSocket ? "wss" : "ws"}://${settings.wsProxy(host, port)}`;
  return new Promise<boolean>((resolve) => {
    let ws: WebSocket;
    try {
      ws = new (settings.webSocketConstructor ?? WebSocket)(url);
    } catch {
      return resolve(false);
    }
    ws.binaryType = "arraybuffer";
    let sent = false;
    let failed = false;
    const timer = setTimeout(() => {
      failed = true;
      ws.close();
    }, waitMs);
    ws.addEventListener("open", () => {
      ws.send(packet);
      sent = true;
    });
    ws.addEventListener("error", () => failed = true);
    ws.addEventListener("close", (event) => {
      clearTimeout(timer);
      // 1000: closed normally (the proxy saw the server close); 1005: closed without a status, the same.
      resolve(sent && !failed && (event.code === 1000 || event.code === 1005));
    });
  });
}
