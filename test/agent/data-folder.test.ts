// One writer per data folder (issue #10): a second `escrow-agent start` (or migrate, verify-db) on a folder in use
// is refused before it opens anything in it, a lock left by a killed agent does not block the next start, and
// several agents still share one PostgreSQL, each with its own data folder. Real processes, files and databases.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/agent/config.ts';
import { DataFolderInUseError, lockDataFolder } from '../../src/agent/data-folder-lock.ts';
import { KeyMismatchError } from '../../src/agent/key-fingerprints.ts';
import { openAgentStore } from '../../src/agent/open-agent-store.ts';
import { BIN, cleanEnvironment } from '../fakes/built-cli.ts';
import { postgresDatabases } from '../fakes/store-databases.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A folder set up as an operator would: its own relays.json naming the embedded relay on a free port. */
async function workFolder(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-folder-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'relays.json'),
    `${JSON.stringify({ relays: [{ url: `ws://127.0.0.1:${port}`, read: true, write: true }] })}\n`,
  );
  const env = cleanEnvironment();
  return { dir, env: { ...env, EMBEDDED_RELAY: `127.0.0.1:${port}`, LOG_LEVEL: 'warn' } };
}

interface Running {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function run(dir: string, env: NodeJS.ProcessEnv, args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function started(agent: Running): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!agent.output().includes('next:') && Date.now() < deadline && agent.child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(agent.output(), 'next:', `the agent did not start:\n${agent.output()}`);
}

/** Every file under `folder`, with the sha256 of its bytes. */
function fingerprintTree(folder: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (path: string, name: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      const relative = name ? `${name}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(full, relative);
      else if (entry.isFile())
        files.set(relative, createHash('sha256').update(readFileSync(full)).digest('hex'));
      else files.set(relative, entry.isSocket() ? 'socket' : 'other');
    }
  };
  walk(folder, '');
  return files;
}

test('a second start on a folder in use is refused (exit 2, naming the pid), and changes no file of the first', async () => {
  const { dir, env } = await workFolder();
  const data = join(dir, 'data');
  const first = run(dir, env, ['start']);
  try {
    await started(first);
    // The first agent is paused while the others run, so that a changed byte can only be theirs. A stopped
    // process keeps its lock.
    first.child.kill('SIGSTOP');
    const before = fingerprintTree(data);
    assert.ok(before.size > 10, `the running agent's folder has its files (${before.size})`);
    assert.ok([...before.keys()].some((path) => path.startsWith('sandbox/agent/')));
    // (verify-db and the runbook commands go to a running agent's control socket instead: test/ops.)
    for (const [command, says] of [
      [['start'], `escrow-agent: another agent (pid ${first.child.pid}) is using ${data}`],
      [['migrate'], `escrow-agent: migrate: the agent (pid ${first.child.pid}) is running on ${data}`],
    ] as const) {
      const second = run(dir, env, [...command]);
      const code = await second.exited;
      assert.is(code, 2, `${command[0]}: ${second.output()}`);
      assert.match(second.output(), says, command[0]);
      assert.not.match(second.output(), /^\s+at /m, 'no stack trace');
      assert.equal(fingerprintTree(data), before, `${command[0]} changed no file of the running agent`);
    }
    first.child.kill('SIGCONT');
    assert.is(first.child.exitCode, null, 'the first agent still runs');
  } finally {
    first.child.kill('SIGCONT');
    first.child.kill('SIGKILL');
    await first.exited;
  }

  // Killed, the first agent left its lock file and its pid file behind; neither blocks the next start.
  assert.is(readFileSync(join(data, 'agent.pid'), 'utf8').trim(), String(first.child.pid));
  const next = run(dir, env, ['start']);
  try {
    await started(next);
    assert.is(readFileSync(join(data, 'agent.pid'), 'utf8').trim(), String(next.child.pid));
    // The keys and the LDK nodes' seeds are the owner's alone.
    for (const file of [
      'agent.key',
      'preimage.key',
      'sandbox/agent/seed',
      'sandbox/payer/seed',
      'sandbox/worker/seed',
    ]) {
      assert.is((statSync(join(data, file)).mode & 0o777).toString(8), '600', file);
    }
  } finally {
    next.child.kill('SIGTERM');
  }
  assert.is(await next.exited, 0, next.output());
});

test('the lock is held in this process too, until released; a missing folder is not created by it', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-lock-'));
  const lock = await lockDataFolder(folder);
  const error = await lockDataFolder(folder).catch((caught: unknown) => caught);
  assert.instance(error, DataFolderInUseError);
  assert.is((error as DataFolderInUseError).pid, process.pid);
  assert.is((error as Error).message.split(':')[0], `another agent (pid ${process.pid}) is using ${folder}`);
  lock.release();
  lock.release();
  const again = await lockDataFolder(folder);
  again.release();
  const missing = join(folder, 'not', 'there');
  await lockDataFolder(missing).then(
    () => assert.unreachable('a folder that does not exist cannot be locked'),
    () => {},
  );
  assert.throws(() => statSync(missing), /ENOENT/);
});

test('openAgentStore holds the lock until its store is closed, and releases it when it refuses', async () => {
  const { dir, env } = await workFolder();
  const config = loadConfig({ env, cwd: dir });
  const opened = await openAgentStore(config, { agentKey: 'create' });
  await openAgentStore(config).then(
    () => assert.unreachable('a second opener in the same process is refused'),
    (error: unknown) => assert.instance(error, DataFolderInUseError),
  );
  await opened.store.close();
  // A refusal (here: the agent key replaced) leaves the folder unlocked for the next try.
  writeFileSync(join(config.dataDir, 'agent.key'), `${'11'.repeat(32)}\n`, { mode: 0o600 });
  await openAgentStore(config).then(
    () => assert.unreachable('another agent key is refused'),
    (error: unknown) => assert.instance(error, KeyMismatchError),
  );
  const lock = await lockDataFolder(config.dataDir);
  lock.release();
});

const postgres = postgresDatabases();
test.after(() => postgres.dispose());

test('several agents share one PostgreSQL, each with its own data folder and the same keys', async () => {
  const database = await postgres.create();
  const folders = [await workFolder(), await workFolder(), await workFolder()];
  const configs = folders.map(({ dir, env }) =>
    loadConfig({ env: { ...env, DATABASE_URL: database.url }, cwd: dir }),
  );
  const [one, two, stranger] = configs as [
    ReturnType<typeof loadConfig>,
    ReturnType<typeof loadConfig>,
    ReturnType<typeof loadConfig>,
  ];
  const first = await openAgentStore(one, { agentKey: 'create' });
  // The replica gets the first one's keys (as an operator copies them), in its own data folder.
  mkdirSync(two.dataDir, { recursive: true, mode: 0o700 });
  for (const file of ['agent.key', 'preimage.key']) {
    copyFileSync(join(one.dataDir, file), join(two.dataDir, file));
  }
  const second = await openAgentStore(two, { agentKey: 'create' });
  assert.is(second.identity.npub, first.identity.npub);
  assert.is(second.createdKey, false);
  // A third folder with keys of its own would be another agent on the same database: refused, nothing created.
  const refused = await openAgentStore(stranger, { agentKey: 'create' }).catch((error: unknown) => error);
  assert.instance(refused, KeyMismatchError);
  assert.match((refused as Error).message, 'restore');
  assert.equal(readdirSync(stranger.dataDir).sort(), ['agent.lock']);
  await first.store.close();
  await second.store.close();
});

test.run();
