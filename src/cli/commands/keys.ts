// `escrow-agent keys`: the agent's Nostr key (docs/key-rotation.md).
//
// `keys generate [--out FILE] [--json]` writes a new secret key file (mode 0600, never over an existing file) and
// prints its npub and path, never the secret.
//
// `keys rotate --new-key FILE [--execute] [--json]` makes FILE's key the agent's key. A dry run by default. It opens
// the data folder under its lock, so the agent must be stopped. It is refused while any task is unfinished: a
// task's transitions are one chain signed by one key, and its deadlines still need the agent. With --execute, in
// this order:
// 1. the current key is copied to `<key_file>.old-<npub prefix>` (mode 0600; never deleted);
// 2. one transaction: the rotation label signed by the OLD key carrying the acceptance signed by the NEW key
//    (src/protocol/key-rotation.ts), the new profile, relay list and announcement signed by the new key, all queued
//    in the outbox; the database's agent-key fingerprint replaced (compare-and-set: the only way it ever changes,
//    key-fingerprints.ts refuses any other) and the rotation recorded in the settings;
// 3. the new key installed as agent.key_file (written beside it, then renamed over it).
// Then it tries to publish the queued events to the write relays now (what each relay said is printed); whatever
// was not taken is sent by the agent's outbox at the next start. Run again after a crash between 2 and 3, it
// finishes the install; run again when done, it says the key is already the agent's.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { npubEncode } from 'nostr-tools/nip19';
import { finalizeEvent } from 'nostr-tools/pure';
import { AGENT_METADATA, RULES_VERSION, readMaintenance } from '../../agent/announce.ts';
import { activeArbitrators } from '../../agent/arbitrators.ts';
import { DataFolderInUseError } from '../../agent/data-folder-lock.ts';
import { type AgentIdentity, createIdentity, identityFrom, readIdentity } from '../../agent/identity.ts';
import { KeyMismatchError } from '../../agent/key-fingerprints.ts';
import { openAgentStore } from '../../agent/open-agent-store.ts';
import { loadRelayList, type RelayEntry } from '../../agent/relay-list.ts';
import { readSecret, writeNewSecret } from '../../agent/secret-files.ts';
import { type Policy, TASK_STATES, TERMINAL_STATES } from '../../domain/types.ts';
import { RelayPool } from '../../nostr/relay-pool.ts';
import { normalizeRelayUrl } from '../../nostr/relay-url.ts';
import { buildAnnouncement, buildProfile, buildRelayList } from '../../protocol/build-announcement.ts';
import { buildKeyRotation, buildRotationAcceptance } from '../../protocol/key-rotation.ts';
import type { EscrowStore, SignedEvent } from '../../store/index.ts';
import { CliError } from '../cli-error.ts';
import { requireExistingDatabase } from '../data-folder.ts';
import type { AgentConfig, Output } from '../output.ts';

const USAGE = [
  'usage: escrow-agent keys generate [--out FILE] [--json]',
  '       escrow-agent keys rotate --new-key FILE [--execute] [--json]',
].join('\n');

/** Where settings keep the record of every rotation (from, to, when, the rotation event). */
export const ROTATIONS_SETTING = 'agent_key_rotations';

export async function keysCommand(config: AgentConfig, output: Output, args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new CliError(`keys: ${(error as Error).message}\n${USAGE}`);
  }
  const [sub, ...rest] = parsed.positionals;
  if (rest.length > 0) throw new CliError(`keys: unexpected argument "${rest[0]}"\n${USAGE}`);
  const json = parsed.values.json === true;
  if (sub === 'generate') {
    if (parsed.values['new-key'] !== undefined || parsed.values.execute) {
      throw new CliError(`keys generate takes --out FILE only\n${USAGE}`);
    }
    return generate(config, output, parsed.values.out, json);
  }
  if (sub === 'rotate') {
    if (parsed.values.out !== undefined) throw new CliError(`keys rotate takes no --out\n${USAGE}`);
    const file = parsed.values['new-key'];
    if (file === undefined || file === '') {
      throw new CliError(
        `keys rotate: say which key with --new-key FILE (make one with \`escrow-agent keys generate --out FILE\`)\n${USAGE}`,
      );
    }
    return rotate(config, output, resolve(file), parsed.values.execute === true, json);
  }
  throw new CliError(`keys: ${sub ? `unknown subcommand "${sub}"` : 'say what to do'}\n${USAGE}`);
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'new-key': { type: 'string' },
      execute: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
}

// ---- generate ----

function generate(config: AgentConfig, output: Output, out: string | undefined, json: boolean): number {
  const file = resolve(out ?? `${config.keyFile}.new`);
  if (existsSync(file)) {
    throw new CliError(
      `keys generate: ${file} exists; it is never overwritten: give another --out FILE (or move that file away)`,
    );
  }
  const identity = createIdentity(file);
  if (json) {
    output.out(JSON.stringify({ npub: identity.npub, pubkey: identity.pubkey, file }, null, 2));
  } else {
    output.out(`new key:  ${identity.npub}`);
    output.out(`file:     ${file} (mode 0600; the secret is only in that file: back it up)`);
    output.out(`next:     escrow-agent keys rotate --new-key ${file}   (a dry run; add --execute to rotate)`);
  }
  return 0;
}

// ---- rotate ----

interface RotationPlan {
  from: AgentIdentity;
  to: AgentIdentity;
  keyFile: string;
  newKeyFile: string;
  backupFile: string;
  relays: RelayEntry[];
  writeRelays: string[];
}

async function rotate(
  config: AgentConfig,
  output: Output,
  newKeyFile: string,
  execute: boolean,
  json: boolean,
): Promise<number> {
  if (process.env.AGENT_SECRET_KEY?.trim()) {
    throw new CliError(
      'keys rotate: the agent key comes from AGENT_SECRET_KEY, not a file: rotation installs a key file. Unset AGENT_SECRET_KEY (the key file agent.key_file is then used) and run it again, or change the variable yourself after publishing a rotation by hand (docs/key-rotation.md)',
    );
  }
  if (!existsSync(newKeyFile)) {
    throw new CliError(
      `keys rotate: the new key file ${newKeyFile} does not exist: make one with \`escrow-agent keys generate --out ${newKeyFile}\`, or give the right --new-key FILE`,
    );
  }
  requireExistingDatabase(config);
  // Its mode and content are checked as the agent checks its own key (secret-files.ts says what to change).
  const to = identityFrom(readSecret(newKeyFile, 'new agent key'));
  const relayList = loadRelayList({ file: config.relaysFile, urls: config.relays });
  const opened = await openForRotation(config, newKeyFile, to);
  const { store } = opened;
  try {
    if (opened.state === 'done') {
      const message = `keys rotate: ${to.npub} is already the agent's key (${config.keyFile}); nothing to do`;
      if (json) output.out(JSON.stringify({ done: true, already: true, npub: to.npub }, null, 2));
      else output.out(message);
      return 0;
    }
    const from = opened.current;
    const plan: RotationPlan = {
      from,
      to,
      keyFile: config.keyFile,
      newKeyFile,
      backupFile: `${config.keyFile}.old-${from.npub.slice(0, 16)}`,
      relays: relayList.relays,
      writeRelays: relayList.relays.filter((relay) => relay.write).map((relay) => relay.url),
    };
    if (opened.state === 'installing') {
      // The database already belongs to the new key: a run stopped between its transaction and the key file.
      backUpOldKey(plan);
      installKey(plan);
      report(output, json, plan, { execute: true, resumed: true, events: [], published: [] });
      return 0;
    }
    await refuseOpenTasks(store);
    if (!execute) {
      report(output, json, plan, { execute: false, resumed: false, events: [], published: [] });
      return 0;
    }
    backUpOldKey(plan);
    const events = await signRotation(store, config, plan);
    await store.transaction(async (tx) => {
      for (const event of events) await tx.outbox.enqueue(event, plan.writeRelays, null);
      const replaced = await tx.keys.replace('agent', from.pubkey, to.pubkey);
      if (!replaced)
        throw new CliError('keys rotate: the database changed its agent key meanwhile; nothing was done');
      const history = (await tx.settings.get(ROTATIONS_SETTING)) ?? [];
      await tx.settings.set(ROTATIONS_SETTING, [
        ...(Array.isArray(history) ? history : []),
        { from: from.pubkey, to: to.pubkey, at: events[1]!.created_at, event: events[1]!.id },
      ]);
    });
    installKey(plan);
    const published = await publishNow(store, events, plan.writeRelays);
    report(output, json, plan, { execute: true, resumed: false, events, published });
    return 0;
  } finally {
    await store.close();
  }
}

type Opened =
  | { state: 'rotate'; store: EscrowStore; current: AgentIdentity }
  | { state: 'installing'; store: EscrowStore; current: AgentIdentity }
  | { state: 'done'; store: EscrowStore };

/** The data folder under its lock, with the key the database belongs to. */
async function openForRotation(config: AgentConfig, newKeyFile: string, to: AgentIdentity): Promise<Opened> {
  const current = readIdentity(config.keyFile, {});
  if (current === null) {
    throw new CliError(
      `keys rotate: there is no agent key at ${config.keyFile}: nothing to rotate (start creates the first key; or set agent.key_file to where the key is)`,
    );
  }
  try {
    const { store } = await openAgentStore(config);
    if (current.pubkey === to.pubkey) return { state: 'done', store };
    return { state: 'rotate', store, current };
  } catch (error) {
    if (error instanceof DataFolderInUseError) {
      throw new CliError(
        `keys rotate: the agent (pid ${error.pid ?? 'unknown'}) is running on ${error.folder} and holds its lock: stop the agent, run \`escrow-agent keys rotate\` again, then start it`,
      );
    }
    if (!(error instanceof KeyMismatchError)) throw error;
    // The database may already belong to the new key: an earlier --execute stopped before installing it.
    try {
      const { store } = await openAgentStore({ ...config, keyFile: newKeyFile });
      return { state: 'installing', store, current };
    } catch {
      throw error;
    }
  }
}

async function refuseOpenTasks(store: EscrowStore): Promise<void> {
  const open = TASK_STATES.filter((state) => !TERMINAL_STATES.has(state));
  const tasks = await store.read((reader) => reader.tasks.listByState(open));
  if (tasks.length === 0) return;
  const byState = new Map<string, number>();
  for (const task of tasks) byState.set(task.state, (byState.get(task.state) ?? 0) + 1);
  const states = [...byState].map(([state, count]) => `${count} ${state}`).join(', ');
  throw new CliError(
    `keys rotate: ${tasks.length} task${tasks.length === 1 ? ' is' : 's are'} not finished (${states}): each task's chain is signed by the current key until it ends. Run \`escrow-agent pause\` (new tasks are refused, open ones go on), start the agent, wait until every task is finished (\`escrow-agent custody\` lists money still held), stop it, then rotate`,
  );
}

/** The rotation (old key, carrying the new key's acceptance), and the new key's profile, relay list and announcement. */
async function signRotation(
  store: EscrowStore,
  config: AgentConfig,
  plan: RotationPlan,
): Promise<SignedEvent[]> {
  const now = Math.floor(Date.now() / 1000);
  const acceptance = finalizeEvent(
    buildRotationAcceptance({ oldPubkey: plan.from.pubkey, newPubkey: plan.to.pubkey, createdAt: now }),
    plan.to.secretKey,
  );
  const rotation = finalizeEvent(buildKeyRotation({ acceptance, createdAt: now }), plan.from.secretKey);
  const policy = await announcedPolicy(store, config.policy);
  const templates = [
    buildProfile(AGENT_METADATA, now),
    buildRelayList(
      plan.relays.map((relay) => ({ url: relay.url, read: relay.read, write: relay.write })),
      now,
    ),
    buildAnnouncement(policy, { rulesVersion: RULES_VERSION, createdAt: now, metadata: AGENT_METADATA }),
  ];
  return [
    acceptance,
    rotation,
    ...templates.map((template) => finalizeEvent(template, plan.to.secretKey)),
  ].map((event) => ({
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags,
    content: event.content,
    sig: event.sig,
  }));
}

/** The policy as a started agent announces it, less the node id (the next start announces again with it). */
async function announcedPolicy(store: EscrowStore, policy: Policy): Promise<Policy> {
  const stored = await activeArbitrators(store);
  const profiles = new Map(stored.map((profile) => [profile.pubkey, profile]));
  for (const profile of policy.arbitratorProfiles ?? [])
    if (!profiles.has(profile.pubkey)) profiles.set(profile.pubkey, profile);
  for (const pubkey of policy.arbitrators) {
    if (!profiles.has(pubkey)) profiles.set(pubkey, { pubkey, name: '', feeBaseMsat: 0n, feePpm: 0 });
  }
  const arbitratorProfiles = [...profiles.values()].sort((a, b) => (a.pubkey < b.pubkey ? -1 : 1));
  const maintenance = await readMaintenance(store);
  return {
    ...policy,
    arbitrators: arbitratorProfiles.map((profile) => profile.pubkey),
    arbitratorProfiles,
    ...(maintenance.paused ? { acceptingTasks: false } : {}),
  };
}

/** The current key into `<key_file>.old-<npub prefix>` (mode 0600), unless that copy is there already. */
function backUpOldKey(plan: RotationPlan): void {
  const secret = Buffer.from(plan.from.secretKey).toString('hex');
  if (existsSync(plan.backupFile)) {
    if (readFileSync(plan.backupFile, 'utf8').trim() === secret) return;
    throw new CliError(
      `keys rotate: ${plan.backupFile} exists and holds another key: move it away (it may be a key you need), then run it again`,
    );
  }
  writeNewSecret(plan.backupFile, plan.from.secretKey);
}

/** The new key as agent.key_file: written beside it (mode 0600), then renamed over it. */
function installKey(plan: RotationPlan): void {
  const temporary = `${plan.keyFile}.rotating`;
  rmSync(temporary, { force: true });
  writeNewSecret(temporary, plan.to.secretKey);
  renameSync(temporary, plan.keyFile);
  const folder = openSync(dirname(plan.keyFile), 'r');
  try {
    fsyncSync(folder);
  } finally {
    closeSync(folder);
  }
}

interface Published {
  relay: string;
  accepted: number;
  failed: string[];
}

/** Sends the queued events to each write relay now, for at most 10 s; what a relay took is marked sent. */
async function publishNow(store: EscrowStore, events: SignedEvent[], relays: string[]): Promise<Published[]> {
  const named = new Map<string, string>();
  for (const url of relays) {
    try {
      named.set(normalizeRelayUrl(url), url);
    } catch {
      // the relay list was checked when it was loaded
    }
  }
  const pool = new RelayPool({
    relays: [...named.keys()].map((url) => ({ url, read: false, write: true })),
    connectTimeoutMs: 5_000,
    publishTimeoutMs: 5_000,
    backoff: { initialMs: 250, maxMs: 1_000, jitter: 0.2 },
  });
  pool.start();
  try {
    await waitConnected(pool, 5_000);
    const results = new Map<string, Published>(
      relays.map((relay) => [relay, { relay, accepted: 0, failed: [] as string[] }]),
    );
    for (const event of events) {
      for (const result of await pool.publish(event)) {
        const relay = named.get(result.relay) ?? result.relay;
        const entry = results.get(relay);
        if (!entry) continue;
        const duplicate = !result.ok && /^duplicate:/.test(result.message);
        if (result.ok || duplicate) {
          entry.accepted += 1;
          await store.transaction((tx) => tx.outbox.markRelay(event.id, relay, 'ok'));
        } else if (!entry.failed.includes(result.message)) entry.failed.push(result.message);
      }
    }
    return [...results.values()];
  } finally {
    await pool.stop();
  }
}

/** Until every relay is connected, or `timeoutMs` passed (those not connected then fail their publish). */
function waitConnected(pool: RelayPool, timeoutMs: number): Promise<void> {
  const all = () => pool.status().every((relay) => relay.connected);
  if (all()) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const done = () => {
      clearTimeout(timer);
      unwatch();
      resolvePromise();
    };
    const timer = setTimeout(done, timeoutMs);
    const unwatch = pool.watch(() => {
      if (all()) done();
    });
  });
}

function report(
  output: Output,
  json: boolean,
  plan: RotationPlan,
  result: { execute: boolean; resumed: boolean; events: SignedEvent[]; published: Published[] },
): void {
  const oldNpub = plan.from.npub;
  const newNpub = plan.to.npub;
  if (json) {
    output.out(
      JSON.stringify(
        {
          done: result.execute,
          resumed: result.resumed,
          from: { npub: oldNpub, pubkey: plan.from.pubkey },
          to: { npub: newNpub, pubkey: plan.to.pubkey, file: plan.newKeyFile },
          keyFile: plan.keyFile,
          oldKeyKept: plan.backupFile,
          events: result.events.map((event) => ({
            id: event.id,
            kind: event.kind,
            signer: npubEncode(event.pubkey),
          })),
          published: result.published,
        },
        null,
        2,
      ),
    );
    return;
  }
  const lines: string[] = [];
  const line = (label: string, text: string) => lines.push(`${`${label}:`.padEnd(14)}${text}`);
  if (!result.execute) lines.push('keys rotate: a dry run, nothing was written (add --execute to rotate)');
  else if (result.resumed)
    lines.push('keys rotate: finishing a rotation that stopped before installing the new key');
  else lines.push('keys rotate: done');
  line('current key', `${oldNpub} (${plan.keyFile})`);
  line('new key', `${newNpub} (${plan.newKeyFile})`);
  line('tasks', 'none unfinished');
  const verb = result.execute ? '' : 'would ';
  if (!result.resumed) {
    line(
      `${verb}sign`,
      "a key_rotation label (kind 1985) with the current key, carrying the new key's signed acceptance; the profile (kind 0), relay list (kind 10002) and announcement (kind 31990) with the new key",
    );
    line(
      `${verb}queue`,
      `those 5 events in the outbox for ${plan.writeRelays.length} write relay${plan.writeRelays.length === 1 ? '' : 's'} (the agent sends what is not taken now at its next start)`,
    );
    line(
      `${verb}record`,
      "the new key's fingerprint in the database (the one deliberate change of the agent key)",
    );
  }
  line(`${verb}keep`, `the current key as ${plan.backupFile} (mode 0600; never deleted)`);
  line(`${verb}install`, `the new key as ${plan.keyFile}`);
  for (const event of result.events) {
    line('event', `${event.id} kind ${event.kind} signed by ${npubEncode(event.pubkey)}`);
  }
  for (const relay of result.published) {
    const all = result.events.length;
    line(
      'published',
      relay.accepted === all
        ? `${relay.relay} took all ${all}`
        : `${relay.relay} took ${relay.accepted} of ${all} (${relay.failed.join('; ') || 'no answer'}); the agent sends the rest at its next start`,
    );
  }
  if (result.execute)
    line('next', `escrow-agent start (as ${newNpub}); keep ${plan.backupFile} with your backups`);
  for (const line of lines) output.out(line);
}
