// The conformance suite on the PGlite adapter. Opening PGlite runs initdb (~3.5 s, ~0.7 GB), so every
// DatabaseConnection here shares one in-memory database, one at a time, as tests share the local PostgreSQL.
import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { createDriver } from "../adapters/pglite.ts";
import { DatabaseConnection } from "../mod.ts";
import { runConformance } from "./conformance/suite.ts";

const shared = new PGlite();
await shared.waitReady;

runConformance(
  "pglite",
  (settings) =>
    new DatabaseConnection(
      { postgres: { driver: "pglite", health_check_interval: 0, ...settings } },
      { driver: (config) => createDriver(config, { instance: shared }), logger: false },
    ),
  { cancel: false, maxConnections: 1 },
);

// Registered after the suite, so it runs last: the ~0.7 GB go before the next test file starts.
Deno.test("pglite: the shared database closes cleanly after the suite", async () => {
  await shared.close();
  assert.equal(shared.closed, true);
});
