// `escrow-agent verify`, from real parts: a real agent (the harness: an embedded relay on 127.0.0.1, three LDK
// nodes, SQLite) runs a paid task, a refunded one and a disputed one decided by an arbitrator; the command then checks
// them from relay history alone, in-process through the command line's main() (so the registration, the option
// parsing and the exit codes are the product's) and through runVerify where a test needs short timeouts or the
// progress bar. A second real relay holds a tampered copy set (one transition left out, one "transition" re-signed
// by another key) and a third one never answers.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { naddrEncode, neventEncode, noteEncode, npubEncode } from 'nostr-tools/nip19';
import { finalizeEvent, type NostrEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer } from 'ws';
import { loadConfig } from '../../src/agent/config.ts';
import { main, type Output, reportError } from '../../src/cli/cli.ts';
import { DEFAULT_LIMITS, runVerify, type VerifyReport } from '../../src/cli/commands/verify.ts';
import { parseTaskRef, TaskRefError } from '../../src/cli/task-ref.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { collect, type Harness, person, startHarness, tagValue } from '../fakes/agent-harness.ts';
import { cleanEnvironment } from '../fakes/built-cli.ts';
import { connectNostrTools, startTestRelay, type TestRelay } from '../fakes/relay.ts';

const AMOUNT = 30_000_000n;
const ARBITRATOR = person();
const STRANGER = person();

let harness: Harness;
let tampered: TestRelay;
let silent: { url: string; server: Server; wss: WebSocketServer };
let folder: string;
let savedCwd: string;
let savedEnv: NodeJS.ProcessEnv;
const tasks = { paid: '', refunded: '', disputed: '' };
let paidListing: NostrEvent;

function capture(): Output & { stdout: string[]; stderr: string[]; text: () => string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    text: () => [...stdout, ...stderr].join('\n'),
  };
}

const labelOf = (event: { tags: string[][] }) => event.tags.find((tag) => tag[0] === 'l')?.[1];
const agentNpub = () => npubEncode(harness.agentKey.pubkey);

/** escrow-agent verify ARGS, in-process through the command line. */
async function verify(...args: string[]) {
  const io = capture();
  const code = await main(['verify', ...args], io);
  return { code, io, text: io.text() };
}

async function verifyJson(...args: string[]): Promise<{ code: number; report: VerifyReport }> {
  const { code, io } = await verify(...args, '--json');
  assert.is(io.stdout.length, 1, 'one JSON document');
  return { code, report: JSON.parse(io.stdout[0]!) as VerifyReport };
}

/** The agent's transitions on a task, from the harness relay (its `rejected` answers left out). */
async function transitionsOf(taskId: string): Promise<NostrEvent[]> {
  return (await harness.agentEvents(taskId)).filter((event) => labelOf(event) !== 'rejected');
}

test.before(async () => {
  savedCwd = process.cwd();
  savedEnv = { ...process.env };
  // An empty folder without configuration: no relay list, no agent key (unless a test sets one).
  folder = mkdtempSync(join(tmpdir(), 'escrow-verify-'));
  process.chdir(folder);
  process.env = cleanEnvironment();

  harness = await startHarness({ policy: { arbitrators: [ARBITRATOR.pubkey] } });
  tampered = await startTestRelay();

  // Paid: claimed, submitted, approved, settled, paid.
  const paid = await harness.fundTask(AMOUNT);
  paidListing = paid.listing;
  tasks.paid = paid.listing.id;
  await harness.submitWork(tasks.paid, AMOUNT);
  await harness.act(harness.poster, 'approve', tasks.paid);
  await harness.waitForState(tasks.paid, 'paid', 60_000);

  // Refunded: the poster cancels the funded task.
  const refunded = await harness.fundTask(AMOUNT);
  tasks.refunded = refunded.listing.id;
  await harness.act(harness.poster, 'cancel', tasks.refunded);
  await harness.waitForState(tasks.refunded, 'refunded', 60_000);

  // Disputed: the poster disputes the submitted work, the arbitrator finds for the worker, who is paid.
  const disputed = await harness.fundTask(AMOUNT);
  tasks.disputed = disputed.listing.id;
  await harness.submitWork(tasks.disputed, AMOUNT);
  await harness.act(harness.poster, 'dispute', tasks.disputed, { content: 'The haiku has six syllables.' });
  await harness.waitForState(tasks.disputed, 'disputed');
  await harness.act(ARBITRATOR, 'verdict', tasks.disputed, {
    tags: [['outcome', 'worker']],
    content: 'Five, seven, five: it is fine.',
  });
  await harness.waitForState(tasks.disputed, 'paid', 60_000);
  await harness.agent.settle();

  // A relay that accepts connections and never answers anything.
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  silent = { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, server, wss };
});

test.after(async () => {
  for (const client of silent?.wss.clients ?? []) client.terminate();
  silent?.wss.close();
  silent?.server.close();
  await tampered?.stop();
  await harness?.stop();
  process.chdir(savedCwd);
  process.env = savedEnv;
  rmSync(folder, { recursive: true, force: true });
});

test('a paid task verifies: exit 0, every check ✓, the timeline has every transition, a verdict line', async () => {
  const { code, io, text } = await verify(tasks.paid, '--relay', harness.relay.url, '--agent', agentNpub());
  assert.is(code, 0, text);
  assert.match(text, `task   ${tasks.paid}`);
  assert.match(text, /^state {2}paid$/m);
  const checkLines = io.stdout.filter((line) => /^ {2}[✓✗] /.test(line));
  assert.ok(checkLines.length > 0, 'one line per check');
  assert.ok(
    checkLines.every((line) => line.startsWith('  ✓ ')),
    checkLines.join('\n'),
  );
  const timeline = io.stdout.slice(io.stdout.indexOf('timeline:') + 1, io.stdout.indexOf('checks:'));
  const transitions = await transitionsOf(tasks.paid);
  assert.equal(transitions.map(labelOf), [
    'offered',
    'funded',
    'claimed',
    'submitted',
    'settling',
    'settled',
    'paid',
  ]);
  for (const transition of transitions) {
    assert.ok(
      timeline.some((line) => line.includes(labelOf(transition)!) && line.includes(' agent ')),
      `the timeline has "${labelOf(transition)}":\n${timeline.join('\n')}`,
    );
  }
  assert.ok(
    timeline.every((line) => /^ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}/.test(line)),
    'each timeline line starts with its UTC time',
  );
  assert.match(io.stdout.at(-1)!, /^VERIFIED: task [0-9a-f]{64} is paid; all \d+ checks hold$/);
  assert.not.match(text, /not on every relay/, 'one relay: nothing missing anywhere');
});

test('--json is one document with the timeline, the checks, the relays and the verdict', async () => {
  const { code, report } = await verifyJson(tasks.paid, '--relay', harness.relay.url, '--agent', agentNpub());
  assert.is(code, 0);
  assert.is(report.ok, true);
  assert.is(report.agent.pubkey, harness.agentKey.pubkey);
  assert.equal(
    report.relays.map((relay) => relay.url),
    [harness.relay.url],
  );
  const [task] = report.tasks;
  assert.ok(task);
  assert.is(task.taskId, tasks.paid);
  assert.is(task.state, 'paid');
  assert.ok(task.checks.length > 0 && task.checks.every((check) => check.ok));
  const inTimeline = new Set(task.timeline.map((entry) => entry.eventId));
  for (const transition of await transitionsOf(tasks.paid)) {
    assert.ok(inTimeline.has(transition.id), `${labelOf(transition)} is in the JSON timeline`);
  }
  assert.ok(
    task.timeline.some((entry) => entry.author === 'poster') &&
      task.timeline.some((entry) => entry.author === 'agent'),
    'authors are named by their role',
  );
  assert.equal(task.missing, []);
  assert.equal(report.summary, { tasks: 1, ok: 1, failed: 0 });
});

test('the refunded and the disputed task verify too, the verdict in the disputed timeline', async () => {
  for (const taskId of [tasks.refunded, tasks.disputed]) {
    const { code, report } = await verifyJson(taskId, '--relay', harness.relay.url, '--agent', agentNpub());
    assert.is(code, 0, JSON.stringify(report.tasks[0]?.checks));
    const expected = taskId === tasks.refunded ? 'refunded' : 'paid';
    assert.is(report.tasks[0]?.state, expected);
    const ids = new Set(report.tasks[0]!.timeline.map((entry) => entry.eventId));
    for (const transition of await transitionsOf(taskId))
      assert.ok(ids.has(transition.id), labelOf(transition));
  }
  const { report } = await verifyJson(tasks.disputed, '--relay', harness.relay.url, '--agent', agentNpub());
  const labels = (await transitionsOf(tasks.disputed)).map(labelOf);
  assert.ok(labels.includes('disputed') && labels.includes('settling'), labels.join(' '));
  assert.ok(
    report.tasks[0]!.timeline.some((entry) => entry.author === 'arbitrator'),
    "the arbitrator's verdict (an action a transition names) is in the timeline",
  );
});

test('a nevent (its relay hint is the relay) and a note name the task; an naddr finds it by its address', async () => {
  const nevent = neventEncode({
    id: tasks.paid,
    relays: [harness.relay.url],
    author: harness.poster.pubkey,
    kind: KINDS.listing,
  });
  const byNevent = await verifyJson(nevent, '--agent', agentNpub());
  assert.is(byNevent.code, 0, JSON.stringify(byNevent.report.tasks[0]?.checks));
  assert.equal(
    byNevent.report.relays.map((relay) => [relay.url, relay.source]),
    [[harness.relay.url, 'hint of the reference']],
  );
  assert.ok(
    byNevent.report.tasks[0]!.checks.some((check) => check.name === 'reference' && check.ok),
    "the nevent's author is the poster",
  );

  const byNote = await verifyJson(
    noteEncode(tasks.paid),
    '--relay',
    harness.relay.url,
    '--agent',
    agentNpub(),
  );
  assert.is(byNote.code, 0);
  assert.is(byNote.report.tasks[0]?.taskId, tasks.paid);

  // A nevent whose author is not the poster: the reference check fails, exit 1.
  const wrongAuthor = neventEncode({ id: tasks.paid, relays: [harness.relay.url], author: STRANGER.pubkey });
  const lying = await verifyJson(wrongAuthor, '--agent', agentNpub());
  assert.is(lying.code, 1);
  assert.ok(lying.report.tasks[0]!.checks.some((check) => check.name === 'reference' && !check.ok));

  const naddr = naddrEncode({
    kind: KINDS.listing,
    pubkey: harness.poster.pubkey,
    identifier: tagValue(paidListing, 'd')!,
    relays: [harness.relay.url],
  });
  const { code, text } = await verify(naddr, '--agent', agentNpub());
  assert.is(code, 0, text);
  assert.match(text, `the listing 30402:${harness.poster.pubkey}:${tagValue(paidListing, 'd')}: one task`);
  assert.match(text, `task   ${tasks.paid}`);
});

test('--all --agent verifies every task of the agent, with a summary table; the progress bar only on a TTY', async () => {
  const { code, io, text } = await verify('--all', '--agent', agentNpub(), '--relay', harness.relay.url);
  assert.is(code, 0, text);
  assert.equal(io.stderr, [], 'no progress bar: stderr is not a TTY here');
  for (const taskId of Object.values(tasks))
    assert.match(text, new RegExp(`^${taskId} +\\w+ +\\d+/\\d+ +0 +ok$`, 'm'));
  assert.match(io.stdout.at(-1)!, /^VERIFIED: all 3 tasks of agent npub1/);

  // With a TTY's stderr: "\r"-updated "verified N/M".
  const progress: string[] = [];
  const out = capture();
  const config = loadConfig();
  const tty = await runVerify(
    config,
    out,
    ['--all', `--agent=${agentNpub()}`, `--relay=${harness.relay.url}`, '--json'],
    {
      progress: (chunk) => progress.push(chunk),
      limits: DEFAULT_LIMITS,
    },
  );
  assert.is(tty, 0);
  assert.is(progress[0], '\rverified 0/3');
  assert.ok(progress.includes('\rverified 3/3'), progress.join('|'));
  const report = JSON.parse(out.stdout.join('\n')) as VerifyReport;
  assert.equal(report.summary, { tasks: 3, ok: 3, failed: 0 });
  assert.equal(new Set(report.tasks.map((task) => task.taskId)), new Set(Object.values(tasks)));
});

test('a relay with a tampered copy set: the missing event is named per relay, and the good relay still verifies', async () => {
  const transitions = await transitionsOf(tasks.paid);
  const claimed = transitions.find((event) => labelOf(event) === 'claimed')!;
  const paid = transitions.find((event) => labelOf(event) === 'paid')!;
  // Everything of the task the harness relay holds (listing, actions, the agent's labels), but `claimed`.
  const everything = [
    ...(await collect(harness.client, { ids: [tasks.paid] })),
    ...(await collect(harness.client, { kinds: [KINDS.label], '#e': [tasks.paid] })),
  ];
  const copy = await connectNostrTools(tampered.url);
  try {
    for (const event of everything) if (event.id !== claimed.id) await copy.publish(event);
    // A "paid" transition that pays the stranger double, re-signed by the stranger's key.
    const forged = finalizeEvent(
      {
        kind: paid.kind,
        created_at: paid.created_at,
        content: paid.content,
        tags: paid.tags.map((tag) =>
          tag[0] === 'payout' ? [tag[0], tag[1]!, String(BigInt(tag[2]!) * 2n), tag[3]!, tag[4]!] : [...tag],
        ),
      },
      STRANGER.secretKey,
    );
    await copy.publish(forged);

    // Both relays: verified from the good one, and the gap named.
    const both = await verify(
      tasks.paid,
      '--relay',
      tampered.url,
      '--relay',
      harness.relay.url,
      '--agent',
      agentNpub(),
    );
    assert.is(both.code, 0, both.text);
    assert.match(
      both.text,
      `event ${claimed.id} (claimed transition) is on ${harness.relay.url} but not on ${tampered.url}`,
    );
    assert.not.match(both.text, forged.id, "the stranger's event is not the agent's: it counts for nothing");
    const json = await verifyJson(
      tasks.paid,
      '--relay',
      tampered.url,
      '--relay',
      harness.relay.url,
      '--agent',
      agentNpub(),
    );
    assert.equal(json.report.tasks[0]!.missing, [
      { eventId: claimed.id, what: 'claimed transition', on: [harness.relay.url], notOn: [tampered.url] },
    ]);

    // The tampered relay alone: the chain has a gap, a check fails, exit 1.
    const alone = await verifyJson(tasks.paid, '--relay', tampered.url, '--agent', agentNpub());
    assert.is(alone.code, 1);
    assert.is(alone.report.ok, false);
    assert.ok(
      alone.report.tasks[0]!.checks.some((check) => !check.ok),
      'a check fails',
    );

    // Once it also holds the agent's NIP-65 list, the command finds the agent's own relays from it and verifies.
    for (const event of await collect(harness.client, {
      kinds: [KINDS.relayList],
      authors: [harness.agentKey.pubkey],
    }))
      await copy.publish(event);
  } finally {
    copy.close();
  }
  const found = await verifyJson(tasks.paid, '--relay', tampered.url, '--agent', agentNpub());
  assert.is(found.code, 0, JSON.stringify(found.report.tasks[0]?.checks));
  assert.equal(
    found.report.relays.map((relay) => [relay.url, relay.source]),
    [
      [tampered.url, 'given with --relay'],
      [harness.relay.url, "the agent's NIP-65 write relay"],
    ],
  );
  assert.equal(
    found.report.tasks[0]!.missing.map((gap) => [gap.eventId, gap.notOn]),
    [[claimed.id, [tampered.url]]],
  );
});

test('a relay that never answers does not hang the command: it is reported and the others verify', async () => {
  const out = capture();
  const started = Date.now();
  const code = await runVerify(
    loadConfig(),
    out,
    [tasks.refunded, `--relay=${silent.url}`, `--relay=${harness.relay.url}`, `--agent=${agentNpub()}`],
    { progress: null, limits: { ...DEFAULT_LIMITS, timeoutMs: 1000 } },
  );
  const text = out.stdout.join('\n');
  assert.is(code, 0, text);
  assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  assert.match(text, `${silent.url}  given with --relay: NOT READ`);

  // Only the silent relay: nothing answered, exit 2 (through the command line's error report) with what to do.
  const none = capture();
  const alone = await runVerify(
    loadConfig(),
    none,
    [tasks.refunded, `--relay=${silent.url}`, `--agent=${agentNpub()}`],
    {
      progress: null,
      limits: { ...DEFAULT_LIMITS, timeoutMs: 500 },
    },
  ).then(
    () => 0,
    (error: unknown) => reportError(error, none, false),
  );
  assert.is(alone, 2, none.text());
  assert.match(none.text(), `escrow-agent: verify: no relay answered: ${silent.url} (`);
  assert.match(none.text(), /give a relay that is up with --relay URL/);
});

test('a task id no relay holds: exit 1, saying so', async () => {
  const unknown = 'ab'.repeat(32);
  const { code, text } = await verify(unknown, '--relay', harness.relay.url, '--agent', agentNpub());
  assert.is(code, 1, text);
  assert.match(text, `NOT VERIFIED: no relay holds task ${unknown} of this agent`);
  const json = await verifyJson(unknown, '--relay', harness.relay.url, '--agent', agentNpub());
  assert.is(json.code, 1);
  assert.is(json.report.tasks[0]?.found, false);
});

test('bad input exits 2 with what to give', async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['not-a-task', '--relay', harness.relay.url, '--agent', agentNpub()],
      /not a task reference: give the task's id/,
    ],
    [[agentNpub(), '--relay', harness.relay.url, '--agent', agentNpub()], /names a person, not a task/],
    [[tasks.paid.toUpperCase(), '--relay', harness.relay.url, '--agent', agentNpub()], /lower case/],
    [
      [neventEncode({ id: tasks.paid, kind: 1 }), '--relay', harness.relay.url, '--agent', agentNpub()],
      /kind 1 event, not a task listing/,
    ],
    [[tasks.paid, '--relay', 'http://example.com', '--agent', agentNpub()], /ws:\/\/ or wss:\/\//],
    [[tasks.paid, '--relay', harness.relay.url, '--agent', 'bob'], /--agent "bob" is not a pubkey/],
    [[tasks.paid, '--relay', harness.relay.url], /give the agent's pubkey with --agent NPUB/],
    [[tasks.paid, '--agent', agentNpub()], /no relay to ask: give --relay URL/],
    [['--all', tasks.paid, '--agent', agentNpub()], /a task or --all, not both/],
    [['--agent', agentNpub()], /which task\?/],
  ];
  for (const [args, message] of cases) {
    const { code, text } = await verify(...args);
    assert.is(code, 2, `${args.join(' ')}: ${text}`);
    assert.match(text, message, args.join(' '));
  }
});

test("without --agent, the configured agent's key names the agent, and no secret is printed", async () => {
  const secretHex = Buffer.from(harness.agentKey.secretKey).toString('hex');
  process.env.AGENT_SECRET_KEY = secretHex;
  try {
    const { code, text } = await verify(tasks.refunded, '--relay', harness.relay.url);
    assert.is(code, 0, text);
    assert.match(text, `agent  ${agentNpub()} (the configured agent (AGENT_SECRET_KEY))`);
    assert.not.match(text, secretHex);
  } finally {
    delete process.env.AGENT_SECRET_KEY;
  }
});

test('parseTaskRef: every form, and a message with what to give for anything else', () => {
  assert.equal(parseTaskRef(`nostr:${noteEncode('1'.repeat(64))}`), {
    kind: 'id',
    taskId: '1'.repeat(64),
    poster: null,
    relays: [],
    badHints: [],
  });
  const hinted = parseTaskRef(
    neventEncode({ id: '2'.repeat(64), relays: ['WSS://Relay.Example/', 'https://x'] }),
  );
  assert.equal(hinted.relays, ['wss://relay.example']);
  assert.is(hinted.badHints.length, 1);
  const address = parseTaskRef(
    naddrEncode({ kind: KINDS.listing, pubkey: '3'.repeat(64), identifier: 'job-1' }),
  );
  assert.equal(address, {
    kind: 'address',
    address: `30402:${'3'.repeat(64)}:job-1`,
    poster: '3'.repeat(64),
    d: 'job-1',
    relays: [],
    badHints: [],
  });
  assert.throws(
    () => parseTaskRef(naddrEncode({ kind: 30023, pubkey: '3'.repeat(64), identifier: 'x' })),
    (error: unknown) => error instanceof TaskRefError && /kind 30023/.test(error.message),
  );
  assert.throws(() => parseTaskRef('nsec1qqqq'), /secret key/);
  assert.throws(() => parseTaskRef('nevent1qqqq'), /not a valid nevent1/);
  assert.throws(() => parseTaskRef(''), /no task given/);
});

test.run();
