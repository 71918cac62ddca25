// The driver contract (tests/conformance/driver_suite.ts) on the postgres.js adapter over TCP, against the local
// PostgreSQL, with no pool in between.
import { createDriver } from "../adapters/postgres.ts";
import { parseConfig } from "../src/config/parse.ts";
import { runDriverContract } from "./conformance/driver_suite.ts";
import { appName, terminateBackend, TEST_URL } from "./helpers/db.ts";

const app = appName("driver");
const config = parseConfig(`${TEST_URL}?application_name=${app}&sslmode=disable`, { env: {} });
const missing = parseConfig(`${new URL("/dewey_no_such_db", TEST_URL)}?sslmode=disable`, { env: {} });
const target = (c = config) => ({ config: c, host: c.hosts[0].host, port: c.hosts[0].port });

runDriverContract("postgres", {
  driver: () => createDriver(config),
  target: () => target(),
  failingTarget: () => target(missing),
  kill: (conn) => terminateBackend(conn.info.pid!),
  cancel: true,
  sql: true,
});
