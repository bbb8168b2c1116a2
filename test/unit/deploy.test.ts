// The production files are checked by the tools that consume them: promtool for the alert rules
// (syntax and the rule unit tests in deploy/alerts.test.yml), docker-compose for the Compose file.
// CI (.ci/run installs both) fails when a tool is missing; a developer's run without them skips the
// check and says which package brings the tool.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function onPath(tool: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${tool}`]);
    return true;
  } catch {
    return false;
  }
}

const IN_CI = process.env.CI === 'true';
const hasPromtool = IN_CI || (await onPath('promtool'));
const hasCompose = IN_CI || (await onPath('docker-compose'));
if (!hasPromtool) console.warn('[deploy.test] promtool is not on PATH: alert rule checks skipped (apt-get install prometheus)');
if (!hasCompose) console.warn('[deploy.test] docker-compose is not on PATH: compose validation skipped (apt-get install docker-compose)');

describe('alert rules (promtool)', () => {
  it.skipIf(!hasPromtool)('pass promtool check rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', 'deploy/alerts.yml'], { cwd: ROOT });
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.skipIf(!hasPromtool)('pass their unit tests (promtool test rules)', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', 'deploy/alerts.test.yml'], { cwd: ROOT });
    expect(stdout).toContain('SUCCESS');
  });

  it.skipIf(!hasPromtool)('are loaded by the Prometheus config, which promtool accepts with the API key file in place', async () => {
    // The config names the key file where Compose mounts it; the full check (which opens every file it
    // names) runs on a copy pointing at a key file of the test's own.
    const dir = await mkdtemp(join(tmpdir(), 'skerry-prometheus-'));
    const config = await readFile(join(ROOT, 'deploy/prometheus.yml'), 'utf8');
    expect(config).toContain('credentials_file: /etc/prometheus/secrets/skerry-metrics-api-key');
    await writeFile(join(dir, 'key'), 'sk_test_prometheus_read_key\n');
    await writeFile(join(dir, 'prometheus.yml'), config.replace('/etc/prometheus/secrets/skerry-metrics-api-key', join(dir, 'key')));
    await copyFile(join(ROOT, 'deploy/alerts.yml'), join(dir, 'alerts.yml'));
    const { stdout, stderr } = await run('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir });
    expect(stdout + stderr).toContain('SUCCESS: 1 rule files found');
    expect(stdout + stderr).toContain('alerts.yml');
    await rm(dir, { recursive: true, force: true });
  });

  it('scrapes the admin door with a bearer key (every admin route needs one)', async () => {
    const config = await readFile(join(ROOT, 'deploy/prometheus.yml'), 'utf8');
    const apiJob = config.slice(config.indexOf('- job_name: skerry-api'), config.indexOf('- job_name: skerry-worker'));
    expect(apiJob).toMatch(/authorization:\s+type: Bearer\s+credentials_file: \S+/);
  });
});

describe('docker-compose.yml', () => {
  it.skipIf(!hasCompose)('validates with docker-compose config', async () => {
    const env = { ...process.env, STRIPE_SECRET_KEY: 'sk_live_compose_check', STRIPE_WEBHOOK_SECRET: 'whsec_compose_check', TOKEN_ENCRYPTION_KEY: 'compose_check' };
    await run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, env });
    const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config', '--services'], { cwd: ROOT, env });
    const { stdout: resolved } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, env });
    // The admin-tools job registers every search attribute the workflows set.
    for (const name of Object.keys(SKERRY_SEARCH_ATTRIBUTES)) expect(resolved, name).toMatch(new RegExp(`- ${name}\\n`));
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['api', 'postgres', 'prometheus', 'temporal', 'temporal-admin-tools', 'temporal-postgres', 'temporal-ui', 'worker'].sort(),
    );
  });
});
