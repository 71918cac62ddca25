// @dewey/db (mod.ts) registers the `neon` driver name lazily. A file of its own: mod.ts registers
// `postgres`, which the edge entry's tests must not see.
import assert from "node:assert/strict";
import { getConnection } from "../mod.ts";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { testTarget } from "./helpers/neon.ts";

const t = testTarget();

Deno.test("@dewey/db resolves driver: neon lazily", async () => {
  await using proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
  await using db = await getConnection(
    `postgres://${t.user}@${t.host}:${t.port}/${t.dbname}?driver=neon&ws_proxy=${proxy.wsProxy}&health_check_interval=0`,
    { logger: false },
  );
  assert.deepEqual((await db.query("SELECT 3 AS three")).rows, [{ three: 3 }]);
  assert.equal(proxy.accepted, 1);
});
