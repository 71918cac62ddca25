// Errors from cursors and COPY pass through the configuration's redactor, as statements' do: a server error that
// quotes the password (here as an identifier) reaches the caller masked.
import assert from "node:assert/strict";
import { testDb } from "./helpers/db.ts";

const SECRET = "S3cret-Pw!streams";

Deno.test("cursor and COPY errors mask the configuration's secrets", async () => {
  await using db = testDb({ password: SECRET, pool_max: 1 }); // the local server trusts: the password is only known
  const errors: unknown[] = [];
  await (async () => {
    for await (const _ of db.cursor(`SELECT "${SECRET}"`)) assert.fail("no rows");
  })().catch((e) => errors.push(e));
  await db.copyFrom(`COPY "${SECRET}" FROM STDIN`, "1\n").catch((e) => errors.push(e));
  await new Response(db.copyTo(`COPY "${SECRET}" TO STDOUT`)).text().catch((e) => errors.push(e));
  await db.getSession(async (s) => {
    await (async () => {
      for await (const _ of s.cursor(`SELECT "${SECRET}"`)) assert.fail("no rows");
    })().catch((e) => errors.push(e));
  }).catch(() => {});
  assert.equal(errors.length, 4);
  for (const e of errors) {
    const text = `${(e as Error).message} ${(e as Error).stack} ${JSON.stringify(e)} ${Deno.inspect(e)}`;
    assert.ok(!text.includes(SECRET), `secret leaked: ${text}`);
    assert.match((e as Error).message, /\*\*\*/);
  }
});
