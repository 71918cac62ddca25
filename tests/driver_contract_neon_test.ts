// The driver contract (tests/conformance/driver_suite.ts) on the Neon adapter over WebSocket, through the local
// WebSocket-to-TCP proxy to the local PostgreSQL, with no pool in between.
import { createDriver } from "../adapters/neon.ts";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { parseConfig } from "../src/config/parse.ts";
import { runDriverContract } from "./conformance/driver_suite.ts";
import { appName, terminateBackend } from "./helpers/db.ts";
import { testTarget } from "./helpers/neon.ts";

const t = testTarget();
const proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
const settings = (dbname: string) =>
  parseConfig({
    postgres: { driver: "neon", ...t, dbname, ws_proxy: proxy.wsProxy, application_name: appName("driver_neon") },
  }, { env: {} });
const config = settings(t.dbname);
const target = (c = config) => ({ config: c, host: t.host, port: t.port });

runDriverContract("neon", {
  driver: () => createDriver(config),
  target: () => target(),
  failingTarget: () => target(settings("dewey_no_such_db")),
  kill: (conn) => terminateBackend(conn.info.pid!),
  cancel: true,
  sql: true,
});

Deno.test("neon driver: the proxy stops", async () => {
  await proxy.close();
});
