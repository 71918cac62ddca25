// The conformance suite on the Neon serverless driver over WebSocket, through the local
// WebSocket-to-TCP proxy (adapters/wsproxy.ts) to the local PostgreSQL.
import { runConformance } from "./conformance/suite.ts";
import { neonDb } from "./helpers/neon.ts";

runConformance("neon", (settings) => neonDb(settings), {
  cancel: true,
  makeDbAt: (url, settings) => neonDb(settings, {}, url),
  // The WebSocket paces COPY FROM by its send buffer, but the local proxy (adapters/wsproxy.ts) reads it empty
  // whatever the server's pace, so the test cannot see the server's pace through it.
  copyBackpressure: { from: false, to: false },
  refuses: [
    { settings: { neon_http: true }, path: "database.postgres.neon_http" },
    { settings: { sslcert: "client.crt" }, path: "database.postgres.sslcert" },
    { settings: { sslmode: "require", ws_proxy: "ws://127.0.0.1:1/v2" }, path: "database.postgres.sslmode" },
  ],
});
