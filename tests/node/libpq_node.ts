// Under Node, against the npm build: what libpq reads beside the connection string works as on Deno: a Unix
// socket directory as host, the password file (~/.pgpass), a service file (~/.pg_service.conf).
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { test } from "node:test";
import { DatabaseConnection, getConnection } from "../../mod.ts";

const dir = process.env.DEWEY_NODE_SOCKET_DIR ?? "/var/run/postgresql";
const port = Number(process.env.DEWEY_NODE_SOCKET_PORT ?? 5432);
const password = process.env.DEWEY_NODE_SCRAM_PASSWORD ?? "";
const sql = "SELECT inet_server_addr() IS NULL AS socket, current_user AS who";

/** A home directory holding `files` (mode 0600), removed after `fn`. */
async function withHome(files: Record<string, string>, fn: (home: string) => Promise<void>): Promise<void> {
  const home = mkdtempSync(`${tmpdir()}/dewey-node-home-`);
  try {
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(`${home}/${name}`, text);
      chmodSync(`${home}/${name}`, 0o600);
    }
    await fn(home);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

test("a Unix socket directory as host: a percent-encoded URL host and PGHOST", async () => {
  for (
    const [text, env] of [
      [`postgresql://postgres@${encodeURIComponent(dir)}:${port}/postgres`, {}],
      ["postgres:///postgres?user=postgres", { PGHOST: dir, PGPORT: String(port) }],
    ] as const
  ) {
    const db = await getConnection(text, { env, logger: false });
    try {
      assert.deepEqual((await db.query(sql)).rows, [{ socket: true, who: "postgres" }]);
    } finally {
      await db.close();
    }
  }
});

test("~/.pgpass gives the password a SCRAM role needs; a group-readable one is ignored, and said so", async () => {
  await withHome({ ".pgpass": `*:${port}:*:scramnode:${password}\n` }, async (home) => {
    const text = `postgresql://scramnode@${encodeURIComponent(dir)}:${port}/postgres`;
    const db = await getConnection(text, { env: { HOME: home }, logger: false });
    try {
      assert.deepEqual((await db.query(sql)).rows, [{ socket: true, who: "scramnode" }]);
      assert.equal(db.config.sources.password, `${home}/.pgpass:1`);
    } finally {
      await db.close();
    }
    chmodSync(`${home}/.pgpass`, 0o644);
    await assert.rejects(
      getConnection(text, { env: { HOME: home }, logger: false }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "PASSWORD_MISSING");
        assert.match(e.message, /group or world access/);
        return true;
      },
    );
  });
});

test("service=name reads ~/.pg_service.conf, synchronously in new DatabaseConnection() too", async () => {
  const conf = `[nodesvc]\nhost=${dir}\nport=${port}\nuser=scramnode\ndbname=postgres\npassword=${password}\n`;
  await withHome({ ".pg_service.conf": conf }, async (home) => {
    const db = new DatabaseConnection("service=nodesvc", { env: { HOME: home }, logger: false });
    try {
      assert.equal(db.config.sources.host, `${home}/.pg_service.conf:2 [nodesvc]`);
      assert.deepEqual((await db.query(sql)).rows, [{ socket: true, who: "scramnode" }]);
    } finally {
      await db.close();
    }
  });
});
