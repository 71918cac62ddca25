/**
 * The connection a cursor or a COPY runs on, whoever holds it: a lease the
 * work took for itself (`db.cursor`, `db.copyFrom`), a session's, or an
 * engine connection's.
 *
 * @module
 */

import { isConnectionFailure } from "./classify.ts";
import type { DriverConnection } from "./contracts.ts";
import { NotSupportedError } from "./errors.ts";
import type { Lease } from "./slot.ts";

/** A connection held for one piece of work, and how to give it back. */
export interface Pinned {
  /** The lease the work runs on. */
  readonly lease: Lease;
  /** True when the work took the connection for itself: released at the end, and discarded when unsure. */
  readonly own: boolean;
  /** True inside a session: its transaction is open, statements join it, other statements may interleave. */
  readonly session: boolean;
  /** Gives back a connection the work took (`discard` closes it); nothing for a borrowed one. */
  release(discard: boolean): Promise<void>;
}

/** Gets the connection for one piece of work, waiting at most until `signal` aborts. */
export type Pin = (signal?: AbortSignal) => Promise<Pinned>;

/**
 * A session's or engine connection's lease, lent to one piece of work: never released by it.
 *
 * @example
 * ```ts ignore
 * const pin = borrowed(lease, true);
 * ```
 */
export function borrowed(lease: Lease, session: boolean): Pin {
  const pinned: Pinned = { lease, own: false, session, release: () => Promise.resolve() };
  return () => Promise.resolve(pinned);
}

/**
 * The driver connection behind `pinned`, with the capability `name` checked: a `NotSupportedError` naming the
 * adapter when it lacks it.
 *
 * @example
 * ```ts ignore
 * const conn = capable(pinned, "copyFrom", "COPY FROM STDIN");
 * ```
 */
export function capable<K extends "copyFrom" | "copyTo">(
  pinned: Pinned,
  name: K,
  feature: string,
): DriverConnection & Required<Pick<DriverConnection, K>> {
  const conn = pinned.lease.slot.conn;
  if (typeof conn[name] !== "function") throw new NotSupportedError(pinned.lease.pool.adapter, feature);
  return conn as DriverConnection & Required<Pick<DriverConnection, K>>;
}

/**
 * Takes note of `error` on the pinned connection (a dead connection is retired): whether the connection must be
 * discarded rather than reused, and the error to throw, the configuration's secrets masked (as the pool masks a
 * failed statement's).
 *
 * @example
 * ```ts ignore
 * const failure = noteFailure(pinned, error);
 * discard = failure.discard;
 * throw failure.error;
 * ```
 */
export function noteFailure(pinned: Pinned, error: unknown): { error: unknown; discard: boolean } {
  pinned.lease.pool.failed(pinned.lease.slot, error);
  return { error: pinned.lease.pool.redactError(error), discard: isConnectionFailure(error) };
}
