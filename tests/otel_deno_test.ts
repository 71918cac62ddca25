// Deno's built-in OpenTelemetry (OTEL_DENO=true) with @dewey/db/otel: a Deno.serve app in a subprocess exports
// OTLP/HTTP (protobuf, Deno's default) to a receiver started here; the database spans sit under the HTTP span.
import assert from "node:assert/strict";
import { TEST_URL } from "./helpers/db.ts";
import { otlpReceiver } from "./helpers/otlp.ts";

Deno.test("otel under OTEL_DENO=true: the statement and transaction spans are children of Deno's HTTP server span", async () => {
  await using receiver = otlpReceiver();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./fixtures/otel_deno_app.ts", import.meta.url).pathname],
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: "dewey-otel-test",
      OTEL_METRIC_EXPORT_INTERVAL: "100",
      DATABASE_URL: TEST_URL,
      DENO_NO_UPDATE_CHECK: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const port = Number(out.trim());
  assert.ok(port > 0, `the app printed its port: ${JSON.stringify(out)}`);
  const res = await fetch(`http://127.0.0.1:${port}/`);
  assert.deepEqual(await res.json(), { n: 42 });
  await reader.cancel();
  const { code } = await child.status;
  const stderr = await new Response(child.stderr).text();
  assert.equal(code, 0, stderr);

  assert.equal(receiver.contentTypes.get("/v1/traces"), "application/x-protobuf");
  const http = receiver.spans.filter((s) => s.kind === 2 /* SERVER */);
  assert.equal(http.length, 1, JSON.stringify(receiver.spans.map((s) => s.name)));
  const ours = receiver.spans.filter((s) => s.scope === "@dewey/db");
  const select = ours.find((s) => s.name === "SELECT" && s.attributes["db.query.text"] === "SELECT $1::int + 1 AS n");
  assert.ok(select, JSON.stringify(ours.map((s) => s.name)));
  assert.equal(select.kind, 3 /* CLIENT */);
  assert.equal(select.parentSpanId, http[0].spanId, "the statement is a child of the request");
  assert.equal(select.traceId, http[0].traceId);
  assert.equal(select.attributes["db.system.name"], "postgresql");
  const tx = ours.find((s) => s.name === "transaction");
  assert.equal(tx?.parentSpanId, http[0].spanId);
  const inTx = ours.filter((s) => s.parentSpanId === tx!.spanId).map((s) => s.name);
  assert.deepEqual(inTx, ["BEGIN", "SELECT", "COMMIT"]);
  assert.ok(receiver.metricNames.has("db.client.operation.duration"), [...receiver.metricNames].join(", "));
  assert.ok(receiver.metricNames.has("db.client.connection.count"));
});
