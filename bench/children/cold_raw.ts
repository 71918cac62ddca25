// Cold start child: raw postgres.js from a new process to the first row. Prints "ROW" when it has it.
import postgres from "postgres";

const sql = postgres(Deno.args[0], { ssl: false, max: 10, onnotice: () => {} });
const rows = await sql`SELECT 1 AS one`;
if (rows[0]?.one !== 1) throw new Error(`unexpected row ${JSON.stringify(rows)}`);
await Deno.stdout.write(new TextEncoder().encode("ROW\n"));
await sql.end({ timeout: 1 });
