/**
 * A pooled connection's bookkeeping (`Slot`) and an exclusive checkout of it
 * (`Lease`). The pool decides; these hold the state it decides on.
 *
 * @module
 */

import { type QueryOptions, withDeadline } from "./abort.ts";
import type { DriverConnection, QueryMode, QueryResult } from "./contracts.ts";
import { DatabaseConnectionError } from "./errors.ts";

export const now = (): number => performance.now();
export const RESOLVED: Promise<void> = Promise.resolve();
/**
 * "Used since the last housekeeping tick": stamped with the real time by the
 * next tick. Reading the clock costs ~100-200 ns on these machines, more than
 * the rest of a checkout, so the hot path never reads it; pre-ping and idle
 * decisions only need the time to within a tick.
 */
export const FRESH = Infinity;

/** One pooled connection and its bookkeeping. */
export class Slot {
  /** Statements in flight on the shared path. */
  inflight = 0;
  /** The exclusive holder, if any. */
  lease: Lease | null = null;
  /** Set aside for the waiter at the head of the queue; drains shared work first. */
  reserved = false;
  /** The connection failed or closed; never used again. */
  dead = false;
  /** Why the connection died, redacted, for the `disconnect` event. */
  error: string | undefined;
  /** Past its lifetime; closed when next free. */
  retiring = false;
  /** `performance.now()` of the last use, or `FRESH`. */
  lastUsed: number;
  /** When the lifetime ends (`performance.now()` clock). */
  readonly retireAt: number;
  /** Idle ms after which the pool retires it, ahead of the server's `idle_session_timeout`; Infinity: never. */
  readonly idleLimit: number;

  constructor(readonly id: number, readonly conn: DriverConnection, created: number, lifetime: number) {
    this.lastUsed = created;
    // A quarter of the server's timeout is the margin for the two clocks, the tick and a busy event loop.
    const serverIdle = conn.info?.idleSessionTimeout;
    this.idleLimit = serverIdle ? serverIdle * 0.75 : Infinity;
    // Jitter keeps connections opened together from all retiring together.
    this.retireAt = lifetime > 0 ? created + lifetime * (0.9 + Math.random() * 0.1) : Infinity;
  }

  /** Free for an exclusive lease. */
  get free(): boolean {
    return this.lease === null && this.inflight === 0 && !this.reserved && !this.dead && !this.retiring;
  }
}

/** What a lease needs of the pool that granted it (the pool implements it). */
export interface LeaseOwner {
  /** The adapter's name (`Driver.name`), for errors about what it cannot do. */
  readonly adapter: string;
  /** Runs one statement on `slot`, marking the connection dead if it failed. */
  run(
    slot: Slot,
    text: string,
    params?: readonly unknown[],
    signal?: AbortSignal,
    mode?: QueryMode,
  ): Promise<QueryResult>;
  /** Takes note of a failure on `slot` outside `run` (a cursor, a COPY): a connection failure retires it. */
  failed(slot: Slot, error: unknown): void;
  /** `error` with the configuration's secrets masked (what `run` throws is already). */
  redactError<E>(error: E): E;
  /** Takes back `lease`; `discard` closes its connection. */
  release(lease: Lease, discard: boolean): void;
}

/**
 * A connection checked out for exclusive use. Always {@linkcode Lease.release}
 * it; a lease left in a transaction is rolled back (or the connection
 * discarded) before anyone else gets it.
 */
export class Lease {
  /** Set while a transaction may be open on the connection. */
  inTransaction = false;
  /** Whether a leak warning was already emitted. */
  leakReported = false;
  #released = false;

  constructor(
    readonly pool: LeaseOwner,
    readonly slot: Slot,
    /** `performance.now()` at checkout, or `FRESH` when nobody needed the time. */
    public since: number,
    /** The checkout site, captured when leak detection is on. */
    readonly stack?: string,
  ) {}

  /** Whether the lease was given back. */
  get released(): boolean {
    return this.#released;
  }

  /** Runs a statement on the leased connection. */
  query(text: string, params?: readonly unknown[], signal?: AbortSignal, mode?: QueryMode): Promise<QueryResult> {
    if (this.#released) {
      return Promise.reject(new DatabaseConnectionError("connection was already released", { reachedServer: false }));
    }
    return this.pool.run(this.slot, text, params, signal, mode);
  }

  /**
   * Runs a statement under the caller's `{ signal, timeout }` (no timer or wrapper when neither is set), in the
   * options' row and type mode.
   */
  run(text: string, params: readonly unknown[] | undefined, options: QueryOptions | undefined): Promise<QueryResult> {
    if (!options?.signal && !options?.timeout) return this.query(text, params, undefined, options);
    return withDeadline(options, (signal, running) => {
      running();
      return this.query(text, params, signal, options);
    });
  }

  /**
   * Gives the connection back. A connection that may still be inside a
   * transaction is rolled back first, and discarded if that fails, so the next
   * caller never gets it dirty.
   */
  release(discard = false): Promise<void> {
    if (this.#released) return RESOLVED;
    this.#released = true;
    const { slot } = this;
    const dirty = discard || slot.dead || slot.conn.closed;
    if (!dirty && (slot.conn.inTransaction?.() ?? this.inTransaction)) return this.#rollbackThenRelease();
    this.pool.release(this, dirty);
    return RESOLVED;
  }

  async #rollbackThenRelease(): Promise<void> {
    let dirty = false;
    try {
      await this.slot.conn.query("ROLLBACK");
      this.inTransaction = false;
    } catch {
      dirty = true;
    }
    this.pool.release(this, dirty);
  }
}
