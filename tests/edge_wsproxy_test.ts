// The dev WebSocket-to-TCP proxy (adapters/wsproxy.ts, `deno task wsproxy`).
import assert from "node:assert/strict";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { freePort } from "./helpers/net.ts";
import { neonDb, testTarget } from "./helpers/neon.ts";

const t = testTarget();
const target = { host: t.host, port: t.port };

/** Sends a raw HTTP/1.1 request and returns the status line and body. */
async function rawRequest(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    return await new Response(conn.readable).text();
  } catch (error) {
    conn.close();
    throw error;
  }
}

const upgrade = (path: string) =>
  `GET ${path} HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";

/** Opens a WebSocket and resolves with how it closed. */
function closeOf(url: string, send?: string | Uint8Array): Promise<{ code: number; reason: string; opened: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let opened = false;
    ws.onopen = () => {
      opened = true;
      if (send !== undefined) ws.send(send);
    };
    ws.onerror = () => {};
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, opened });
  });
}

Deno.test("wsproxy: refuses a client that names another database address, before dialing anything", async () => {
  await using proxy = serveWsProxy({ target, port: 0 });
  const res = await rawRequest(proxy.port, upgrade("/v2?address=db.example.invalid:5432"));
  assert.match(res, /^HTTP\/1\.1 403/);
  assert.match(res, new RegExp(`forwards only to ${t.host}:${t.port}, not to db.example.invalid:5432`));
  const port = await rawRequest(proxy.port, upgrade(`/v2?address=${t.host}:${t.port + 1}`));
  assert.match(port, /^HTTP\/1\.1 403/);
  assert.equal(proxy.accepted, 0);
  assert.equal(proxy.refused, 2);
});

Deno.test("wsproxy: a plain HTTP request gets 426; a text frame closes the socket with 1003", async () => {
  await using proxy = serveWsProxy({ target, port: 0 });
  const plain = await fetch(`http://127.0.0.1:${proxy.port}/v2`);
  assert.equal(plain.status, 426);
  assert.match(await plain.text(), /WebSocket-to-PostgreSQL proxy/);
  const closed = await closeOf(`ws://${proxy.wsProxy}?address=${t.host}:${t.port}`, "SELECT 1");
  assert.equal(closed.code, 1003);
  assert.equal(closed.reason, "binary frames only");
});

Deno.test("wsproxy: a database that is down closes the WebSocket with 1011", async () => {
  const down = freePort();
  await using proxy = serveWsProxy({ target: { host: "127.0.0.1", port: down }, port: 0 });
  const closed = await closeOf(`ws://${proxy.wsProxy}?address=127.0.0.1:${down}`);
  assert.ok(closed.opened);
  assert.equal(closed.code, 1011);
  assert.equal(closed.reason, "cannot reach the database");
});

Deno.test("wsproxy: loopback names are interchangeable (localhost reaches a 127.0.0.1 target)", async () => {
  await using db = neonDb({ host: "localhost" });
  assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
});

Deno.test("wsproxy: `deno task wsproxy` serves from the command line and stops on SIGINT", async () => {
  const task = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks.wsproxy as string;
  const [cmd, ...args] = task.split(/\s+/);
  assert.equal(cmd, "deno");
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args, "--listen", `127.0.0.1:${port}`, "--target", `${t.host}:${t.port}`],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let banner = "";
  while (!banner.includes("set ws_proxy")) {
    const { value, done } = await stdout.read();
    if (done) break;
    banner += value;
  }
  assert.match(banner, new RegExp(`ws://127\\.0\\.0\\.1:${port}/v2 → ${t.host}:${t.port}`));
  const { DatabaseConnection } = await import("../edge.ts");
  const { createDriver } = await import("../adapters/neon.ts");
  {
    await using db = new DatabaseConnection({
      postgres: { driver: "neon", ...t, ws_proxy: `127.0.0.1:${port}/v2`, health_check_interval: 0 },
    }, { driver: createDriver, logger: false });
    assert.deepEqual((await db.query("SELECT 2 AS two")).rows, [{ two: 2 }]);
  }
  child.kill("SIGINT");
  const status = await child.status;
  const rest = await (async () => {
    let text = "";
    for (let r = await stdout.read(); !r.done; r = await stdout.read()) text += r.value;
    return text;
  })();
  const stderr = await new Response(child.stderr).text();
  assert.equal(status.code, 0, stderr);
  assert.match(banner + rest, /forwarding to/);
});
