// The driver contract (tests/conformance/driver_suite.ts) on the PGlite adapter, with no pool in between. One
// in-memory database (opening one runs initdb: seconds and ~0.7 GB); the suite's last test ends the connection from
// the database's side by closing it.
import { PGlite } from "@electric-sql/pglite";
import { createDriver } from "../adapters/pglite.ts";
import { parseConfig } from "../src/config/parse.ts";
import { runDriverContract } from "./conformance/driver_suite.ts";

const instance = new PGlite();
await instance.waitReady;
const config = parseConfig("pglite://memory", { env: {} });

runDriverContract("pglite", {
  driver: () => createDriver(config, { instance }),
  target: () => ({ config, host: "", port: 0 }),
  kill: () => instance.close(),
  cancel: false,
  sql: true,
});
