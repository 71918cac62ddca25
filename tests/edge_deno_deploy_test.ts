// examples/deno-deploy.ts under `deno serve`, on the Neon adapter through the local WebSocket proxy.
import assert from "node:assert/strict";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { freePort } from "./helpers/net.ts";
import { testTarget } from "./helpers/neon.ts";

const root = new URL("..", import.meta.url).pathname;

/** GETs `url` until the server answers (it is starting), up to `ms`. */
async function firstResponse(url: string, ms: number): Promise<Response> {
  const end = performance.now() + ms;
  while (true) {
    try {
      return await fetch(url);
    } catch (error) {
      if (performance.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

Deno.test("deno-deploy example: deno serve answers /query on one kept connection and /healthz", async () => {
  const t = testTarget();
  await using proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
  const port = freePort();
  const app = `dewey_deploy_${Deno.pid}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "--quiet",
      "--allow-net",
      "--allow-env",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "examples/deno-deploy.ts",
    ],
    cwd: root,
    env: {
      DATABASE_URL:
        `postgres://${t.user}@${t.host}:${t.port}/${t.dbname}?driver=neon&ws_proxy=${proxy.wsProxy}&application_name=${app}`,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  try {
    const health = await firstResponse(`http://127.0.0.1:${port}/healthz`, 15_000);
    assert.equal(health.status, 200);
    const snapshot = await health.json();
    assert.equal(snapshot.status, "healthy");
    assert.match(snapshot.serverVersion, /^\d+/);

    const first = await fetch(`http://127.0.0.1:${port}/query?n=41`);
    assert.equal(first.status, 200);
    const a = await first.json();
    assert.equal(a.next, 42);
    const b = await (await fetch(`http://127.0.0.1:${port}/query?n=1`)).json();
    assert.equal(b.next, 2);
    assert.equal(b.pid, a.pid, "the module-level connection is reused across requests");
    assert.ok(proxy.accepted >= 1 && proxy.connections >= 1, "traffic went through the WebSocket proxy");

    const missing = await fetch(`http://127.0.0.1:${port}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    // SIGTERM would wait for the test's keep-alive HTTP connection (graceful shutdown); this process has no children.
    child.kill("SIGKILL");
    await child.status;
    const [stdout, stderr] = await output;
    assert.doesNotMatch(stdout + stderr, /error/i, stdout + stderr);
  }
});
