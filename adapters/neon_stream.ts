/**
 * COPY and statement descriptions on a Neon (`pg`) client, as "submittable"
 * queries: objects the client drives message by message, as `pg-copy-streams`
 * does, without hijacking its socket.
 *
 * - COPY FROM sends each chunk once the WebSocket has sent most of what it
 *   holds (its `bufferedAmount`), a failing source as CopyFail.
 * - COPY TO hands out the data as it arrives. A WebSocket cannot be paused:
 *   output read slower than the network delivers it waits in memory.
 *
 * @module
 */

import type { DriverCopyOut } from "../src/contracts.ts";

/** The parts of pg's `Connection` a submittable talks to. */
export interface PgWire {
  query(text: string): void;
  parse(query: { text: string; name?: string; types?: number[] }): void;
  describe(target: { type: "S" | "P"; name?: string }): void;
  sync(): void;
  sendCopyFromChunk(chunk: Uint8Array): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  /** The Neon socket: a WebSocket and, when writes are coalesced, bytes not yet handed to it. */
  stream: { ws?: { bufferedAmount?: number }; writeBuffer?: Uint8Array };
}

/** What a pg client calls on its active query; errors may come without a ReadyForQuery (a dropped link). */
interface Submittable {
  submit(wire: PgWire): null;
  handleRowDescription(): void;
  handleDataRow(): void;
  handlePortalSuspended(): void;
  handleEmptyQuery(): void;
  handleCommandComplete(message: { text: string }): void;
  handleCopyInResponse(wire: PgWire): void;
  handleCopyData(message: { chunk: Uint8Array }): void;
  handleError(error: unknown): void;
  handleReadyForQuery(): void;
}

/** Bytes the WebSocket may hold before the next chunk waits. */
const SEND_BUFFER = 1 << 20;

class Base {
  protected settled = false;
  protected error: unknown;
  /** An error of the caller's or ours (the source's, a wrong statement), passed on as it is, not as the link's. */
  own: unknown;
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCommandComplete(_message: { text: string }): void {}
  handleCopyData(_message: { chunk: Uint8Array }): void {}
  handleCopyInResponse(wire: PgWire): void {
    wire.sendCopyFail("not a COPY FROM STDIN statement");
  }
}

/** A COPY's row count from its command tag (`COPY 3`). */
function tagCount(text: string): number {
  const n = Number(text.slice(text.lastIndexOf(" ") + 1));
  return Number.isFinite(n) ? n : 0;
}

/**
 * `COPY ... FROM STDIN` fed from `source`. `done` resolves to the row count, or rejects with the source's error
 * (after the server acknowledged the CopyFail), the server's, or the link's.
 */
export class CopyIn extends Base implements Submittable {
  readonly done: Promise<number>;
  #resolve!: (count: number) => void;
  #reject!: (error: unknown) => void;
  #count = 0;
  #copying = false;
  #sourceError: { error: unknown } | undefined;
  #stop: (() => void) | undefined;

  constructor(readonly text: string, readonly source: AsyncIterable<Uint8Array>, readonly signal?: AbortSignal) {
    super();
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  submit(wire: PgWire): null {
    wire.query(this.text);
    return null;
  }

  override handleCopyInResponse(wire: PgWire): void {
    this.#copying = true;
    void this.#pump(wire);
  }

  async #pump(wire: PgWire): Promise<void> {
    const chunks = this.source[Symbol.asyncIterator]();
    let onAbort = () => {};
    const stopped = new Promise<never>((_, reject) => {
      this.#stop = () => reject(new Error("the COPY ended"));
      onAbort = () => reject(this.signal!.reason);
    });
    stopped.catch(() => {});
    this.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      this.signal?.throwIfAborted();
      for (;;) {
        const step = await Promise.race([chunks.next(), stopped]);
        if (step.done) break;
        wire.sendCopyFromChunk(bufferLike(step.value));
        while (!this.settled && buffered(wire) > SEND_BUFFER) await Promise.race([tick(), stopped]);
        // Coalesced writes are handed to the WebSocket on the next macrotask: let that happen before adding more.
        if (wire.stream.writeBuffer !== undefined) await Promise.race([tick(), stopped]);
      }
      wire.endCopyFrom();
    } catch (error) {
      void chunks.return?.().catch(() => {});
      if (this.settled) return; // the server ended it (a bad row): nothing more to send
      this.#sourceError = { error };
      const message = error instanceof Error ? error.message : String(error);
      wire.sendCopyFail(`the COPY source failed: ${message}`);
    } finally {
      this.signal?.removeEventListener("abort", onAbort);
    }
  }

  override handleCommandComplete(message: { text: string }): void {
    this.#count = tagCount(message.text);
  }

  handleError(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#stop?.();
    if (this.#sourceError) this.own = this.#sourceError.error;
    this.#reject(this.#sourceError ? this.#sourceError.error : error);
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    this.#stop?.();
    if (this.#copying) this.#resolve(this.#count);
    else this.#reject(this.own = new TypeError("expected a COPY ... FROM STDIN statement"));
  }
}

/** `COPY ... TO STDOUT`: its data as it arrives, then the end of the statement. */
export class CopyOut extends Base implements Submittable, DriverCopyOut {
  #chunks: Uint8Array[] = [];
  #copied = false;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(readonly text: string) {
    super();
  }

  submit(wire: PgWire): null {
    wire.query(this.text);
    return null;
  }

  override handleCopyData(message: { chunk: Uint8Array }): void {
    this.#copied = true;
    // A copy: pg's parser hands out views of a buffer it fills again with what arrives next.
    this.#chunks.push(new Uint8Array(message.chunk));
    this.#notify();
  }

  handleError(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.error = error;
    this.#notify();
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    this.#ended = true;
    if (!this.#copied) this.error = this.own = new TypeError("expected a COPY ... TO STDOUT statement");
    this.#notify();
  }

  async read(): Promise<Uint8Array | undefined> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) return chunk;
      if (this.error !== undefined) throw this.error;
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * The server's types for a statement's parameters (Parse and Describe of the unnamed statement): pg binds every
 * parameter as untyped text, so an array is an array literal unless the adapter knows the parameter is json.
 */
export class DescribeParams extends Base implements Submittable {
  readonly done: Promise<number[]>;
  #resolve!: (types: number[]) => void;
  #reject!: (error: unknown) => void;
  types: number[] = [];

  constructor(readonly text: string) {
    super();
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  submit(wire: PgWire): null {
    wire.parse({ text: this.text, name: "", types: [] });
    wire.describe({ type: "S", name: "" });
    wire.sync();
    return null;
  }

  handleError(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#reject(error);
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    this.#resolve(this.types);
  }
}

/** pg's message writer copies a chunk with Buffer's `copy`: a view of the same bytes that has one. */
function bufferLike(chunk: Uint8Array): Uint8Array {
  const view = chunk.subarray(0);
  return Object.assign(view, {
    copy: (target: Uint8Array, offset = 0) => (target.set(view, offset), view.length),
  });
}

function buffered(wire: PgWire): number {
  return (wire.stream.ws?.bufferedAmount ?? 0) + (wire.stream.writeBuffer?.length ?? 0);
}

function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
