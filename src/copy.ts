/**
 * COPY: bulk loading from a stream, an iterable or a string, and bulk
 * export as a `ReadableStream`, on one connection, at the pace the slower
 * side sets.
 *
 * @module
 */

import { asCancelled, cancelledError } from "./abort.ts";
import { capable, noteFailure, type Pin, type Pinned } from "./pinned.ts";

/**
 * What `copyFrom` reads: a string, bytes, a `ReadableStream` of either, or an
 * (async) iterable of either. Strings are sent as UTF-8.
 */
export type CopySource =
  | string
  | Uint8Array
  | ReadableStream<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

/** Options of `copyFrom` and `copyTo`. */
export interface CopyOptions {
  /**
   * Aborts the COPY: `copyFrom` fails it on the server (rolled back, nothing copied) and rejects with the reason;
   * `copyTo` cancels it and the stream errors.
   */
  signal?: AbortSignal;
}

/** The COPY's outcome. */
export interface CopyResult {
  /** Rows copied, as the server counted them. */
  rowCount: number;
}

/** Characters per chunk when a string source is cut up. */
const STRING_CHUNK = 64 * 1024;

/**
 * Runs `COPY ... FROM STDIN` with `source`'s data on the pinned connection. A
 * failing source or an abort fails the COPY on the server and rejects with
 * that error; a bad row rejects with the server's `QueryError`. Nothing is
 * copied then (the statement is rolled back; in a session, its transaction is
 * left failed, as after any failed statement).
 *
 * @example
 * ```ts ignore
 * const { rowCount } = await copyFrom(pin, "COPY items (id, name) FROM STDIN (FORMAT csv)", "1,pen\n2,ink\n");
 * ```
 */
export async function copyFrom(
  pin: Pin,
  text: string,
  source: CopySource,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const chunks = copyChunks(source); // a TypeError for a wrong source, before a connection is taken
  const { signal } = options;
  let pinned: Pinned;
  try {
    signal?.throwIfAborted();
    pinned = await pin(signal);
  } catch (error) {
    throw signal ? asCancelled(error, signal, "queued") : error;
  }
  let discard = false;
  try {
    const conn = capable(pinned, "copyFrom", "COPY FROM STDIN");
    return await conn.copyFrom(text, chunks, signal);
  } catch (error) {
    const failure = noteFailure(pinned, error);
    discard = failure.discard;
    // Aborted while it ran: the adapter failed the COPY on the server, which rolled it back.
    if (signal?.aborted && failure.error === signal.reason) throw cancelledError(signal, "running", true);
    throw signal ? asCancelled(failure.error, signal, "running") : failure.error;
  } finally {
    await pinned.release(discard);
  }
}

/**
 * Runs `COPY ... TO STDOUT` on a pinned connection when the stream is first
 * read, and hands the output out as it comes. The connection is given back
 * when the stream ends, errors or is cancelled: a cancel stops the COPY on
 * the server when the connection was taken for it, and reads the rest off
 * the wire when it is a session's or an engine connection's (which stays
 * usable).
 *
 * @example
 * ```ts ignore
 * for await (const chunk of copyTo(pin, "COPY items TO STDOUT (FORMAT csv)")) out.write(chunk);
 * ```
 */
export function copyTo(pin: Pin, text: string, options: CopyOptions = {}): ReadableStream<Uint8Array> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let pinned: Pinned | undefined;
  let read: (() => Promise<Uint8Array | undefined>) | undefined;
  let released = false;
  const release = async (discard: boolean) => {
    if (released || pinned === undefined) return;
    released = true;
    await pinned.release(discard);
  };
  const fail = async (error: unknown) => {
    const user = options.signal;
    if (pinned === undefined) return user ? asCancelled(error, user, "queued") : error;
    const failure = noteFailure(pinned, error);
    await release(failure.discard);
    return user ? asCancelled(failure.error, user, "running") : failure.error;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (read === undefined) {
          options.signal?.throwIfAborted();
          pinned = await pin(options.signal);
          const out = capable(pinned, "copyTo", "COPY TO STDOUT").copyTo(text, signal);
          read = () => out.read();
        }
        const chunk = await read();
        if (chunk !== undefined) return controller.enqueue(chunk);
        // Aborted, yet it finished: a cancel request may still reach the backend and hit the next statement.
        await release(options.signal?.aborted === true);
        controller.close();
      } catch (error) {
        controller.error(await fail(error));
      }
    },
    async cancel() {
      if (read === undefined) return;
      if (pinned?.own) stop.abort(new DOMException("the COPY output was cancelled", "AbortError"));
      let cancelled = false;
      try {
        while (await read() !== undefined) { /* drained */ }
      } catch (error) {
        cancelled = (error as { code?: unknown }).code === "57014";
        if (!cancelled) {
          await fail(error);
          return;
        }
      }
      // Asked to stop, yet it finished: the cancel request may still reach the backend and hit the next statement.
      await release(stop.signal.aborted && !cancelled);
    },
  }, { highWaterMark: 0 });
}

/** `source` as byte chunks, cut to size; a `TypeError` for anything else. */
function copyChunks(source: CopySource): AsyncIterable<Uint8Array> {
  if (typeof source === "string") return fromIterable(stringChunks(source));
  if (source instanceof Uint8Array) return fromIterable([source]);
  if (source instanceof ReadableStream) return fromStream(source);
  if (typeof source === "object" && source !== null) {
    if (Symbol.asyncIterator in source || Symbol.iterator in source) return fromIterable(source);
  }
  throw new TypeError(
    "copyFrom reads a string, a Uint8Array, a ReadableStream, or an (async) iterable of strings or Uint8Arrays",
  );
}

function* stringChunks(text: string): Iterable<string> {
  for (let i = 0; i < text.length;) {
    let end = Math.min(i + STRING_CHUNK, text.length);
    // Never between the two halves of a surrogate pair: each would encode as U+FFFD.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield text.slice(i, end);
    i = end;
  }
}

async function* fromIterable(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>) {
  const encoder = new TextEncoder();
  for await (const chunk of chunks) yield bytes(chunk, encoder);
}

async function* fromStream(stream: ReadableStream<Uint8Array | string>) {
  const encoder = new TextEncoder();
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const step = await reader.read();
      if (step.done) {
        done = true;
        return;
      }
      yield bytes(step.value, encoder);
    }
  } finally {
    // Stopped early (the COPY failed): tell the producer nobody reads any more.
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function bytes(chunk: Uint8Array | string, encoder: TextEncoder): Uint8Array {
  if (typeof chunk === "string") return encoder.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(`a COPY source yields strings or Uint8Arrays, got ${Object.prototype.toString.call(chunk)}`);
}
