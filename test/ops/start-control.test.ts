// The runbook commands against `escrow-agent start` itself, on the embedded set-up (its relay, the LDK sandbox,
// SQLite in the data folder), as an operator runs them: while it runs they go through its control socket (the
// agent's pid is named); once it stopped on SIGTERM the socket is gone and they run on the folder (the sandbox nodes
// started from it); the embedded relay stopped with the agent, so a command that reads relays says it cannot.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/cli.ts';
import { BIN, cleanEnvironment, ensureBuiltCli } from '../fakes/built-cli.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function run(env: NodeJS.ProcessEnv, ...argv: string[]) {
  const saved = process.env;
  process.env = env;
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await main(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    process.env = saved;
  }
}

test('escrow-agent start serves the runbook commands on its control socket; stopped, they run on the folder', async () => {
  ensureBuiltCli();
  const dir = mkdtempSync(join(tmpdir(), 'escrow-start-ops-'));
  const port = await freePort();
  const env = cleanEnvironment({
    AGENT_DATA_DIR: join(dir, 'data'),
    EMBEDDED_RELAY: `127.0.0.1:${port}`,
    NOSTR_RELAYS: `ws://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    HTTP_PORT: '0',
  });
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: dir, env });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 90_000;
    while (!output.includes('next:') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const socket = join(dir, 'data', 'control.sock');
    assert.ok(output.includes(`control:   ${socket}`), `start printed:\n${output}`);
    assert.is(statSync(socket).mode & 0o777, 0o600);

    const stuck = await run(env, 'holds', 'stuck');
    console.log(`\n$ escrow-agent holds stuck   (escrow-agent start running)\n${stuck.out}${stuck.err}`);
    assert.is(stuck.code, 0, stuck.err);
    assert.match(stuck.out, `holds stuck: through the running agent (pid ${child.pid})`);
    assert.match(stuck.out, 'holds stuck: none');

    const settle = await run(env, 'settle-stuck', '--execute');
    assert.is(settle.code, 0, settle.err);
    assert.match(settle.out, 'settle-stuck: nothing to do');

    // The agent published its profile, relay list and announcement to the embedded relay: all there.
    const all = /ws:\/\/127\.0\.0\.1:\d+: 3 expected, 3 present, 0 missing, 0 unknown/;
    let events = await run(env, 'verify-events');
    for (let tries = 0; !all.test(events.out) && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      events = await run(env, 'verify-events');
    }
    console.log(`\n$ escrow-agent verify-events   (escrow-agent start running)\n${events.out}${events.err}`);
    assert.is(events.code, 0, events.out);
    assert.match(events.out, all);

    child.kill('SIGTERM');
    assert.is(await exited, 0, output);
    assert.not.ok(existsSync(socket), 'the socket is removed at stop');

    const stopped = await run(env, 'sync-lightning');
    console.log(
      `\n$ escrow-agent sync-lightning   (escrow-agent start stopped)\n${stopped.out}${stopped.err}`,
    );
    assert.is(stopped.code, 0, stopped.err);
    assert.match(stopped.out, `sync-lightning: on the stopped agent's folder ${join(dir, 'data')}`);
    assert.match(stopped.out, 'store and node agree');

    // The embedded relay ran inside `start`: with the agent stopped there is no relay to read.
    const unread = await run(env, 'verify-events');
    console.log(`\n$ escrow-agent verify-events   (escrow-agent start stopped)\n${unread.out}${unread.err}`);
    assert.is(unread.code, 1, unread.out);
    assert.match(unread.out, 'could not be read');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
