/**
 * Keeps a server-side cancel on its own statement, for the adapters that can
 * cancel (postgres.js, Neon).
 *
 * A PostgreSQL CancelRequest names a backend, not a statement: one that
 * arrives after its statement ended cancels whatever that backend runs next,
 * which may be another caller's statement. So a statement with a signal runs
 * alone on its connection: it is sent once every statement before it has
 * settled, and statements after it wait until it has settled and, if it was
 * cancelled, until the cancel's outcome is known. The outcome is known when the
 * server closed the cancel connection: it closes it after signalling the
 * backend, so the signal either hit this statement or found the backend idle,
 * where the server ignores it. When the outcome cannot be known (the cancel
 * could not be delivered, or took longer than the bound), the connection is
 * closed instead of reused.
 *
 * @module
 */

import { raceAbort } from "../src/abort.ts";
import { networkError } from "../src/classify.ts";

const ignore = () => {};

/**
 * One connection's gate. Statements without a signal pass with one check
 * (`held`) and one store (`last`); a statement with a signal goes through
 * {@linkcode CancelGate.alone}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CancelGate } from "./cancel_gate.ts";
 * const gate = new CancelGate();
 * let closed = false;
 * const ctl = new AbortController();
 * const running = gate.alone(ctl.signal, {
 *   send: () => new Promise((resolve) => setTimeout(() => resolve("done late"), 20)),
 *   cancel: () => Promise.resolve(false), // the cancel's outcome is unknown
 *   discard: () => void (closed = true),
 * });
 * assert(gate.held !== undefined); // later statements wait
 * ctl.abort();
 * assert.equal(await running, "done late");
 * assert(closed && gate.held === undefined); // unknown outcome: the connection was closed, not reused
 * ```
 */
export class CancelGate {
  /** Set while a statement with a signal, or its cancel, is pending: later statements wait for it. */
  held: Promise<void> | undefined;
  /** The last statement sent (statements on one connection settle in order). */
  last: Promise<unknown> | undefined;

  /**
   * The answer for a statement that cannot be sent now: on a `closed`
   * connection, a rejection saying it was not sent; while the gate is held,
   * `again` once it opens (or the signal's reason if `signal` aborts first:
   * the statement was not sent).
   */
  refuse<T>(closed: boolean, signal: AbortSignal | undefined, again: () => Promise<T>): Promise<T> {
    if (closed) {
      return Promise.reject(
        networkError("connection closed before the statement was sent", "CONNECTION_CLOSED", false),
      );
    }
    return raceAbort(this.held!, signal).then(again);
  }

  /**
   * Runs one statement with a signal, alone on the connection. `send` sends
   * it; when `signal` aborts while it runs, `cancel` asks the server to cancel
   * it and resolves true once the server took the request, false when that is
   * unknown, in which case `discard` closes the connection before the
   * statement's outcome is returned. Rejects with the signal's reason, having
   * sent nothing, when the signal aborts before the statement is sent.
   */
  async alone<T>(signal: AbortSignal, statement: {
    send: () => Promise<T>;
    cancel: () => Promise<boolean>;
    discard: () => Promise<void> | void;
  }): Promise<T> {
    let open: () => void = ignore;
    this.held = new Promise<void>((resolve) => open = resolve);
    try {
      if (this.last !== undefined) await raceAbort(this.last.then(ignore, ignore), signal);
      signal.throwIfAborted();
      const sent = statement.send();
      this.last = sent;
      let outcome: Promise<boolean> | undefined;
      const onAbort = () => {
        try {
          outcome = statement.cancel().catch(() => false);
        } catch {
          outcome = Promise.resolve(false);
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        return await sent;
      } finally {
        signal.removeEventListener("abort", onAbort);
        if (outcome !== undefined && !(await outcome)) await statement.discard();
      }
    } finally {
      this.held = undefined;
      open();
    }
  }
}
