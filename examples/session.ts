/**
 * Sessions: one connection, one transaction. COMMIT on return, ROLLBACK on
 * throw, nested sessions as SAVEPOINTs, `await using` that never commits by
 * accident, helpers that join the caller's transaction, and `dbManager`.
 *
 * Uses `DATABASE_URL`, else `config/dewey.yaml` (the local PostgreSQL):
 *
 * ```sh
 * deno run -A examples/session.ts
 * ```
 *
 * @module
 */

import { type DatabaseConnection, dbManager, getConnection, loadConfig } from "../mod.ts";

const db = await getConnection(await loadConfig());
// A table of our own per run, so runs side by side never collide.
const accounts = `example_accounts_${Deno.pid}`;

/** A helper that knows nothing about sessions: inside getSession(fn), db.query joins the caller's transaction. */
async function balance(db: DatabaseConnection, id: number): Promise<number> {
  const { rows } = await db.query<{ balance: number }>(`SELECT balance FROM ${accounts} WHERE id = $1`, [id]);
  return rows[0].balance;
}

try {
  await db.query(`CREATE TABLE ${accounts} (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))`);
  await db.query(`INSERT INTO ${accounts} VALUES (1, 100), (2, 0)`);

  // Callback form: COMMIT when it returns.
  await db.getSession(async (session) => {
    await session.query(`UPDATE ${accounts} SET balance = balance - $1 WHERE id = 1`, [30]);
    await session.query(`UPDATE ${accounts} SET balance = balance + $1 WHERE id = 2`, [30]);
    console.log(`inside the transaction, account 1 has ${await balance(db, 1)}`); // sees the uncommitted update
    // Nested: a SAVEPOINT, rolled back alone when it throws.
    await session.getSession(async (inner) => {
      await inner.query(`UPDATE ${accounts} SET balance = balance - 1000 WHERE id = 1`); // violates the CHECK
    }).catch((e) => console.log(`savepoint rolled back: ${e.code} ${e.message}`));
  });
  console.log(`committed: account 1 has ${await balance(db, 1)}, account 2 has ${await balance(db, 2)}`);

  // ROLLBACK when the callback throws.
  await db.getSession(async (session) => {
    await session.query(`UPDATE ${accounts} SET balance = 0`);
    throw new Error("changed my mind");
  }).catch(async (e) => console.log(`rolled back (${e.message}): account 1 has ${await balance(db, 1)}`));

  // `await using`: rolled back on scope exit unless committed, never an implicit commit.
  {
    await using session = await db.getSession({ isolation: "serializable", readOnly: true });
    const { rows } = await session.query(`SELECT sum(balance)::int AS total FROM ${accounts}`);
    console.log(`serializable read-only session: total ${rows[0].total}`);
    await session.commit();
  }
  {
    await using session = await db.getSession();
    await session.query(`DELETE FROM ${accounts}`);
    // no commit: the DELETE is rolled back here
  }
  const { rows: [{ n }] } = await db.query(`SELECT count(*)::int AS n FROM ${accounts}`);
  console.log(`uncommitted DELETE discarded: ${n} accounts remain`);

  // The application-wide instance, configured lazily from the same config on first use.
  const total = await dbManager.getSession(async (s) => {
    const { rows } = await s.query(`SELECT sum(balance)::int AS total FROM ${accounts}`);
    return rows[0].total as number;
  });
  console.log(`dbManager.getSession -> total ${total}`);
} finally {
  await db.query(`DROP TABLE IF EXISTS ${accounts}`);
  await dbManager.close();
  await db.close();
}
