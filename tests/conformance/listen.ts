/**
 * Conformance: LISTEN/NOTIFY. Payloads and the sender's pid, channel names
 * that need quoting, several handlers, unlisten, delivery at commit, handler
 * errors, and (on adapters with a server to restart) re-LISTEN after a
 * restart with the `listen-gap` event.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { NotificationInfo } from "../../src/listen.ts";
import { startCluster } from "../helpers/cluster.ts";
import { waitFor } from "../helpers/db.ts";
import type { Conformance } from "./suite.ts";

type Received = { payload: string; info: NotificationInfo }[];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the LISTEN/NOTIFY tests. */
export function listenTests({ name, caps, test, open }: Conformance): void {
  const channel = (label: string) => `Dewey ${label} "${name}" ${Deno.pid}`;

  test("LISTEN/NOTIFY: payload and sender pid, quoted names, several handlers, unlisten", async () => {
    await using db = await open({ pool_max: 1 });
    const ch = channel("Mixed Case");
    const first: Received = [];
    const second: Received = [];
    const sub = await db.listen(ch, (payload, info) => void first.push({ payload, info }));
    {
      await using _other = await db.listen(ch, (payload, info) => void second.push({ payload, info }));
      const pid = await db.getSession(async (s) => {
        const { rows } = await s.query("SELECT pg_notify($1, $2), pg_backend_pid() AS pid", [ch, "one"]);
        return rows[0].pid as number;
      });
      await waitFor(() => first.length === 1 && second.length === 1, 5000, "the first notification");
      assert.deepEqual(first[0], { payload: "one", info: { channel: ch, pid } });
      await db.notify(ch, "two");
      await db.notify(ch.toLowerCase(), "another channel: the name is case-sensitive");
      await db.notify(ch);
      await waitFor(() => first.length === 3 && second.length === 3, 5000, "two more notifications");
      assert.deepEqual(first.map((n) => n.payload), ["one", "two", ""]);
    }
    // The second subscription is gone (await using): only the first handler hears the next one.
    await db.notify(ch, "three");
    await waitFor(() => first.length === 4, 5000, "the fourth notification");
    await sleep(50);
    assert.equal(second.length, 3);
    // The LISTEN connection is not one of the pool's: with pool_max 1 a session still gets a connection.
    assert.equal(db.stats().max, 1);
    await db.getSession(async (s) => void await s.query("SELECT 1"));
    assert.ok(db.stats().total <= 1);
    await sub.unlisten();
    await sub.unlisten(); // twice is fine
    await db.notify(ch, "after unlisten");
    await sleep(100);
    assert.equal(first.length, 4);
    await assert.rejects(db.notify("", "x"), TypeError);
    await assert.rejects(db.listen("x".repeat(64), () => {}), TypeError);
  });

  test("NOTIFY in a session is delivered when it commits, never when it rolls back", async () => {
    await using db = await open({ pool_max: 2 });
    const ch = channel("commit");
    const got: string[] = [];
    await using _sub = await db.listen(ch, (payload) => void got.push(payload));
    await db.getSession(async (s) => {
      await s.query("SELECT pg_notify($1, 'committed')", [ch]);
      await sleep(100);
      assert.deepEqual(got, [], "not before COMMIT");
    });
    await assert.rejects(
      db.getSession(async (s) => {
        await s.query("SELECT pg_notify($1, 'rolled back')", [ch]);
        throw new Error("undo");
      }),
      /undo/,
    );
    await db.notify(ch, "after");
    await waitFor(() => got.length === 2, 5000, "two notifications");
    assert.deepEqual(got, ["committed", "after"]);
  });

  test("a throwing handler is reported as listen-error; the others still run", async () => {
    await using db = await open();
    const ch = channel("errors");
    const errors: { channel: string; error: string }[] = [];
    db.on("listen-error", (e) => void errors.push(e.detail));
    const got: string[] = [];
    await using _bad = await db.listen(ch, () => {
      throw new Error("handler broke");
    });
    await using _async = await db.listen(ch, () => Promise.reject(new Error("async handler broke")));
    await using _good = await db.listen(ch, (payload) => void got.push(payload));
    await db.notify(ch, "x");
    await waitFor(() => got.length === 1 && errors.length === 2, 5000, "the notification and two errors");
    assert.deepEqual(errors.map((e) => e.channel), [ch, ch]);
    assert.match(errors.map((e) => e.error).join(" "), /handler broke.*async handler broke/);
  });

  // A throwaway cluster needs Deno's process APIs: not there when Node runs this file through tests/node/deno_shim.ts.
  const clusters = typeof (Deno as { Command?: unknown }).Command === "function";
  if (caps.makeDbAt && clusters) {
    const makeDbAt = caps.makeDbAt;
    test("LISTEN across a server restart: the channels are LISTENed again and listen-gap reports the downtime", async () => {
      // The server closes idle sessions after 1 s: the LISTEN connection, which only waits, must stay.
      await using pg = await startCluster({ settings: { idle_session_timeout: "1s" } });
      await using db = makeDbAt(pg.url("postgres"), { reconnect_backoff_base: "20ms", reconnect_backoff_max: "200ms" });
      const ch = channel("restart");
      const got: string[] = [];
      const gaps: { channels: string[]; downtimeMs: number; since: string }[] = [];
      db.on("listen-gap", (e) => void gaps.push(e.detail));
      await using _sub = await db.listen(ch, (payload) => void got.push(payload));
      await sleep(2500);
      assert.equal(gaps.length, 0, "no gap while idle: the connection outlived idle_session_timeout");
      await db.notify(ch, "before");
      await waitFor(() => got.length === 1, 5000, "the notification before the restart");
      await pg.restart("fast");
      await waitFor(() => gaps.length === 1, 15_000, "the listen-gap event");
      assert.deepEqual(gaps[0].channels, [ch]);
      assert.ok(gaps[0].downtimeMs > 0 && !Number.isNaN(Date.parse(gaps[0].since)), JSON.stringify(gaps[0]));
      // The pool's connections died with the server too; the first statement after may fail once.
      for (let i = 0;; i++) {
        try {
          await db.notify(ch, "after");
          break;
        } catch (error) {
          if (i >= 3) throw error;
        }
      }
      await waitFor(() => got.length === 2, 5000, "the notification after the restart");
      assert.deepEqual(got, ["before", "after"]);
    });
  }
}
