// Cold start child: @dewey/db from a new process to the first row. Prints "ROW" when it has it.
import { getConnection } from "../../mod.ts";

const url = new URL(Deno.args[0]);
url.searchParams.set("sslmode", "disable");
const db = await getConnection(url.href, { logger: false });
const rows = await db.sql`SELECT 1 AS one`;
if (rows[0]?.one !== 1) throw new Error(`unexpected row ${JSON.stringify(rows)}`);
await Deno.stdout.write(new TextEncoder().encode("ROW\n"));
await db.close();
