// @dewey/db/otel on the edge: a Worker bundle holds the OpenTelemetry API only when it enables it, and in workerd
// (with a context manager, as Workers OTel setups register one) the statement span nests under the request's.
import assert from "node:assert/strict";
import * as esbuild from "esbuild";
import { Miniflare } from "miniflare";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { bundleWorker, wranglerConfig } from "../examples/cloudflare-worker/bundle.ts";
import { testTarget } from "./helpers/neon.ts";

const OTEL = "/@opentelemetry/";

/**
 * The fixture Worker, bundled with wrangler's flags except `platform: browser`: the OpenTelemetry SDK it carries
 * picks its browser build through package.json's `browser` field (our modules need no such thing).
 */
async function bundleOtelWorker(): Promise<{ code: string; inputs: string[] }> {
  try {
    const result = await esbuild.build({
      entryPoints: [new URL("./fixtures/otel_worker.ts", import.meta.url).pathname],
      absWorkingDir: new URL("..", import.meta.url).pathname,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      external: ["node:*", "cloudflare:*"],
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    return { code: result.outputFiles[0].text, inputs: Object.keys(result.metafile.inputs) };
  } finally {
    await esbuild.stop();
  }
}

Deno.test("otel on the edge: the Worker example's bundle has no OpenTelemetry; one that enables it has the API", async () => {
  const plain = await bundleWorker((await wranglerConfig()).main);
  assert.ok(!Object.keys(plain.inputs).some((i) => i.includes(OTEL)), "no @opentelemetry module without otel()");
  const { inputs } = await bundleOtelWorker();
  assert.ok(inputs.some((i) => i.includes("/@opentelemetry/api/")));
  assert.ok(inputs.some((i) => i.endsWith("integrations/otel.ts")));
});

Deno.test("otel on the edge: in workerd the statement span is a child of the request span", async () => {
  const t = testTarget();
  await using proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
  const wrangler = await wranglerConfig();
  const { code } = await bundleOtelWorker();
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "worker.js", contents: code }],
    compatibilityDate: wrangler.compatibility_date,
    compatibilityFlags: ["nodejs_compat"],
    bindings: {
      DATABASE_URL: `postgres://${t.user}@${t.host}:${t.port}/${t.dbname}?ws_proxy=${proxy.wsProxy}`,
    },
    cf: false,
  });
  try {
    const res = await mf.dispatchFetch("http://worker.test/");
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const spans: { name: string; id: string; parent?: string; system?: string }[] = JSON.parse(text);
    const request = spans.find((s) => s.name === "request")!;
    const select = spans.find((s) => s.name === "SELECT");
    assert.ok(select, text);
    assert.equal(select.parent, request.id);
    assert.equal(select.system, "postgresql");
    assert.equal(spans.find((s) => s.name === "connect")?.parent, request.id);
  } finally {
    await mf.dispose();
  }
});
