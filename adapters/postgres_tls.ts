/**
 * libpq's sslmode for the postgres.js adapter: which TLS options to try, in
 * which order, and when to fall back.
 *
 * @module
 */

import type { DatabaseConfig } from "../src/config/types.ts";

/** One connection attempt: the postgres.js `ssl` option and whether a failure moves on to the next attempt. */
export interface TlsAttempt {
  /** postgres.js `ssl`: `false`, `"prefer"`, `"require"`, or `tls.connect` options. */
  ssl: unknown;
  /** Whether to try the next attempt after this error. */
  retryOn: (error: unknown) => boolean;
}

const never = () => false;

/**
 * The attempts for `config.sslmode` against `host`.
 *
 * @example
 * ```ts ignore
 * const attempts = await tlsAttempts(config, "db.example.com");
 * ```
 */
export function tlsAttempts(config: DatabaseConfig, _host: string): Promise<TlsAttempt[]> | TlsAttempt[] {
  switch (config.sslmode) {
    case "disable":
      return [{ ssl: false, retryOn: never }];
    case "prefer":
      return [{ ssl: "prefer", retryOn: never }];
    case "require":
      return [{ ssl: "require", retryOn: never }];
    default:
      throw new Error(`sslmode ${config.sslmode} is not supported yet`);
  }
}
