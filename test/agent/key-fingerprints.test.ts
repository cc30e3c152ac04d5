// Keys that must match their database (issue #10): the database records the fingerprints of the preimage key and
// of the agent key on first use; start, migrate and verify-db with a missing or different key refuse (exit 2) with
// the fix and the fingerprint of the key to restore, and create no key. Real files, real SQLite, the real command.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { npubEncode } from 'nostr-tools/nip19';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentConfig, loadConfig } from '../../src/agent/config.ts';
import {
  KeyMismatchError,
  PREIMAGE_FINGERPRINT_LABEL,
  preimageKeyFingerprint,
} from '../../src/agent/key-fingerprints.ts';
import { openAgentStore } from '../../src/agent/open-agent-store.ts';
import { readSecret } from '../../src/agent/secret-files.ts';
import { openStore } from '../../src/store/index.ts';
import { BIN, cleanEnvironment } from '../fakes/built-cli.ts';
import { taskStory, writeStory } from '../fakes/store-fixtures.ts';

const OTHER_KEY = `${'5a'.repeat(32)}\n`;

interface Folder {
  dir: string;
  env: NodeJS.ProcessEnv;
  config: AgentConfig;
  preimageKey: string;
  agentKey: string;
  /** The fingerprints the database recorded. */
  preimageFingerprint: string;
  agentNpub: string;
}

/** A data folder that was used: keys created by the agent, a task with a sealed preimage in its database. */
async function usedFolder(): Promise<Folder> {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-keys-'));
  const env = cleanEnvironment();
  // A start that got past the keys would need a relay: none is reachable, and none is needed to be refused.
  Object.assign(env, { EMBEDDED_RELAY: 'off', NOSTR_RELAYS: 'ws://127.0.0.1:9' });
  const config = loadConfig({ env, cwd: dir });
  const { store, identity } = await openAgentStore(config, { agentKey: 'create' });
  await writeStory(store, taskStory('sealed'), 'funded');
  await store.close();
  const preimageKey = readFileSync(config.preimageKeyFile, 'utf8');
  return {
    dir,
    env,
    config,
    preimageKey,
    agentKey: readFileSync(config.keyFile, 'utf8'),
    preimageFingerprint: preimageKeyFingerprint(readSecret(config.preimageKeyFile, 'preimage key')),
    agentNpub: identity.npub,
  };
}

function run(folder: Folder, args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: folder.dir,
    env: { ...folder.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

function assertRefused(result: { code: number | null; output: string }, says: string[], what: string) {
  assert.is(result.code, 2, `${what}: ${result.output}`);
  for (const part of says) assert.match(result.output, part, what);
  assert.not.match(result.output, /^\s+at /m, `${what}: no stack trace`);
}

test('the fingerprint of a preimage key is the sha256 of a labelled text an operator can compute, never the key', () => {
  const key = Buffer.from('0f'.repeat(32), 'hex');
  const expected = createHash('sha256')
    .update(`nostr-escrow-agent preimage key fingerprint v1:${'0f'.repeat(32)}`)
    .digest('hex');
  assert.is(PREIMAGE_FINGERPRINT_LABEL, 'nostr-escrow-agent preimage key fingerprint v1:');
  assert.is(preimageKeyFingerprint(key), expected);
  assert.is.not(preimageKeyFingerprint(key), createHash('sha256').update(key).digest('hex'));
  assert.not.match(preimageKeyFingerprint(key), '0f'.repeat(32));
});

test('the first use records both fingerprints in the database; keys are created with mode 0600', async () => {
  const folder = await usedFolder();
  for (const file of [folder.config.keyFile, folder.config.preimageKeyFile]) {
    assert.is((statSync(file).mode & 0o777).toString(8), '600', file);
  }
  const store = await openStore({
    url: folder.config.databaseUrl,
    preimageKey: readSecret(folder.config.preimageKeyFile, 'preimage key'),
  });
  const recorded = await store.read(async (tx) => ({
    preimage: await tx.keys.fingerprint('preimage'),
    agent: await tx.keys.fingerprint('agent'),
  }));
  await store.close();
  assert.is(recorded.preimage, folder.preimageFingerprint);
  assert.is(npubEncode(recorded.agent ?? ''), folder.agentNpub);
  // Nothing in the database is the key itself.
  const raw = new Database(folder.config.databaseUrl.slice('sqlite:'.length), { readonly: true });
  const dump = JSON.stringify(raw.prepare('SELECT * FROM key_fingerprints').all());
  raw.close();
  assert.not.match(dump, folder.preimageKey.trim());
  assert.not.match(dump, folder.agentKey.trim());
});

test('a missing preimage key: start, migrate and verify-db refuse with the fix; no key is created', async () => {
  const folder = await usedFolder();
  rmSync(folder.config.preimageKeyFile);
  const fix = [
    `restore ${folder.config.preimageKeyFile} from your backup; its fingerprint is ${folder.preimageFingerprint}`,
  ];
  assertRefused(run(folder, ['start']), fix, 'start');
  assert.not.ok(existsSync(folder.config.preimageKeyFile), 'start created no key');
  assertRefused(run(folder, ['migrate']), fix, 'migrate');
  assert.not.ok(existsSync(folder.config.preimageKeyFile), 'migrate created no key');
  assertRefused(run(folder, ['verify-db']), fix, 'verify-db');
  assert.not.ok(existsSync(folder.config.preimageKeyFile), 'verify-db created no key');
});

test('a different preimage key: start, migrate and verify-db refuse, naming both fingerprints; the file stays', async () => {
  const folder = await usedFolder();
  writeFileSync(folder.config.preimageKeyFile, OTHER_KEY, { mode: 0o600 });
  const wrong = preimageKeyFingerprint(Buffer.from(OTHER_KEY.trim(), 'hex'));
  for (const command of ['start', 'migrate', 'verify-db']) {
    const result = run(folder, [command]);
    assertRefused(
      result,
      [
        `the preimage key ${folder.config.preimageKeyFile} (fingerprint ${wrong}) is not the key of this database`,
        `restore ${folder.config.preimageKeyFile} from your backup; its fingerprint is ${folder.preimageFingerprint}`,
      ],
      command,
    );
    assert.not.match(result.output, OTHER_KEY.trim(), `${command}: the key is never printed`);
  }
  assert.is(readFileSync(folder.config.preimageKeyFile, 'utf8'), OTHER_KEY);
});

test('a different or missing agent key: start and verify-db refuse, naming the npub to restore; no key is created', async () => {
  const folder = await usedFolder();
  const fix = `restore ${folder.config.keyFile} from your backup; its fingerprint is the public key ${folder.agentNpub}`;
  writeFileSync(folder.config.keyFile, OTHER_KEY, { mode: 0o600 });
  for (const command of ['start', 'verify-db', 'migrate']) {
    const result = run(folder, [command]);
    assertRefused(result, [fix], command);
    assert.not.match(result.output, OTHER_KEY.trim(), `${command}: the key is never printed`);
  }
  assert.is(readFileSync(folder.config.keyFile, 'utf8'), OTHER_KEY);
  // The key given in the environment instead of the file is checked the same way.
  writeFileSync(folder.config.keyFile, folder.agentKey, { mode: 0o600 });
  assertRefused(
    run(folder, ['start'], { AGENT_SECRET_KEY: OTHER_KEY.trim() }),
    [`the agent key AGENT_SECRET_KEY is npub1`, folder.agentNpub],
    'start with AGENT_SECRET_KEY',
  );
  rmSync(folder.config.keyFile);
  for (const command of ['start', 'verify-db']) {
    assertRefused(
      run(folder, [command]),
      [`the agent key ${folder.config.keyFile} is missing`, fix],
      command,
    );
    assert.not.ok(existsSync(folder.config.keyFile), `${command} created no agent key`);
  }
});

test('a database from before fingerprints: a missing key is not created, a wrong one is refused, the right one recorded', async () => {
  const folder = await usedFolder();
  const path = folder.config.databaseUrl.slice('sqlite:'.length);
  const raw = new Database(path);
  raw.exec('DELETE FROM key_fingerprints');
  raw.close();
  rmSync(folder.config.preimageKeyFile);
  assertRefused(
    run(folder, ['start']),
    [
      'holds 1 sealed preimage that only it opens',
      `restore ${folder.config.preimageKeyFile} from your backup`,
    ],
    'start without the key',
  );
  assert.not.ok(existsSync(folder.config.preimageKeyFile));
  writeFileSync(folder.config.preimageKeyFile, OTHER_KEY, { mode: 0o600 });
  assertRefused(
    run(folder, ['migrate']),
    ['does not open the 1 sealed preimage'],
    'migrate with another key',
  );
  writeFileSync(folder.config.preimageKeyFile, folder.preimageKey, { mode: 0o600 });
  const migrated = run(folder, ['migrate']);
  assert.is(migrated.code, 0, migrated.output);
  // The right key was recorded on this first use: from now on a missing key names its fingerprint.
  rmSync(folder.config.preimageKeyFile);
  assertRefused(run(folder, ['migrate']), [`its fingerprint is ${folder.preimageFingerprint}`], 'migrate');
});

test('in process: a refusal is a KeyMismatchError and leaves no key behind', async () => {
  const folder = await usedFolder();
  rmSync(folder.config.preimageKeyFile);
  const error = await openAgentStore(folder.config, { agentKey: 'create' }).catch(
    (caught: unknown) => caught,
  );
  assert.instance(error, KeyMismatchError);
  assert.not.ok(existsSync(folder.config.preimageKeyFile));
});

test.run();
