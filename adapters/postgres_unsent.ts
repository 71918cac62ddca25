/**
 * Which statements a dead backend provably never ran, for the postgres.js
 * adapter.
 *
 * A backend killed while idle (`pg_terminate_backend`, `idle_session_timeout`,
 * a shutdown) sends one FATAL ErrorResponse and exits. Statements written in
 * the meantime reach a socket nobody reads: they fail, though none of them ran.
 * A backend answers in order and flushes everything it has buffered before its
 * FATAL, so when the FATAL is the first thing it says after a moment when
 * nothing was outstanding, it had answered nothing written since then:
 *
 * - a statement sent with the extended protocol (parameters) would have had
 *   its ParseComplete or BindComplete flushed ahead of the FATAL before
 *   anything of it ran: it never ran;
 * - a statement behind the first one was never read: it never ran;
 * - the first one, sent with the simple protocol, may have been running when
 *   the backend died (then rolled back): it counts as having reached the server;
 * - one issued after the FATAL, or after the backend closed its end (it never
 *   half-closes), is read by nobody.
 *
 * @module
 */

const ERROR_RESPONSE = 0x45; // E
const ASYNC = new Set([0x4e, 0x53, 0x41]); // NoticeResponse, ParameterStatus, NotificationResponse
const SEVERITY = 0x56; // V: the severity, never translated
const LOCALIZED_SEVERITY = 0x53; // S: servers before 9.6 send only this one

/** A statement's place, from {@linkcode DeathWatch.issue}: -1 for one that can never be proved unsent. */
export type Ticket = number;

/** The ticket of a statement issued after the backend said FATAL or closed: nobody will read it. */
const GONE = -2;

/**
 * One connection's watch: told of each statement issued and settled, and of
 * the bytes the server sends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeathWatch } from "./postgres_unsent.ts";
 * const watch = new DeathWatch();
 * const first = watch.issue(true); // simple protocol, first after a quiet moment
 * const second = watch.issue(false);
 * // FATAL 57P01, as a backend killed while idle sends it
 * const fields = new TextEncoder().encode("SFATAL\0VFATAL\0C57P01\0Mterminating connection\0\0");
 * const message = new Uint8Array(5 + fields.length);
 * message[0] = 0x45;
 * new DataView(message.buffer).setInt32(1, 4 + fields.length);
 * message.set(fields, 5);
 * watch.data(message);
 * assert(!watch.unsent(first) && watch.unsent(second));
 * ```
 */
export class DeathWatch {
  #inflight = 0;
  #group = 0;
  /** Set from a quiet moment until the server's next message: statements issued meanwhile join the group. */
  #armed = false;
  /** The group whose first answer was a FATAL. */
  #dead = -1;
  /** The backend said FATAL or closed its end: nothing sent from now on will be read. */
  #gone = false;

  /** Listens to the socket the protocol is read from (plaintext). */
  attach(socket: { on(event: "data", listener: (chunk: Uint8Array) => void): unknown }): void {
    const s = socket as typeof socket & { on(event: "end", listener: () => void): unknown };
    // Read while a group waits for its first answer, and while nothing is outstanding (a backend killed while
    // idle says FATAL then); the rest of the stream is postgres.js's business.
    s.on("data", (chunk) => (this.#armed || this.#inflight === 0) && this.data(chunk));
    // PostgreSQL never half-closes: its end of the stream means the backend is gone.
    s.on("end", () => this.#gone = true);
  }

  /** Whether the backend said FATAL or closed its end: nothing sent from now on would be read. */
  get gone(): boolean {
    return this.#gone;
  }

  /** A statement is about to be issued; `simple` when it goes with the simple protocol. */
  issue(simple: boolean): Ticket {
    let first = false;
    if (this.#inflight++ === 0) {
      this.#group++;
      this.#armed = first = true;
    }
    if (this.#gone) return GONE;
    if (!this.#armed) return -1;
    return this.#group * 2 + (first && simple ? 1 : 0);
  }

  /** A statement settled (its answer, or its failure, has been handled). */
  settle(): void {
    this.#inflight--;
  }

  /** Bytes from the server, read at the start of an answer or while nothing is outstanding. */
  data(chunk: Uint8Array): void {
    const verdict = firstAnswer(chunk);
    if (verdict === undefined) return; // only asynchronous messages so far
    if (verdict === "fatal") {
      if (this.#armed) this.#dead = this.#group;
      this.#gone = true;
    }
    this.#armed = false;
  }

  /** Whether the statement with `ticket` provably never ran: its backend died before answering it. */
  unsent(ticket: Ticket): boolean {
    return ticket === GONE || (ticket >= 0 && (ticket & 1) === 0 && ticket >> 1 === this.#dead);
  }
}

/** What the first message that is not asynchronous says: a FATAL, something else, or undefined (none yet). */
function firstAnswer(chunk: Uint8Array): "fatal" | "other" | undefined {
  let i = 0;
  while (i + 5 <= chunk.length) {
    const type = chunk[i];
    const length = ((chunk[i + 1] << 24) | (chunk[i + 2] << 16) | (chunk[i + 3] << 8) | chunk[i + 4]) >>> 0;
    if (ASYNC.has(type)) {
      i += 1 + length;
      continue;
    }
    if (type !== ERROR_RESPONSE || i + 1 + length > chunk.length) return "other";
    return isFatal(chunk.subarray(i + 5, i + 1 + length)) ? "fatal" : "other";
  }
  // A chunk that ends inside a message's header, or after asynchronous messages only: undecided only in the
  // latter case; a split header cannot be read, so it proves nothing.
  return i === chunk.length ? undefined : "other";
}

/** Whether an ErrorResponse's fields say FATAL or PANIC. */
function isFatal(fields: Uint8Array): boolean {
  let localized: string | undefined;
  for (let j = 0; j < fields.length && fields[j] !== 0;) {
    const type = fields[j];
    let end = j + 1;
    while (end < fields.length && fields[end] !== 0) end++;
    const value = String.fromCharCode(...fields.subarray(j + 1, end));
    if (type === SEVERITY) return value === "FATAL" || value === "PANIC";
    if (type === LOCALIZED_SEVERITY) localized = value;
    j = end + 1;
  }
  return localized === "FATAL" || localized === "PANIC";
}
