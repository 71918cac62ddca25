/**
 * COPY and LISTEN on PGlite, with its own APIs: COPY goes through its
 * `/dev/blob` device (a `Blob` in, a `Blob` out: PGlite holds a COPY's data
 * in memory, as it holds the database), notifications through
 * `onNotification`.
 *
 * @module
 */

import type {
  ConnectionInfo,
  DriverConnection,
  DriverCopyOut,
  QueryResult,
  ServerNotification,
} from "../src/contracts.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import { fromServerError, shapeResult } from "./kit.ts";

/** The parts of a PGlite instance COPY and LISTEN use. */
export interface PgliteStreams {
  readonly closed: boolean;
  exec(text: string, options?: { blob?: Blob }): Promise<{ rows: unknown[]; rowCount?: number; blob?: Blob }[]>;
  onNotification(callback: (channel: string, payload: string) => void): () => void;
  /** Runs `fn` with PGlite's query lock held. */
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  execProtocol(message: Uint8Array, options?: { syncToFs?: boolean }): Promise<{ messages: { name: string }[] }>;
}

const FROM_STDIN = /\bFROM\s+STDIN\b/i;
const TO_STDOUT = /\bTO\s+STDOUT\b/gi;

/**
 * `COPY ... FROM STDIN` as PGlite runs it: from its `/dev/blob` device. Throws a `TypeError` for another statement.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyFromBlob } from "./pglite_stream.ts";
 * assert(copyFromBlob("COPY t (a) FROM STDIN (FORMAT csv)") === "COPY t (a) FROM '/dev/blob' (FORMAT csv)");
 * ```
 */
export function copyFromBlob(text: string): string {
  if (!FROM_STDIN.test(text)) throw new TypeError("expected a COPY ... FROM STDIN statement");
  return text.replace(FROM_STDIN, "FROM '/dev/blob'");
}

/**
 * `COPY ... TO STDOUT` as PGlite runs it: to its `/dev/blob` device (the last `TO STDOUT`: the one after the
 * query). Throws a `TypeError` for another statement.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyToBlob } from "./pglite_stream.ts";
 * assert(copyToBlob("COPY (SELECT 1) TO STDOUT") === "COPY (SELECT 1) TO '/dev/blob'");
 * ```
 */
export function copyToBlob(text: string): string {
  const matches = [...text.matchAll(TO_STDOUT)];
  const last = matches.at(-1);
  if (last?.index === undefined) throw new TypeError("expected a COPY ... TO STDOUT statement");
  return text.slice(0, last.index) + "TO '/dev/blob'" + text.slice(last.index + last[0].length);
}

/** Everything `source` yields, as one `Blob` (read until the end, or until `signal` aborts). */
export async function collect(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<Blob> {
  const parts: Uint8Array[] = [];
  const chunks = source[Symbol.asyncIterator]();
  const aborted = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  try {
    for (;;) {
      const step = await Promise.race([chunks.next(), aborted]);
      if (step.done) break;
      parts.push(step.value);
    }
  } catch (error) {
    void chunks.return?.().catch(() => {});
    throw error;
  }
  return new Blob(parts as BlobPart[]);
}

/** A `Blob`'s bytes, chunk by chunk, as COPY TO output. */
export function readBlob(blob: Blob): DriverCopyOut {
  const reader = blob.stream().getReader();
  return {
    async read() {
      const step = await reader.read();
      return step.done ? undefined : step.value;
    },
  };
}

const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

/**
 * The error for a statement that never ran because the PGlite connection `what` ("is closed", "closed before the
 * statement ran"): safe to send elsewhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pgliteClosed } from "./pglite_stream.ts";
 * assert(pgliteClosed("is closed").reachedServer === false);
 * ```
 */
export function pgliteClosed(what: string): DatabaseConnectionError {
  return new DatabaseConnectionError(`the PGlite connection ${what}`, {
    code: "CONNECTION_CLOSED",
    retryable: true,
    reachedServer: false,
  });
}

/** A simple-protocol Query message. */
function queryMessage(text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const message = new Uint8Array(body.length + 6);
  message[0] = 0x51; // 'Q'
  new DataView(message.buffer).setInt32(1, body.length + 5);
  message.set(body, 5);
  return message;
}

/**
 * Runs `text` once the one backend is outside a transaction (a Sync's ReadyForQuery says `I`), under PGlite's
 * query lock so nothing slips in between: PGlite has a single backend for every connection, and a LISTEN sent
 * inside another caller's transaction would be undone if that transaction rolled back.
 */
async function whenIdle(pg: PgliteStreams, text: string): Promise<void> {
  for (;;) {
    const ran = await pg._runExclusiveQuery(async () => {
      const { messages } = await pg.execProtocol(SYNC, { syncToFs: false });
      const status = (messages.findLast((m) => m.name === "readyForQuery") as { status?: string } | undefined)?.status;
      if (status === "T" || status === "E") return false;
      await pg.execProtocol(queryMessage(text), { syncToFs: false });
      return true;
    });
    if (ran) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The connection the core dedicates to LISTEN, on the same embedded backend as the pool's: it runs LISTEN and
 * UNLISTEN when the backend is idle, delivers notifications from PGlite's `onNotification`, and leaves the
 * backend alone when closed.
 */
export class PgliteListenConnection implements DriverConnection {
  #closed = false;
  #off: () => void;

  constructor(
    readonly pg: PgliteStreams,
    readonly info: ConnectionInfo,
    onNotification: (notification: ServerNotification) => void,
  ) {
    this.#off = pg.onNotification((channel, payload) => onNotification({ channel, payload, pid: info.pid }));
  }

  get closed(): boolean {
    return this.#closed || this.pg.closed;
  }

  async query(text: string): Promise<QueryResult> {
    if (this.closed) throw pgliteClosed("is closed");
    try {
      await whenIdle(this.pg, text);
    } catch (error) {
      throw fromServerError(error, true) ?? error;
    }
    return shapeResult([], [], "LISTEN", 0);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#off();
    return Promise.resolve();
  }
}
