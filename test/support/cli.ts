// The `skerry` command as an operator runs it: bin/skerry.js in a process of its own, with its exit
// code and output, so a test sees what a shell would.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SKERRY_BIN = fileURLToPath(new URL('../../bin/skerry.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `skerry <args>` with exactly `env`: nothing from the test's shell reaches it unless passed. */
export function runSkerry(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SKERRY_BIN, ...args], { env, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** The environment that points the command at a test stack's admin API with its key. */
export function stackCliEnv(stack: { apiUrl: string; apiKey: string }): NodeJS.ProcessEnv {
  return { ...process.env, SKERRY_API_URL: stack.apiUrl, SKERRY_API_KEY: stack.apiKey };
}
