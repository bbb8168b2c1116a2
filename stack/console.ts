// `npm run console:build`: builds the console now (npm start builds it only when it is missing or stale).
import { ensureConsoleBuilt } from './console-build';

await ensureConsoleBuilt({ force: process.argv.includes('--force'), log: (line) => console.log(`[skerry] ${line}`) });
console.log('[skerry] the console is in dist/console (served at /console/ on the admin door)');
process.exit(0);
