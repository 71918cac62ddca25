// The conformance suite on postgres.js over TCP, against the local PostgreSQL.
import { runConformance } from "./conformance/suite.ts";
import { testDb } from "./helpers/db.ts";

runConformance("postgres", (settings) => testDb(settings), {
  cancel: true,
  makeDbAt: (url, settings) => testDb(settings, {}, url),
  copyBackpressure: { from: true, to: true },
});
