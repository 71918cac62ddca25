// Under Node, against the npm build: sslmode=verify-full on the throwaway cluster `tests/node_test.ts` starts
// (ssl=on, pg_hba hostssl only, a certificate for localhost and 127.0.0.1 signed by the test CA).
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { DatabaseConnectionError, getConnection } from "../../mod.ts";

const env = (name: string): string => process.env[name] ?? assert.fail(`${name} is not set`);
const port = env("DEWEY_NODE_TLS_PORT");
const url = (host: string, rootcert: string) =>
  `postgres://postgres@${host}:${port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(rootcert)}` +
  "&connect_timeout=5s&health_check_interval=0";

test("verify-full with the server's CA, by name and by IP address: the server sees TLS", async () => {
  for (const host of ["localhost", "127.0.0.1"]) {
    const db = await getConnection(url(host, env("DEWEY_NODE_TLS_CA")), { logger: false });
    try {
      const [row] = await db.sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
      assert.equal(row.ssl, true, host);
    } finally {
      await db.close();
    }
  }
});

test("verify-full with another CA: DatabaseConnectionError SSL_CERT_UNTRUSTED", async () => {
  const error = await getConnection(url("localhost", env("DEWEY_NODE_TLS_OTHER_CA")), { logger: false })
    .then(async (db) => {
      await db.close();
      return undefined;
    }, (e: unknown) => e);
  assert.ok(error instanceof DatabaseConnectionError, String(error));
  assert.equal(error.code, "SSL_CERT_UNTRUSTED");
});
