// verifyTask, the full check of one task from relay events alone: every example task passes every check with
// its announcement, whatever order, duplicates and noise the relays add; each way a history can be tampered with
// is caught by the check it concerns, with a message naming what is wrong. Real signed events throughout: the
// examples (scripts/examples), changed and re-signed with the public TEST keys where a tamper needs it.
import { webcrypto } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { build } from 'esbuild';
import { getPublicKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EXAMPLE_KEYS,
  EXAMPLE_POLICY,
  preimage,
  SECRET,
  sha256,
  sign,
  T0,
} from '../../scripts/examples/fixtures.ts';
import { buildExamples } from '../../scripts/examples/lifecycles.ts';
import { RULEBOOK_VERSION } from '../../src/domain/rulebook.ts';
import { buildAnnouncement } from '../../src/protocol/build-announcement.ts';
import { buildListing } from '../../src/protocol/build-listing.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import {
  CHECK_NAMES,
  type CheckName,
  TASK_STEPS,
  type TaskVerification,
  verifyTask,
} from '../../src/protocol/verify-task.ts';

const AGENT = EXAMPLE_KEYS.agent;
const EXAMPLES = buildExamples();
const byFile = new Map(EXAMPLES.map(({ file, event }) => [file, event]));
const ev = (file: string): NostrEvent => {
  const event = byFile.get(file);
  if (!event) throw new Error(`no example ${file}`);
  return event;
};
const ANNOUNCEMENT = ev('03-agent-announcement.json');
const STRANGER = new Uint8Array(sha256('nostr-escrow example key: stranger'));
const SECRET_OF = new Map(Object.values(SECRET).map((secret) => [getPublicKey(secret), secret]));

/** Every example event about a task: its listing, the labels that tag it, in the examples' order. */
function eventsOf(listingFile: string): NostrEvent[] {
  const taskId = ev(listingFile).id;
  return EXAMPLES.map(({ event }) => event).filter(
    (event) => event.id === taskId || event.tags.some((tag) => tag[0] === 'e' && tag[1] === taskId),
  );
}
const TASKS = {
  happy: '04-task-listing.json',
  refund: '18-refund-task-listing.json',
  dispute: '24-dispute-task-listing.json',
  expire: '40-expire-task-listing.json',
  cancel: '44-cancel-task-listing.json',
} as const;
const HAPPY = eventsOf(TASKS.happy);
const DISPUTE = eventsOf(TASKS.dispute);
const REFUND = eventsOf(TASKS.refund);

function verify(
  events: readonly NostrEvent[],
  listingFile: string = TASKS.happy,
  announcement: NostrEvent | null = ANNOUNCEMENT,
): TaskVerification {
  return verifyTask({ agentPubkey: AGENT, taskId: ev(listingFile).id, events, announcement });
}
function check(report: TaskVerification, name: CheckName) {
  const found = report.checks.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no check ${name}`);
  return found;
}
/** The check failed, its detail matches, and the report is not ok. */
function fails(report: TaskVerification, name: CheckName, detail: string | RegExp): void {
  const found = check(report, name);
  assert.not.ok(found.ok, `${name} should fail; it says: ${found.detail}`);
  assert.match(found.detail, detail);
  assert.not.ok(report.ok);
  assert.ok(report.problems.some((problem) => problem.startsWith(`${name}: `)));
}
function passes(report: TaskVerification, name: CheckName): void {
  const found = check(report, name);
  assert.ok(found.ok, `${name} should pass; it says: ${found.detail}`);
}
const labelOf = (event: NostrEvent) => event.tags.find((tag) => tag[0] === 'l')?.[1];
const setTag = (event: NostrEvent, name: string, value: string): NostrEvent => ({
  ...event,
  tags: event.tags.map((tag) => (tag[0] === name ? [name, value, ...tag.slice(2)] : tag)),
});

type Edit = (event: NostrEvent) => NostrEvent | null | { event: NostrEvent; signer: Uint8Array };
/**
 * Applies edits (by example file) to a task's events in order and re-signs what changed with its author's TEST
 * key (or the edit's signer); every later reference (prev, cause, verdict) to a re-signed event follows it to
 * its new id, and the events that refer to it are re-signed in turn. An edit returning null drops the event
 * (a dropped transition is skipped: the chain is re-linked around it, as if the agent had never published it).
 */
function tamper(events: readonly NostrEvent[], edits: Record<string, Edit>): NostrEvent[] {
  const edited = new Map(Object.entries(edits).map(([file, edit]) => [ev(file).id, edit]));
  const renamed = new Map<string, string>();
  const out: NostrEvent[] = [];
  for (const original of events) {
    const edit = edited.get(original.id);
    const result = edit ? edit(original) : original;
    if (result === null) {
      // A dropped transition is skipped by the chain: what followed it now follows its prev.
      const prev = original.tags.find((tag) => tag[0] === 'e' && tag[3] === 'prev')?.[1];
      if (prev) renamed.set(original.id, renamed.get(prev) ?? prev);
      continue;
    }
    const { event, signer } = 'signer' in result ? result : { event: result, signer: undefined };
    const tags = event.tags.map((tag) =>
      tag[0] === 'e' && renamed.has(tag[1]!) ? [tag[0], renamed.get(tag[1]!)!, ...tag.slice(2)] : tag,
    );
    const relinked = tags.some((tag, index) => tag[1] !== event.tags[index]![1]);
    if (!edit && !relinked) {
      out.push(event);
      continue;
    }
    const secret = signer ?? SECRET_OF.get(event.pubkey);
    if (!secret) throw new Error(`no TEST key for ${event.pubkey}`);
    const signed = sign(
      { kind: event.kind, created_at: event.created_at, tags, content: event.content },
      secret,
    );
    renamed.set(original.id, signed.id);
    out.push(signed);
  }
  return out;
}

// ------------------------------------------------------------------------------------ the genuine examples

test('every example task passes every check with its announcement', () => {
  const ends = { happy: 'paid', refund: 'refunded', dispute: 'paid', expire: 'expired', cancel: 'cancelled' };
  for (const [name, file] of Object.entries(TASKS)) {
    const report = verify(eventsOf(file), file);
    assert.equal(report.problems, [], `${name}: ${report.problems.join('\n')}`);
    assert.ok(report.ok, name);
    assert.is(report.state, ends[name as keyof typeof ends], name);
    assert.equal(
      report.checks.map((found) => found.name),
      [...CHECK_NAMES],
    );
    for (const found of report.checks)
      assert.ok(found.ok && found.detail.length > 0, `${name}: ${found.name}`);
  }
});

test('what passed is said in words: the fee formula, the preimage, the split, the rulebook', () => {
  const happy = verify(HAPPY);
  assert.match(check(happy, 'fee').detail, 'fee 106000 msat = 1000 + floor(21000000 × 5000 / 10^6)');
  assert.match(check(happy, 'settlement').detail, 'sha256(preimage) = payment hash');
  assert.match(check(happy, 'rules').detail, `rulebook v${RULEBOOK_VERSION}`);
  assert.match(check(happy, 'offer_invoice').detail, EXAMPLE_POLICY.lightningNodeId!);
  assert.match(check(happy, 'conservation').detail, 'received 21000000 msat, paid 20894000 + fee 106000');
  const dispute = verify(DISPUTE, TASKS.dispute);
  assert.match(check(dispute, 'payouts').detail, 'split (60 % to the worker)');
  assert.match(check(dispute, 'rules').detail, 'acts on 1 agreeing verdict (threshold 1)');
});

test('order, duplicates and other events do not matter: other tasks, profiles, notices are set aside', () => {
  const everything = EXAMPLES.map(({ event }) => event);
  for (const [name, file] of Object.entries(TASKS)) {
    const report = verify([...everything].reverse().concat(everything), file);
    assert.equal(report.problems, [], `${name}: ${report.problems.join('\n')}`);
    assert.equal(report.timeline, verify(eventsOf(file), file).timeline, name);
  }
  const happy = verify([...everything], TASKS.happy);
  assert.ok(happy.ignored.some((line) => line.includes('not about task')));
  assert.ok(happy.ignored.some((line) => line.includes('payment prompt')));
});

test('without an announcement the fee and the payee are not checked, and say so', () => {
  const report = verify(HAPPY, TASKS.happy, null);
  assert.ok(report.ok, report.problems.join('\n'));
  assert.is(check(report, 'fee').detail, 'not checked: no announcement');
  assert.match(check(report, 'offer_invoice').detail, 'payee not checked: no announcement');
});

test('the timeline has one entry per distinct event, by created_at, with who did what', () => {
  const report = verify([...HAPPY, ...HAPPY]);
  assert.equal(
    report.timeline.map((entry) => `${entry.author} ${entry.label}`),
    [
      'poster listing',
      'agent offered',
      'agent funded',
      'worker claim',
      'agent claimed',
      'worker submit',
      'agent submitted',
      'worker approve', // the worker tries to approve their own work
      'agent rejected',
      'poster approve',
      'agent settling',
      'agent settled',
      'agent paid',
    ],
  );
  const times = report.timeline.map((entry) => entry.createdAt);
  assert.equal(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.match(report.timeline[8]!.summary, 'NotYourTask');
  assert.match(report.timeline.find((entry) => entry.label === 'paid')!.summary, 'to the worker');
  const dispute = verify(DISPUTE, TASKS.dispute);
  assert.equal(dispute.timeline.find((entry) => entry.label === 'verdict')?.author, 'arbitrator');
  assert.match(
    dispute.timeline.find((entry) => entry.label === 'verdict')!.summary,
    'split (60 % to the worker)',
  );
});

test('the table of allowed steps covers the path of every example', () => {
  for (const file of Object.values(TASKS)) {
    passes(verify(eventsOf(file), file), 'states');
  }
  assert.ok(TASK_STEPS.some((step) => step.from === 'custody' && step.to === 'custody' && step.verdicts));
  assert.ok(TASK_STEPS.some((step) => step.from === 'settling' && step.reasons?.includes('node_cancelled')));
});

// ------------------------------------------------------------------------------------------------ noise

test('a forged copy of a transition is set aside, not held against the task', () => {
  const settled = ev('16-settled.json');
  const forged = { ...settled, tags: [...settled.tags, ['note', 'forged']] };
  const report = verify([forged, ...HAPPY]);
  assert.ok(report.ok, report.problems.join('\n'));
  assert.ok(report.ignored.some((line) => line.includes(settled.id) && line.includes('genuine')));
});

test('a look-alike transition signed by another key does not count while the chain is whole', () => {
  const lookAlike = sign({ ...ev('16-settled.json') }, SECRET.poster);
  const report = verify([...HAPPY, lookAlike]);
  assert.ok(report.ok, report.problems.join('\n'));
  assert.ok(report.ignored.some((line) => line.includes(lookAlike.id) && line.includes('not by the agent')));
});

// -------------------------------------------------------------------------------------------- tampering

test('an amount changed and re-signed by another key: signatures', () => {
  const offered = ev('05-offered.json');
  const forged = sign(setTag(offered, 'amount', '22000000'), SECRET.poster);
  const report = verify(HAPPY.map((event) => (event.id === offered.id ? forged : event)));
  fails(
    report,
    'signatures',
    new RegExp(`offered ${forged.id} is signed by ${EXAMPLE_KEYS.poster}, not by the agent`),
  );
  assert.match(check(report, 'signatures').detail, `missing transition ${offered.id}`);
  fails(report, 'chain', `follows ${offered.id}, which is missing`);
});

test('an action missing: inputs names it', () => {
  const claim = ev('08-claim.json');
  const report = verify(HAPPY.filter((event) => event.id !== claim.id));
  fails(report, 'inputs', `claimed ${ev('09-claimed.json').id} acted on ${claim.id}, which is missing`);
  passes(report, 'chain');
  passes(report, 'signatures');
});

test('a transition missing in the middle of the chain: chain names it', () => {
  const submitted = ev('11-submitted.json');
  const report = verify(HAPPY.filter((event) => event.id !== submitted.id));
  fails(report, 'chain', `settling ${ev('15-settling.json').id} follows ${submitted.id}, which is missing`);
});

test('a forged signature on an event the record needs: signatures names it', () => {
  const submit = ev('10-submit.json');
  const forged = { ...submit, sig: ev('08-claim.json').sig };
  const report = verify(HAPPY.map((event) => (event.id === submit.id ? forged : event)));
  fails(
    report,
    'signatures',
    `event ${submit.id}, the action submitted ${ev('11-submitted.json').id} acted on`,
  );
  assert.match(check(report, 'signatures').detail, 'signature does not match the pubkey');
  fails(report, 'inputs', `acted on ${submit.id}, which is missing (only a copy that does not verify`);
  assert.ok(report.ignored.some((line) => line.includes(submit.id)));
});

test('a forged signature on a transition: signatures names it', () => {
  const claimed = ev('09-claimed.json');
  const forged = { ...claimed, sig: ev('07-funded.json').sig };
  const report = verify(HAPPY.map((event) => (event.id === claimed.id ? forged : event)));
  fails(report, 'signatures', `event ${claimed.id}, the prev of submitted`);
});

test('a preimage that does not hash, re-signed by the agent: settlement, not signatures', () => {
  const wrong = preimage('not the escrow');
  const report = verify(tamper(HAPPY, { '16-settled.json': (event) => setTag(event, 'preimage', wrong) }));
  fails(report, 'settlement', `publishes preimage ${wrong}, whose sha256 is`);
  passes(report, 'signatures');
  passes(report, 'chain');
  passes(report, 'states');
});

test('a fee above the policy, re-signed by the agent: fee', () => {
  const report = verify(
    tamper(HAPPY, {
      '05-offered.json': (event) => setTag(event, 'fee', '200000'),
      '16-settled.json': (event) => setTag(event, 'fee', '200000'),
    }),
  );
  fails(
    report,
    'fee',
    "the offer's fee is 200000 msat; the announced policy makes it 106000 msat (1000 + floor(21000000 × 5000 / 10^6))",
  );
  passes(report, 'signatures');
});

test('a fork in the chain: chain', () => {
  const claimed = ev('09-claimed.json');
  const second = sign({ ...claimed, created_at: claimed.created_at + 1 }, SECRET.agent);
  const report = verify([...HAPPY, second]);
  fails(report, 'chain', `fork: 2 transitions follow ${ev('07-funded.json').id}`);
});

test('a payout larger than owed: payouts', () => {
  const report = verify(
    tamper(HAPPY, {
      '17-paid.json': (event) => ({
        ...event,
        tags: event.tags.map((tag) =>
          tag[0] === 'payout' ? [tag[0], tag[1]!, '20895000', tag[3]!, tag[4]!] : tag,
        ),
      }),
    }),
  );
  fails(
    report,
    'payouts',
    'the worker was paid 20895000 msat, more than the 20894000 msat owed (amount − fee)',
  );
  fails(report, 'conservation', 'received 21000000 msat but paid 20895000 + fee 106000 msat');
});

test('a payout proof preimage that does not hash, re-signed by the agent: payouts', () => {
  const wrong = preimage('not the payout');
  const report = verify(
    tamper(HAPPY, {
      '17-paid.json': (event) => ({
        ...event,
        tags: event.tags.map((tag) => (tag[0] === 'payout' ? [...tag.slice(0, 4), wrong] : tag)),
      }),
    }),
  );
  fails(report, 'payouts', `the worker's proof preimage ${wrong} does not hash to its payment hash`);
  passes(report, 'signatures');
  passes(report, 'chain');
  passes(report, 'inputs');
});

test('a split paid the wrong way round: payouts names each share', () => {
  const report = verify(
    tamper(DISPUTE, {
      '39-dispute-paid.json': (event) => ({
        ...event,
        tags: event.tags.map((tag) =>
          tag[0] === 'payout' ? [tag[0], tag[1] === 'worker' ? 'poster' : 'worker', ...tag.slice(2)] : tag,
        ),
      }),
    }),
    TASKS.dispute,
  );
  fails(report, 'payouts', 'the poster was paid 29849400 msat, more than the 19899600 msat owed');
  fails(
    report,
    'inputs',
    /the poster's payout in paid [0-9a-f]{64} went to the invoice of [0-9a-f]{64}, given by [0-9a-f]{64} for the worker/,
  );
});

test('a transition the rules forbid: claimed -> paid', () => {
  const skipped = [
    '10-submit.json',
    '11-submitted.json',
    '14-approve.json',
    '15-settling.json',
    '16-settled.json',
  ];
  const report = verify(tamper(HAPPY, Object.fromEntries(skipped.map((file) => [file, () => null]))));
  fails(report, 'states', /paid cannot follow claimed \(transition [0-9a-f]{64}\)/);
  fails(report, 'settlement', 'no transition proves the hold was settled');
});

test('a transition the rules forbid: refunded after settled', () => {
  const settled = ev('16-settled.json');
  const refunded = sign(
    {
      kind: 1985,
      created_at: settled.created_at + 5,
      tags: [
        ...ev('23-refund-refunded.json').tags.filter((tag) =>
          ['L', 'l', 'reason', 'height'].includes(tag[0]!),
        ),
        ['e', ev(TASKS.happy).id, '', 'task'],
        ['e', settled.id, '', 'prev'],
        ['p', EXAMPLE_KEYS.poster, '', 'poster'],
        ['p', EXAMPLE_KEYS.worker, '', 'worker'],
        ['payment_hash', settled.tags.find((tag) => tag[0] === 'payment_hash')![1]!],
        ['amount', '21000000'],
      ],
      content: '',
    },
    SECRET.agent,
  );
  const report = verify([...HAPPY.filter((event) => labelOf(event) !== 'paid'), refunded]);
  fails(report, 'states', `refunded cannot follow settled (transition ${refunded.id})`);
  fails(report, 'conservation', 'the task was both settled and refunded');
});

test('a timeout taken before its window ended: rules', () => {
  const report = verify(
    tamper(REFUND, {
      '21-refund-cancel.json': () => null,
      '22-refund-refunding.json': (event) => ({
        ...setTag(event, 'reason', 'claim_timeout'),
        tags: setTag(event, 'reason', 'claim_timeout').tags.filter((tag) => tag[3] !== 'cause'),
      }),
      '23-refund-refunded.json': (event) => setTag(event, 'reason', 'claim_timeout'),
    }),
    TASKS.refund,
  );
  fails(
    report,
    'rules',
    /refunding [0-9a-f]{64} \(claim_timeout\) is dated .* s before the claim window ended/,
  );
  passes(report, 'states');
  passes(report, 'inputs');
});

test('a hold-deadline refund that took effect before the hold deadline: rules', () => {
  const report = verify(
    tamper(REFUND, {
      '21-refund-cancel.json': () => null,
      '22-refund-refunding.json': (event) => ({
        ...event,
        tags: setTag(event, 'reason', 'hold_deadline').tags.filter((tag) => tag[3] !== 'cause'),
      }),
      '23-refund-refunded.json': (event) => setTag(event, 'reason', 'hold_deadline'),
    }),
    TASKS.refund,
  );
  fails(report, 'rules', /\(hold_deadline\) took effect at block 2527, before the hold deadline \d+/);
});

test('a refund for a cancel nobody sent: inputs', () => {
  const cancel = ev('21-refund-cancel.json');
  const report = verify(
    tamper(REFUND, { '21-refund-cancel.json': (event) => ({ event, signer: SECRET.worker }) }),
    TASKS.refund,
  );
  fails(report, 'inputs', /acted on the cancel [0-9a-f]{64} signed by .*, not by the poster/);
  assert.not.match(check(report, 'inputs').detail, cancel.id);
});

test('a listing swapped for an edited version (same d, new id): listing', () => {
  const listing = ev(TASKS.happy);
  const edited = sign(
    buildListing({
      d: 'readme-es',
      title: 'Translate the README into Spanish and Catalan',
      amountMsat: 21_000_000n,
      agent: AGENT,
      content: 'Edited after the offer.',
      createdAt: T0 + 40_000,
    }),
    SECRET.poster,
  );
  const report = verify([...HAPPY.filter((event) => event.id !== listing.id), edited]);
  fails(report, 'listing', `the listing on the relays is not the one escrowed: ${edited.id}`);
  assert.match(check(report, 'listing').detail, `30402:${EXAMPLE_KEYS.poster}:readme-es`);
  assert.ok(
    report.timeline.some((entry) => entry.eventId === edited.id && /another version/.test(entry.summary)),
  );
  // Both versions on the relays: the escrowed one is there, the edit is another task's business.
  assert.ok(verify([...HAPPY, edited]).ok);
});

test('a verdict cited that was signed by a stranger: inputs', () => {
  const stranger = getPublicKey(STRANGER);
  const report = verify(
    tamper(DISPUTE, { '33-dispute-verdict.json': (event) => ({ event, signer: STRANGER }) }),
    TASKS.dispute,
  );
  fails(
    report,
    'inputs',
    /cites [0-9a-f]{64} as an agreeing verdict by the arbitrator [0-9a-f]{64}, but it is signed by/,
  );
  assert.match(
    check(report, 'inputs').detail,
    `its author ${stranger} is not an arbitrator named in the offer`,
  );
});

test('a verdict by a stranger cited as theirs does not reach the threshold: rules', () => {
  const stranger = getPublicKey(STRANGER);
  const verdictId = ev('33-dispute-verdict.json').id;
  const report = verify(
    tamper(DISPUTE, {
      '33-dispute-verdict.json': (event) => ({ event, signer: STRANGER }),
      '34-dispute-settling.json': (event) => ({
        ...event,
        tags: event.tags.map((tag) =>
          tag[1] === verdictId && tag[3] === 'verdict' ? [...tag.slice(0, 4), stranger] : tag,
        ),
      }),
    }),
    TASKS.dispute,
  );
  fails(
    report,
    'rules',
    'acts on 0 agreeing verdicts of arbitrators named in the offer; the offer requires 1',
  );
  fails(report, 'inputs', `its author ${stranger} is not an arbitrator named in the offer`);
});

test('a verdict cited as agreeing that says otherwise: inputs', () => {
  const report = verify(
    tamper(DISPUTE, {
      '33-dispute-verdict.json': (event) => setTag(event, 'share_bps', '5000'),
    }),
    TASKS.dispute,
  );
  fails(
    report,
    'inputs',
    'it says split (50 % to the worker) and the transition takes split (60 % to the worker)',
  );
});

test('a payout to an invoice the recipient did not give: inputs', () => {
  const report = verify(
    tamper(DISPUTE, {
      '36-dispute-worker-payout-invoice.json': (event) => ({ event, signer: SECRET.poster }),
    }),
    TASKS.dispute,
  );
  fails(
    report,
    'inputs',
    /the worker's payout in paid [0-9a-f]{64} went to the invoice of [0-9a-f]{64}, given by/,
  );
});

test('the node may write up to 3 blocks more final CLTV than the offer asked for, never fewer: offer_invoice', () => {
  const cltv = Number(ev('05-offered.json').tags.find((tag) => tag[0] === 'cltv')![1]);
  const askedLess = (by: number) =>
    verify(
      tamper(HAPPY, { '05-offered.json': (event) => setTag(event, 'cltv', String(cltv - by)) }),
      TASKS.happy,
    );
  passes(askedLess(3), 'offer_invoice');
  fails(askedLess(4), 'offer_invoice', `the node may add at most 3`);
  const askedMore = verify(
    tamper(HAPPY, { '05-offered.json': (event) => setTag(event, 'cltv', String(cltv + 1)) }),
    TASKS.happy,
  );
  fails(askedMore, 'offer_invoice', `the offer's cltv tag says ${cltv + 1}`);
});

test('a hold invoice from another node than the announced one: offer_invoice', () => {
  const other = sign(
    buildAnnouncement(
      { ...EXAMPLE_POLICY, lightningNodeId: `02${'11'.repeat(32)}` },
      { rulesVersion: RULEBOOK_VERSION, createdAt: T0 - 3_600 },
    ),
    SECRET.agent,
  );
  const report = verify(HAPPY, TASKS.happy, other);
  fails(report, 'offer_invoice', `not by the agent's announced node 02${'11'.repeat(32)}`);
});

test('an announcement that is not the agent’s is not used', () => {
  const notTheAgent = sign({ ...ANNOUNCEMENT }, SECRET.poster);
  const report = verify(HAPPY, TASKS.happy, notTheAgent);
  fails(report, 'signatures', `the announcement ${notTheAgent.id} is signed by ${EXAMPLE_KEYS.poster}`);
  fails(report, 'fee', 'not checked');
});

test('nothing from the agent at all: every check that needs a chain says so', () => {
  const report = verify(HAPPY.filter((event) => event.pubkey !== AGENT));
  assert.is(report.state, null);
  fails(report, 'chain', 'expected exactly one first transition (no prev), found 0');
  fails(report, 'states', 'no transition of this task signed by the agent');
  assert.ok(report.timeline.length > 0);
});

// ------------------------------------------------------------------------------------------ in a browser

test('the committed examples verify in a browser bundle (no Buffer, process or require)', async () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const result = await build({
    entryPoints: [join(root, 'src/protocol/index.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    globalName: 'EscrowProtocol',
    logLevel: 'silent',
  });
  const sandbox = createContext({ TextEncoder, TextDecoder, crypto: webcrypto, console });
  runInContext(`${result.outputFiles[0]!.text}\nglobalThis.EscrowProtocol = EscrowProtocol;`, sandbox);
  const protocol = sandbox.EscrowProtocol as typeof import('../../src/protocol/index.ts');
  const folder = join(root, 'docs/examples');
  const files = readdirSync(folder).filter((file) => file.endsWith('.json'));
  const events = files.map((file) => JSON.parse(readFileSync(join(folder, file), 'utf8')) as NostrEvent);
  const announcement = events[files.indexOf('03-agent-announcement.json')]!;
  for (const file of Object.values(TASKS)) {
    const taskId = events[files.indexOf(file)]!.id;
    assert.is(taskId, ev(file).id, `docs/examples/${file} is what the generator makes`);
    const report = protocol.verifyTask({ agentPubkey: AGENT, taskId, events, announcement });
    assert.is(report.problems.join('\n'), '', file); // an array from the sandbox's realm: compare its text
    assert.ok(report.ok && report.checks.length === CHECK_NAMES.length, file);
  }
});

test.run();
