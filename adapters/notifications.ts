/**
 * Notifications read straight off a connection's byte stream (the server's
 * side of the protocol, after TLS), for drivers that drop part of them:
 * postgres.js reports a notification's channel and payload but not the
 * notifying backend's pid. Only the LISTEN connection is read this way, so
 * nothing is added to the statement path.
 *
 * @module
 */

import type { ServerNotification } from "../src/contracts.ts";

const NOTIFICATION = 0x41; // 'A'
const decoder = new TextDecoder();

/**
 * A function to call with every chunk the connection receives, from its first byte on; it calls `deliver` with
 * each `NotificationResponse` and skips every other message without copying it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notificationReader } from "./notifications.ts";
 * const seen: unknown[] = [];
 * const read = notificationReader((n) => seen.push(n));
 * const body = [0, 0, 0, 7, ...new TextEncoder().encode("ch\0hi\0")];
 * const bytes = new Uint8Array([0x5a, 0, 0, 0, 5, 0x49, 0x41, 0, 0, 0, 4 + body.length, ...body]);
 * read(bytes.subarray(0, 9)); // messages may be split anywhere
 * read(bytes.subarray(9));
 * assert.deepEqual(seen, [{ channel: "ch", payload: "hi", pid: 7 }]);
 * ```
 */
export function notificationReader(deliver: (notification: ServerNotification) => void): (chunk: Uint8Array) => void {
  const header = new Uint8Array(5);
  let have = 0;
  let skip = 0;
  let body: Uint8Array | undefined;
  let filled = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
      } else if (body !== undefined) {
        const n = Math.min(body.length - filled, chunk.length - i);
        body.set(chunk.subarray(i, i + n), filled);
        filled += n;
        i += n;
        if (filled === body.length) {
          const done = body;
          body = undefined;
          deliver(parse(done));
        }
      } else {
        header[have++] = chunk[i++];
        if (have < 5) continue;
        have = 0;
        const length = ((header[1] << 24) | (header[2] << 16) | (header[3] << 8) | header[4]) - 4;
        if (header[0] === NOTIFICATION) {
          body = new Uint8Array(length);
          filled = 0;
        } else skip = length;
      }
    }
  };
}

function parse(body: Uint8Array): ServerNotification {
  const pid = new DataView(body.buffer, body.byteOffset, body.byteLength).getInt32(0);
  const end = body.indexOf(0, 4);
  const channel = decoder.decode(body.subarray(4, end));
  const payload = decoder.decode(body.subarray(end + 1, body.indexOf(0, end + 1)));
  return { channel, payload, pid };
}
