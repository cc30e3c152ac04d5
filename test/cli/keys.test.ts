// escrow-agent keys generate / rotate, on a real agent (the built CLI's `start`: LDK sandbox, SQLite, a relay on
// 127.0.0.1). generate writes a 0600 key file and prints only its npub and path. rotate is refused while the agent
// runs, while a task is open, and for a missing or bad key file; on a folder whose tasks are all finished it signs
// the rotation with the old key carrying the new key's acceptance, the new profile, relay list and announcement with
// the new key, publishes them, keeps the old key file, and the agent then starts as the new key. Again: a no-op.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodeNip19 } from 'nostr-tools/nip19';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import type { Relay } from 'nostr-tools/relay';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main, type Output } from '../../src/cli/cli.ts';
import { actionTemplate } from '../../src/protocol/build-action.ts';
import { parseAnnouncement } from '../../src/protocol/build-announcement.ts';
import { buildListing } from '../../src/protocol/build-listing.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { KEY_ROTATION_LABEL, verifyKeyRotation } from '../../src/protocol/key-rotation.ts';
import { collect } from '../fakes/agent-harness.ts';
import { BIN, cleanEnvironment, ensureBuiltCli } from '../fakes/built-cli.ts';
import { connectNostrTools, startTestRelay, type TestRelay } from '../fakes/relay.ts';

let relay: TestRelay;
let client: Relay;
let dir: string;
let configFile: string;
const poster = generateSecretKey();

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) };
}

/** `escrow-agent ARGS --config FILE` in-process, with only `env` of the agent's variables. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  process.env = cleanEnvironment(env);
  const io = capture();
  try {
    const code = await main([...args, '--config', configFile], io);
    return { code, stdout: io.stdout.join('\n'), stderr: io.stderr.join('\n') };
  } finally {
    process.env = saved;
  }
}

interface RunningCli {
  child: ChildProcess;
  npub: string;
  pubkey: string;
  stop(): Promise<string>;
}

/** The built CLI's `start` on the test folder, until its banner names the agent. */
async function startAgent(): Promise<RunningCli> {
  const child = spawn(process.execPath, [BIN, 'start', '--config', configFile], {
    cwd: dir,
    env: cleanEnvironment(),
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!/agent: +npub1/.test(output) && Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const npub = /agent: +(npub1[0-9a-z]+)/.exec(output)?.[1];
  if (!npub) {
    child.kill('SIGKILL');
    throw new Error(`start did not come up:\n${output}`);
  }
  return {
    child,
    npub,
    pubkey: decodeNip19(npub).data as string,
    async stop() {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(killer);
      assert.is(code, 0, `start did not stop cleanly:\n${output}`);
      return output;
    },
  };
}

async function waitForLabel(agent: string, taskId: string, label: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const events = await collect(client, { kinds: [KINDS.label], authors: [agent], '#e': [taskId] });
    if (events.some((event) => event.tags.some((tag) => tag[0] === 'l' && tag[1] === label))) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`task ${taskId.slice(0, 8)} never reached ${label}`);
}

async function postTask(agent: string): Promise<string> {
  const template = buildListing({
    d: `rotation-${randomBytes(4).toString('hex')}`,
    title: 'A task before the key rotation',
    amountMsat: 25_000_000n,
    agent,
    content: 'x',
    createdAt: Math.floor(Date.now() / 1000),
  });
  const listing = finalizeEvent(template, poster);
  await client.publish(listing);
  await waitForLabel(agent, listing.id, 'offered');
  return listing.id;
}

test.before(async () => {
  ensureBuiltCli();
  relay = await startTestRelay();
  client = await connectNostrTools(relay.url);
  dir = mkdtempSync(join(tmpdir(), 'escrow-keys-'));
  configFile = join(dir, 'escrow-agent.toml');
  writeFileSync(
    configFile,
    [
      '[agent]',
      'data_dir = "data"',
      'log_level = "warn"',
      '[nostr]',
      'embedded_relay = "off"',
      `relays = ["${relay.url}"]`,
      'publish_quorum = 1',
    ].join('\n'),
  );
});

test.after(async () => {
  client?.close();
  await relay?.stop();
});

test('keys generate: a 0600 key file, only its npub and path printed; never over an existing file', async () => {
  const file = join(dir, 'generated.key');
  const first = await cli(['keys', 'generate', '--out', file]);
  assert.is(first.code, 0, first.stderr);
  console.log(`keys generate printed:\n${first.stdout}`);
  const secret = readFileSync(file, 'utf8').trim();
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.is(statSync(file).mode & 0o777, 0o600);
  const npub = /new key: +(npub1[0-9a-z]+)/.exec(first.stdout)?.[1];
  assert.is(npub && decodeNip19(npub).data, getPublicKey(Uint8Array.from(Buffer.from(secret, 'hex'))));
  assert.match(first.stdout, file);
  assert.not.ok(`${first.stdout}${first.stderr}`.includes(secret), 'the secret is never printed');
  const again = await cli(['keys', 'generate', '--out', file]);
  assert.is(again.code, 2);
  assert.match(again.stderr, 'never overwritten');
  assert.is(readFileSync(file, 'utf8').trim(), secret, 'the file is untouched');
  const json = await cli(['keys', 'generate', '--out', join(dir, 'other.key'), '--json']);
  assert.equal(Object.keys(JSON.parse(json.stdout)).sort(), ['file', 'npub', 'pubkey']);
});

test('keys rotate: refused while the agent runs, while a task is open, and for a missing or bad key file; then done', async () => {
  const newKey = join(dir, 'next.key');
  assert.is((await cli(['keys', 'generate', '--out', newKey])).code, 0);
  const newPubkey = getPublicKey(Uint8Array.from(Buffer.from(readFileSync(newKey, 'utf8').trim(), 'hex')));

  let agent = await startAgent();
  const oldPubkey = agent.pubkey;
  const keyFile = join(dir, 'data', 'agent.key');
  const oldSecret = readFileSync(keyFile, 'utf8').trim();
  const running = await cli(['keys', 'rotate', '--new-key', newKey]);
  assert.is(running.code, 2);
  assert.match(running.stderr, /the agent \(pid \d+\) is running .*stop the agent/, running.stderr);

  const taskId = await postTask(oldPubkey);
  await agent.stop();
  const open = await cli(['keys', 'rotate', '--new-key', newKey, '--execute']);
  assert.is(open.code, 2, open.stdout);
  console.log(`keys rotate with an open task printed:\n${open.stderr}`);
  assert.match(open.stderr, '1 task is not finished (1 offered)');
  assert.match(open.stderr, 'escrow-agent pause');
  assert.is(readFileSync(keyFile, 'utf8').trim(), oldSecret, 'nothing changed');

  // Missing, readable by others, not a key: each refused with what to change.
  const missing = await cli(['keys', 'rotate', '--new-key', join(dir, 'nope.key')]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, 'does not exist: make one with `escrow-agent keys generate --out');
  const loose = join(dir, 'loose.key');
  writeFileSync(loose, `${'ab'.repeat(32)}\n`, { mode: 0o644 });
  chmodSync(loose, 0o644);
  const looseRun = await cli(['keys', 'rotate', '--new-key', loose]);
  assert.is(looseRun.code, 2);
  assert.match(looseRun.stderr, `can be read by others (mode 644); run: chmod 600 ${loose}`);
  const garbage = join(dir, 'garbage.key');
  writeFileSync(garbage, 'not a key\n', { mode: 0o600 });
  const garbageRun = await cli(['keys', 'rotate', '--new-key', garbage]);
  assert.is(garbageRun.code, 2);
  assert.match(garbageRun.stderr, 'must hold 64 lowercase hex characters');
  const fromEnv = await cli(['keys', 'rotate', '--new-key', newKey], { AGENT_SECRET_KEY: oldSecret });
  assert.is(fromEnv.code, 2);
  assert.match(fromEnv.stderr, 'Unset AGENT_SECRET_KEY');
  assert.not.ok(fromEnv.stderr.includes(oldSecret));

  // The poster cancels: every task finished.
  agent = await startAgent();
  await client.publish(
    finalizeEvent(
      actionTemplate({
        name: 'cancel',
        taskId,
        agent: oldPubkey,
        createdAt: Math.floor(Date.now() / 1000),
        extraTags: [],
        content: '',
      }),
      poster,
    ),
  );
  await waitForLabel(oldPubkey, taskId, 'cancelled');
  await agent.stop();

  const dry = await cli(['keys', 'rotate', '--new-key', newKey]);
  assert.is(dry.code, 0, dry.stderr);
  console.log(`keys rotate (dry run) printed:\n${dry.stdout}`);
  assert.match(dry.stdout, 'a dry run, nothing was written');
  assert.is(readFileSync(keyFile, 'utf8').trim(), oldSecret, 'a dry run changes nothing');

  const done = await cli(['keys', 'rotate', '--new-key', newKey, '--execute']);
  assert.is(done.code, 0, done.stderr);
  console.log(`keys rotate --execute printed:\n${done.stdout}`);
  assert.match(done.stdout, `${relay.url} took all 5`);
  for (const secret of [oldSecret, readFileSync(newKey, 'utf8').trim()]) {
    assert.not.ok(`${done.stdout}${done.stderr}`.includes(secret), 'no secret printed');
  }

  // The old key is kept (0600), the new one installed.
  const kept = (/keep: +the current key as (\S+)/.exec(done.stdout) ?? [])[1]!;
  assert.ok(kept?.startsWith(`${keyFile}.old-npub1`), done.stdout);
  assert.is(readFileSync(kept, 'utf8').trim(), oldSecret);
  assert.is(statSync(kept).mode & 0o777, 0o600);
  assert.is(readFileSync(keyFile, 'utf8').trim(), readFileSync(newKey, 'utf8').trim());
  assert.is(statSync(keyFile).mode & 0o777, 0o600);

  // On the relay: the rotation signed by the old key, the acceptance inside signed by the new key, and the new
  // key's announcement, profile and relay list.
  const rotations = (await collect(client, { kinds: [KINDS.label], authors: [oldPubkey] })).filter((event) =>
    event.tags.some((tag) => tag[0] === 'l' && tag[1] === KEY_ROTATION_LABEL),
  );
  assert.is(rotations.length, 1);
  const rotation = rotations[0]!;
  assert.ok(verifyEvent(rotation), "the old key's signature");
  const checked = verifyKeyRotation(rotation);
  assert.ok(checked.ok, checked.ok ? '' : checked.reason);
  if (checked.ok) {
    assert.is(checked.oldPubkey, oldPubkey);
    assert.is(checked.newPubkey, newPubkey);
    assert.is(checked.acceptance.pubkey, newPubkey);
    assert.ok(verifyEvent(checked.acceptance), "the new key's signature inside");
  }
  assert.not.ok(
    rotation.tags.some((tag) => tag[0] === 'p' && tag[1] === newPubkey),
    'the new key is not p-tagged',
  );
  const forged = { ...rotation, content: rotation.content.replace(/"sig":"[0-9a-f]{4}/, '"sig":"0000') };
  assert.not.ok(verifyKeyRotation(forged).ok, 'a damaged acceptance fails');
  const announcements = await collect(client, { kinds: [KINDS.handler], authors: [newPubkey] });
  assert.is(announcements.length, 1);
  assert.ok(verifyEvent(announcements[0]!));
  assert.ok(parseAnnouncement(announcements[0]!).ok);
  assert.is((await collect(client, { kinds: [KINDS.profile], authors: [newPubkey] })).length, 1);
  const relayLists = await collect(client, { kinds: [KINDS.relayList], authors: [newPubkey] });
  assert.equal(relayLists[0]?.tags, [['r', relay.url]]);

  // Again: nothing to do.
  const again = await cli(['keys', 'rotate', '--new-key', newKey, '--execute']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, "is already the agent's key");

  // The agent starts as the new key, on the same database, and takes a new task.
  agent = await startAgent();
  assert.is(agent.pubkey, newPubkey);
  await postTask(newPubkey);
  await agent.stop();
  assert.ok(existsSync(kept), 'the old key file is still there');
});

test.run();
