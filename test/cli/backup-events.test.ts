// `escrow-agent backup-events` on a real agent run (test/fakes/agent-harness.ts: a relay on 127.0.0.1, LDK nodes,
// SQLite): a paid task's whole record (everything the agent signed, the listing, the actions its transitions name)
// is backed up from two relays, one of which lost some of the agent's events: each event once, verified, sorted, the
// relay that lacked them named; --since appends only what is new; a relay serving forged copies is skipped and
// counted; with no relay answering nothing is written.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentConfig, fromRaw } from '../../src/agent/config.ts';
import { CliError } from '../../src/cli/cli-error.ts';
import { runBackupEvents } from '../../src/cli/commands/backup-events.ts';
import type { Output } from '../../src/cli/output.ts';
import { isTransitionState, type NostrEvent, parseEventJson, verifyEvent } from '../../src/protocol/index.ts';
import { collect, type Harness, startHarness } from '../fakes/agent-harness.ts';
import { startHostileRelay } from '../fakes/hostile-relay.ts';
import { connectNostrTools, startTestRelay, type TestRelay } from '../fakes/relay.ts';

const AMOUNT = 20_000_000n;
const LIMITS = { pageSize: 4, maxEvents: 10_000, timeoutMs: 3_000 };

let harness: Harness;
let lossy: TestRelay;
let folder: string;
let config: AgentConfig;
let file: string;
let listingId: string;
let lost: string[];

function capture(): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (line) => lines.push(line), err: (line) => lines.push(line) };
}

async function backup(args: string[]): Promise<{ code: number; text: string }> {
  const output = capture();
  const code = await runBackupEvents(config, output, ['--agent', harness.agentKey.pubkey, ...args], LIMITS);
  return { code, text: output.lines.join('\n') };
}

async function lines(): Promise<NostrEvent[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const parsed = parseEventJson(line);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.event;
    });
}

const labelOf = (event: NostrEvent) => event.tags.find((tag) => tag[0] === 'l')?.[1] ?? '';

async function agentEventsOn(url: string): Promise<NostrEvent[]> {
  const client = await connectNostrTools(url);
  try {
    return (await collect(client, { authors: [harness.agentKey.pubkey] })) as NostrEvent[];
  } finally {
    client.close();
  }
}

/** Until every event the agent queued is delivered (settle() leaves deliveries waiting out a backoff). */
async function delivered(): Promise<void> {
  await harness.agent.settle();
  const deadline = Date.now() + 20_000;
  while ((await harness.store.read((reader) => reader.outbox.pendingCount())) > 0) {
    if (Date.now() > deadline) throw new Error('the outbox did not drain');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test.before(async () => {
  harness = await startHarness();
  folder = await mkdtemp(join(tmpdir(), 'escrow-backup-'));
  config = fromRaw({}, 'test', folder);
  file = join(folder, 'events.jsonl');
  const { listing } = await harness.fundTask(AMOUNT);
  listingId = listing.id;
  await harness.submitWork(listing.id, AMOUNT);
  await harness.act(harness.poster, 'approve', listing.id);
  await harness.waitForState(listing.id, 'paid');
  await delivered();

  // A second relay that has everything but three of the agent's transitions: the inputs, and the rest.
  lossy = await startTestRelay();
  const everything = (await collect(harness.client, {})) as NostrEvent[];
  const transitions = (await harness.agentEvents(listing.id)).filter((event) =>
    isTransitionState(labelOf(event)),
  );
  lost = transitions.slice(-3).map((event) => event.id);
  const client = await connectNostrTools(lossy.url);
  for (const event of everything.filter((one) => !lost.includes(one.id))) await client.publish(event);
  client.close();
});

test.after(async () => {
  await harness?.stop();
  await lossy?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

test('every event of the agent and every input it named, once, verified and sorted; the lossy relay is named', async () => {
  const { code, text } = await backup(['--out', file, '--relay', harness.relay.url, '--relay', lossy.url]);
  assert.is(code, 0, text);
  const backedUp = await lines();
  const ids = backedUp.map((event) => event.id);
  assert.is(new Set(ids).size, ids.length, 'each event once');
  assert.ok(
    backedUp.every((event) => verifyEvent(event).ok),
    'each verifies',
  );
  const order = backedUp.map((event) => `${String(event.created_at).padStart(12, '0')}:${event.id}`);
  assert.equal(order, [...order].sort(), 'by created_at, then id');

  // Everything the agent signed (all kinds) ...
  const own = await agentEventsOn(harness.relay.url);
  assert.ok(
    own.length >= 7 + 4,
    `the transitions, the prompt, profile, relay list, announcement (${own.length})`,
  );
  for (const event of own)
    assert.ok(ids.includes(event.id), `agent event kind ${event.kind} ${labelOf(event)}`);
  assert.is(backedUp.filter((event) => event.pubkey === harness.agentKey.pubkey).length, own.length);
  // ... and the inputs: the listing, the claim, the submission and the approval its transitions name.
  const inputs = backedUp.filter((event) => event.pubkey !== harness.agentKey.pubkey);
  assert.ok(ids.includes(listingId), 'the listing');
  assert.equal(
    inputs
      .filter((event) => event.kind === 1985)
      .map(labelOf)
      .sort(),
    ['approve', 'claim', 'submit'],
  );
  // The relay that lost three transitions is named, with each of them.
  assert.match(text, new RegExp(`${lossy.url} lacks 3 event\\(s\\) another relay has`), text);
  for (const id of lost) assert.match(text, id);
  assert.match(text, `${harness.relay.url}: held ${backedUp.length} event(s)`);
  assert.match(text, `${lossy.url}: held ${backedUp.length - 3} event(s)`);
});

test('--since appends only the events dated from then on, none twice, and leaves the earlier lines as they were', async () => {
  const before = await readFile(file, 'utf8');
  const count = (await lines()).length;
  // From now on (the file may hold events dated a little ahead: each transition is a second after the one before).
  const since = Math.floor(Date.now() / 1000);
  const listing = await harness.postTask({ amountMsat: AMOUNT });
  await harness.waitForState(listing.id, 'offered');
  await harness.act(harness.poster, 'cancel', listing.id);
  await harness.waitForState(listing.id, 'cancelled');
  await delivered();

  const { code, text } = await backup([
    '--out',
    file,
    '--since',
    String(since),
    '--relay',
    harness.relay.url,
  ]);
  assert.is(code, 0, text);
  const after = await readFile(file, 'utf8');
  assert.ok(after.startsWith(before), 'appended: the earlier lines are unchanged');
  const all = await lines();
  const ids = all.map((event) => event.id);
  assert.is(new Set(ids).size, ids.length, 'no id twice');
  const added = all.slice(count);
  assert.ok(
    added.length >= 4,
    `the offer, prompt, refunding, cancelled, listing and cancel (${added.length})`,
  );
  assert.ok(ids.includes(listing.id), 'the new listing, named by the new transitions');
  const cancelled = await harness.waitForState(listing.id, 'cancelled');
  assert.ok(ids.includes(cancelled.id));
  assert.ok(
    added.every((event) => event.created_at >= since || event.pubkey !== harness.agentKey.pubkey),
    "the agent's events appended are dated from --since on",
  );
  assert.match(text, `${added.length} event(s) written to ${file} (${all.length} in it)`);

  // The same again adds nothing.
  const again = await backup(['--out', file, '--since', String(since), '--relay', harness.relay.url]);
  assert.is(again.code, 0, again.text);
  assert.is(await readFile(file, 'utf8'), after);
  assert.match(again.text, '0 event(s) written');
});

test('a relay serving forged copies is skipped and counted; no relay answering writes nothing', async () => {
  const hostile = await startHostileRelay({ forgeries: ['bad-signature'], forgeryPlacement: 'instead' });
  try {
    const own = await agentEventsOn(harness.relay.url);
    hostile.add(...own);
    const other = join(folder, 'with-forgeries.jsonl');
    const { code, text } = await backup([
      '--out',
      other,
      '--relay',
      hostile.url,
      '--relay',
      harness.relay.url,
    ]);
    assert.is(code, 0, text);
    const written = (await readFile(other, 'utf8')).split('\n').filter((line) => line !== '');
    assert.ok(written.length > own.length, 'the agent events and the inputs');
    for (const line of written) {
      const parsed = parseEventJson(line);
      assert.ok(parsed.ok && verifyEvent(parsed.event).ok, 'only genuine copies are written');
    }
    assert.match(
      text,
      new RegExp(`${hostile.url}: held 0 event\\(s\\), ${own.length} bad copies skipped`),
      text,
    );
    assert.match(text, `${hostile.url} lacks`);

    // Only a relay that does not answer: an error, and the file is left as it was.
    const untouched = join(folder, 'untouched.jsonl');
    await writeFile(untouched, 'before\n');
    try {
      await backup(['--out', untouched, '--relay', 'ws://127.0.0.1:1']);
      assert.unreachable('no relay answered');
    } catch (error) {
      assert.instance(error, CliError);
      assert.match((error as Error).message, /no relay answered/);
    }
    assert.is(await readFile(untouched, 'utf8'), 'before\n');
    // A damaged backup is not appended to.
    try {
      await backup(['--out', untouched, '--since', '0', '--relay', harness.relay.url]);
      assert.unreachable('a damaged file');
    } catch (error) {
      assert.instance(error, CliError);
      assert.match((error as Error).message, /line 1 is not an event/);
    }
    assert.is(await readFile(untouched, 'utf8'), 'before\n');
  } finally {
    await hostile.stop();
  }
});

test.run();
