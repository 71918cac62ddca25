// @dewey/db/otel through a server outage on a throwaway cluster: a `reconnect` span over the downtime with the
// failed and the successful `connect` spans under it, and a statement that waited the outage out.
import assert from "node:assert/strict";
import { SpanStatusCode } from "@opentelemetry/api";
import { otel } from "../integrations/otel.ts";
import { startCluster } from "./helpers/cluster.ts";
import { appName, testDb, waitFor } from "./helpers/db.ts";
import { inRequest, parentOf, recordingTracer } from "./helpers/otel.ts";

Deno.test("otel: a server restart is a reconnect span holding the connection attempts; a waiting statement spans it", async () => {
  await using pg = await startCluster();
  const { tracerProvider, spans } = recordingTracer();
  await using db = testDb(
    {
      application_name: appName("otelr"),
      pool_min: 1,
      pool_max: 2,
      pool_acquire_timeout: "20s",
      reconnect_backoff_base: "20ms",
      reconnect_backoff_max: "200ms",
    },
    { telemetry: otel({ tracerProvider }) },
    pg.url("postgres"),
  );
  await db.validateConnection();
  await pg.stop("fast");
  await waitFor(() => db.stats().total === 0 && db.stats().connectFailures > 0, 10_000);

  let answered: unknown;
  const request = await inRequest(tracerProvider, async () => {
    const pending = db.query("SELECT 42 AS n");
    await new Promise((r) => setTimeout(r, 300)); // the statement waits while the server is down
    await pg.start();
    answered = (await pending).rows[0].n;
  });
  assert.equal(answered, 42);

  const outage = spans().filter((s) => s.name === "reconnect");
  assert.equal(outage.length, 1, "one outage, one span");
  const reconnect = outage[0];
  assert.equal(parentOf(reconnect), undefined, "an outage belongs to no request");
  assert.ok(Number(reconnect.attributes["dewey.reconnect.attempts"]) >= 1);
  assert.ok(reconnect.events.some((e) => e.name === "retry scheduled"));
  const attempts = spans().filter((s) => s.name === "connect" && parentOf(s) === reconnect.spanContext().spanId);
  assert.ok(attempts.length >= 2, `failed attempts and the one that worked: ${attempts.length}`);
  const failed = attempts.filter((s) => s.status.code === SpanStatusCode.ERROR);
  assert.ok(failed.length >= 1);
  assert.ok(failed.every((s) => typeof s.attributes["error.type"] === "string"));
  assert.equal(attempts.at(-1)!.status.code, SpanStatusCode.UNSET, "the last attempt connected");

  const statement = spans().find((s) => s.name === "SELECT" && parentOf(s) === request);
  assert.ok(statement, "the statement is the request's child");
  assert.equal(statement.status.code, SpanStatusCode.UNSET);
  const wait = spans().find((s) => s.name === "pool wait" && parentOf(s) === statement.spanContext().spanId);
  assert.ok(wait, "it waited for a connection");
  assert.ok(wait.duration[0] * 1e3 + wait.duration[1] / 1e6 >= 250, "for the outage");
});
