// The driver contract (tests/conformance/driver_suite.ts) on the fake driver the pool's unit tests use: the pool is
// tested against a stand-in that keeps the same promises as the real adapters.
import type { DatabaseConfig } from "../src/config/types.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import { runDriverContract } from "./conformance/driver_suite.ts";
import { type FakeConnection, FakeDriver } from "./helpers/fake_driver.ts";

const driver = new FakeDriver();
driver.delays.push({ match: /^SLOW/, ms: 10_000 });

runDriverContract("fake", {
  driver: () => driver,
  target: () => ({ config: {} as DatabaseConfig, host: "fake", port: 5432 }),
  failNextConnect: () => {
    driver.connectError = new DatabaseConnectionError("refused", { code: "ECONNREFUSED", retryable: true });
    return () => driver.connectError = undefined;
  },
  kill: (conn) => Promise.resolve((conn as FakeConnection).kill()),
  cancel: true,
  sql: false,
});
