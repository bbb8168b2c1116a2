// `skerry keys rotate-encryption`: the end of a TOKEN_ENCRYPTION_KEY rotation. Every stored OAuth
// token is sealed again with TOKEN_ENCRYPTION_KEY, reading what TOKEN_ENCRYPTION_KEY_PREVIOUS (or the
// old key-id-less format) sealed (store/sealed-tokens.ts). It runs against the database with the
// application's own configuration (the environment and .env.<APP_ENV>), where the worker runs.
//
// A rotation: set TOKEN_ENCRYPTION_KEY to the new key and TOKEN_ENCRYPTION_KEY_PREVIOUS to the old
// one everywhere, restart, run this until it reports nothing unreadable. The tokens then need only
// the new key. Workflow histories cannot be re-encrypted (Temporal keeps them as written): the
// previous key stays configured until the workflows started before the rotation have closed and
// their histories have passed the namespace's retention.
import { Command } from 'commander';
import { ConfigError, loadConfig, loadEnvFiles } from '../../config';
import { createDatabase } from '../../db/client';
import { resealTokens, type ResealReport } from '../../store/sealed-tokens';
import { CliError, EXIT, type GlobalOptions } from '../http';
import { print, table } from '../output';

function reportText(report: ResealReport, hasPrevious: boolean): string {
  const tables = [
    { table: 'oauth_tokens (PayPal, MobilePay)', ...report.oauthTokens },
    { table: 'channel_accounts (Airbnb hosts)', ...report.channelAccounts },
  ];
  const lines = [
    `Sealed with key ${report.keyId} (TOKEN_ENCRYPTION_KEY):`,
    table(
      tables.map((row) => ({ table: row.table, 're-sealed': row.resealed, 'already current': row.current, unreadable: row.unreadable.length })),
      ['table', 're-sealed', 'already current', 'unreadable'],
    ),
  ];
  const unreadable = tables.flatMap((row) => row.unreadable.map((entry) => ({ table: row.table.split(' ')[0], row: entry.row, reason: entry.reason })));
  if (unreadable.length > 0) {
    lines.push('', 'Not opened by TOKEN_ENCRYPTION_KEY or TOKEN_ENCRYPTION_KEY_PREVIOUS (left as they are):', table(unreadable, ['table', 'row', 'reason']));
  } else if (hasPrevious) {
    lines.push(
      '',
      'Every token now needs only TOKEN_ENCRYPTION_KEY. Keep TOKEN_ENCRYPTION_KEY_PREVIOUS for the workflow',
      'payloads until the workflows started before the rotation have closed and left retention.',
    );
  }
  return lines.join('\n');
}

/** `databaseUrl`: where the `keys` command points (--database-url, DATABASE_URL or npm start's). */
export function rotateEncryptionCommand(globals: () => GlobalOptions, env: NodeJS.ProcessEnv, databaseUrl: () => string): Command {
  return new Command('rotate-encryption')
    .description('seal every stored OAuth token again with TOKEN_ENCRYPTION_KEY (after setting TOKEN_ENCRYPTION_KEY_PREVIOUS to the old key)')
    .action(async () => {
      loadEnvFiles(env);
      let keys;
      try {
        keys = loadConfig(env).channels.tokenEncryptionKey;
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage);
        throw err;
      }
      const url = databaseUrl();
      const database = createDatabase(url, { max: 1 });
      let report: ResealReport;
      try {
        report = await resealTokens(database.db, keys);
      } catch (err) {
        const code = ((err as { cause?: { code?: string } }).cause ?? (err as { code?: string })).code;
        if (code === 'ECONNREFUSED') throw new CliError(`cannot reach the database at ${url.replace(/\/\/[^@]*@/, '//')} (is npm start running? or set DATABASE_URL)`, EXIT.unavailable);
        throw err;
      } finally {
        await database.close();
      }
      print(globals(), report, () => reportText(report, keys.previous !== undefined));
      const unreadable = report.oauthTokens.unreadable.length + report.channelAccounts.unreadable.length;
      if (unreadable > 0) {
        throw new CliError(`${unreadable} stored token${unreadable > 1 ? 's' : ''} opened with neither key: the rotation is not over`, EXIT.unavailable);
      }
    });
}
