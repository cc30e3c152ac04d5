// The examples in docs/examples are real, and docs/protocol.md cannot drift from the code: every example parses
// with the project's own schemas, verifies and chains, and every kind, label, tag and reason code named in the
// document's tables is checked against the parsers and the examples.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32 } from '@scure/base';
import * as nip59 from 'nostr-tools/nip59';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SECRET } from '../../scripts/examples/fixtures.ts';
import {
  buildExamples,
  EXAMPLE_KEYS,
  EXAMPLE_POLICY,
  EXAMPLES_DIR,
  exampleNodeKey,
  formatEvent,
} from '../../scripts/generate-examples.ts';
import { CANT_DO } from '../../src/domain/errors.ts';
import { RULEBOOK_VERSION } from '../../src/domain/rulebook.ts';
import {
  paymentPromptSchema,
  policyJsonSchema,
  profileContentSchema,
  reasonPrefixOf,
  rejectionSchema,
  relayListSchema,
} from '../../src/protocol/agent-schemas.ts';
import { parseAnnouncement } from '../../src/protocol/build-announcement.ts';
import {
  ACTION_NAMES,
  FOREIGN_KIND_RANGES,
  REJECTED_LABEL,
  TRANSITION_STATES,
} from '../../src/protocol/constants.ts';
import { parseAction } from '../../src/protocol/parse-action.ts';
import { parseTaskListing } from '../../src/protocol/parse-task-listing.ts';
import {
  isTransitionState,
  type ParsedTransition,
  parseTransition,
} from '../../src/protocol/parse-transition.ts';
import { readPrivateNotice } from '../../src/protocol/private-notice.ts';
import { readLabel } from '../../src/protocol/read-label.ts';
import { INTAKE_REASONS, REASON_CODES } from '../../src/protocol/reasons.ts';
import {
  parseReputationAssertion,
  reputationOf,
  taskOutcomeFromTransitions,
} from '../../src/protocol/reputation.ts';
import { type NostrEvent, parseEventJson, parseLabelled, tagKey } from '../../src/protocol/schemas.ts';
import { verifyEvent } from '../../src/protocol/verify-event.ts';
import { verifyTaskHistory } from '../../src/protocol/verify-history.ts';

const PROTOCOL = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const AGENT = EXAMPLE_KEYS.agent;

const files = readdirSync(EXAMPLES_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort();
const texts = new Map(files.map((name) => [name, readFileSync(join(EXAMPLES_DIR, name), 'utf8')]));
const examples = new Map<string, NostrEvent>();
for (const [name, text] of texts) {
  const parsed = parseEventJson(text);
  if (parsed.ok) examples.set(name, parsed.event);
}
function example(name: string): NostrEvent {
  const event = examples.get(name);
  if (!event) throw new Error(`no parseable example ${name}`);
  return event;
}
const labelOf = (event: NostrEvent) => {
  const label = readLabel(event);
  return label.ok ? label.label : null;
};

// ------------------------------------------------------------------------ the protocol's own parsers

/** Parses an event with the parser the protocol names for its kind (and label). null = accepted. */
function refusal(event: NostrEvent): string | null {
  switch (event.kind) {
    case 0: {
      const content = profileContentSchema.safeParse(JSON.parse(event.content));
      return content.success ? null : content.error.message;
    }
    case 10002: {
      const parsed = parseLabelled(relayListSchema, event);
      return parsed.ok ? null : parsed.text;
    }
    case 31990: {
      const parsed = parseAnnouncement(event);
      return parsed.ok ? null : parsed.reason;
    }
    case 30402: {
      const parsed = parseTaskListing(event, { agentPubkey: AGENT });
      return parsed.ok ? null : parsed.reason;
    }
    case 7000: {
      const parsed = parseLabelled(paymentPromptSchema, event);
      return parsed.ok ? null : parsed.text;
    }
    case 1059: {
      const notice = readPrivateNotice(SECRET.arbitrator, AGENT, event);
      return notice === null ? 'the example arbitrator cannot read this private notice' : null;
    }
    case 30382: {
      try {
        parseReputationAssertion(event);
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    }
    case 1985: {
      const label = labelOf(event);
      if (label === REJECTED_LABEL) {
        const parsed = parseLabelled(rejectionSchema, event);
        return parsed.ok ? null : parsed.text;
      }
      if (label !== null && isTransitionState(label)) {
        const parsed = parseTransition(event, { agentPubkey: AGENT });
        return parsed.ok ? null : parsed.reason;
      }
      const parsed = parseAction(event, { agentPubkey: AGENT });
      return parsed.ok ? null : parsed.reason;
    }
    default:
      return `no parser for kind ${event.kind}`;
  }
}

function transitionsByTask(): Map<string, Array<{ file: string; transition: ParsedTransition }>> {
  const tasks = new Map<string, Array<{ file: string; transition: ParsedTransition }>>();
  for (const [file, event] of examples) {
    const label = labelOf(event);
    if (event.kind !== 1985 || label === null || !isTransitionState(label)) continue;
    const parsed = parseTransition(event, { agentPubkey: AGENT });
    if (!parsed.ok) throw new Error(`${file}: ${parsed.reason}`);
    const list = tasks.get(parsed.transition.taskId) ?? [];
    list.push({ file, transition: parsed.transition });
    tasks.set(parsed.transition.taskId, list);
  }
  return tasks;
}

// ----------------------------------------------------------------------------- the document's tables

/** The rows of the first table after `heading` (header and separator rows left out), as cells. */
function table(heading: string): string[][] {
  const lines = PROTOCOL.split('\n');
  const start = lines.findIndex((line) => line.startsWith('#') && line.includes(heading));
  if (start < 0) throw new Error(`docs/protocol.md has no heading "${heading}"`);
  const first = lines.findIndex((line, index) => index > start && line.startsWith('|'));
  const rows: string[][] = [];
  for (let index = first + 2; lines[index]?.startsWith('|'); index += 1) {
    rows.push(
      lines[index]!.split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
const linkedFiles = (cell: string) =>
  [...cell.matchAll(/\(examples\/([^)]+\.json)\)/g)].map((match) => match[1]!);

/** An event without the tags filed under `keys` (see tagKey), to test what the parser requires. */
function without(event: NostrEvent, keys: readonly string[]): NostrEvent {
  return { ...event, tags: event.tags.filter((tag) => !keys.includes(tagKey(tag))) };
}

// --------------------------------------------------------------------------------------------- tests

test('every example file passes the strict intake: size, JSON without repeated keys, NIP-01 shape', () => {
  assert.ok(files.length >= 40, `only ${files.length} examples`);
  for (const [name, text] of texts) {
    const parsed = parseEventJson(text);
    assert.ok(parsed.ok, `${name}: ${parsed.ok ? '' : parsed.reason}`);
  }
});

test("every example's id recomputes from its fields and its signature verifies", () => {
  for (const [name, event] of examples) {
    const verified = verifyEvent(event);
    assert.ok(verified.ok, `${name}: ${verified.ok ? '' : verified.reason}`);
  }
});

test('every example is accepted by the parser of its kind and label', () => {
  for (const [name, event] of examples) assert.is(refusal(event), null, name);
});

test('running the generator again writes exactly the files on disk', () => {
  const generated = buildExamples();
  assert.equal(
    generated.map((item) => item.file),
    files,
  );
  for (const item of generated) assert.is(formatEvent(item.event), texts.get(item.file), item.file);
});

test("each task's transitions chain through prev links to its first transition, in file order", () => {
  const tasks = transitionsByTask();
  assert.is(tasks.size, 5);
  for (const chain of tasks.values()) {
    assert.is(chain[0]!.transition.prev, null, `${chain[0]!.file} starts the chain`);
    for (let index = 1; index < chain.length; index += 1) {
      const previous = chain[index - 1]!.transition;
      assert.is(
        chain[index]!.transition.prev,
        previous.eventId,
        `${chain[index]!.file} points at ${chain[index - 1]!.file}`,
      );
    }
  }
});

test('every example task verifies from its events alone, and received = paid + fee + refunded', () => {
  const all = [...examples.values()];
  for (const [taskId, chain] of transitionsByTask()) {
    const report = verifyTaskHistory({ agentPubkey: AGENT, taskId, events: all });
    assert.equal(report.problems, [], chain[0]!.file);
    assert.is(report.chain.length, chain.length);
    const { receivedMsat, paidMsat, feeMsat, refundedMsat } = report.totals;
    assert.is(receivedMsat, paidMsat + feeMsat + refundedMsat, chain[0]!.file);
  }
});

test('the settled example reveals the preimage of the offered payment hash', () => {
  const offered = example('05-offered.json').tags.find((tag) => tag[0] === 'payment_hash')![1]!;
  const settled = example('16-settled.json');
  const preimage = settled.tags.find((tag) => tag[0] === 'preimage')![1]!;
  assert.is(createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex'), offered);
  assert.is(settled.tags.find((tag) => tag[0] === 'payment_hash')![1], offered);
});

/** 5-bit words to bytes, zero-padded: written differently from the generator on purpose. */
function bitsToBytes(words: readonly number[]): Buffer {
  const bits = words.map((word) => word.toString(2).padStart(5, '0')).join('');
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0');
  return Buffer.from((padded.match(/.{8}/g) ?? []).map((byte) => Number.parseInt(byte, 2)));
}

/** Decodes the parts of a BOLT11 string the examples promise, and recovers the node that signed it. */
function decodeInvoice(invoice: string) {
  const { prefix, words } = bech32.decode(invoice as `${string}1${string}`, false);
  const match = /^lnbcrt([0-9]+)([munp])$/.exec(prefix)!;
  const scale = { m: 100_000_000n, u: 100_000n, n: 100n, p: 0n }[match[2] as 'm' | 'u' | 'n' | 'p'];
  const amountMsat = scale === 0n ? BigInt(match[1]!) / 10n : BigInt(match[1]!) * scale;
  const data = words.slice(0, -104);
  const fields = new Map<number, number[]>();
  for (let index = 7; index < data.length; ) {
    const length = data[index + 1]! * 32 + data[index + 2]!;
    fields.set(data[index]!, data.slice(index + 3, index + 3 + length));
    index += 3 + length;
  }
  const signature = bech32.fromWords(words.slice(-104));
  const hash = createHash('sha256')
    .update(Buffer.concat([Buffer.from(prefix), bitsToBytes(data)]))
    .digest();
  const recovered = secp256k1.Signature.fromBytes(
    new Uint8Array([signature[64]!, ...signature.slice(0, 64)]),
    'recovered',
  ).recoverPublicKey(hash);
  return {
    amountMsat,
    paymentHash: Buffer.from(bech32.fromWords(fields.get(1)!)).toString('hex'),
    minFinalCltv: fields.get(24)!.reduce((value, word) => value * 32 + word, 0),
    node: Buffer.from(recovered.toBytes(true)).toString('hex'),
  };
}
const nodeOf = (whose: 'agent' | 'worker' | 'poster') =>
  Buffer.from(secp256k1.getPublicKey(exampleNodeKey(whose), true)).toString('hex');

test('every hold invoice in the examples is a regtest BOLT11 for the offered amount, hash and CLTV', () => {
  let checked = 0;
  for (const [name, event] of examples) {
    const label = labelOf(event);
    if (label !== 'offered') continue;
    const value = (name: string) => event.tags.find((tag) => tag[0] === name)![1]!;
    const invoice = decodeInvoice(value('bolt11'));
    assert.is(invoice.amountMsat, BigInt(value('amount')), name);
    assert.is(invoice.paymentHash, value('payment_hash'), name);
    assert.is(invoice.minFinalCltv, Number(value('cltv')), name);
    assert.is(invoice.node, nodeOf('agent'), `${name}: signed by the agent's test node`);
    checked += 1;
  }
  assert.is(checked, 5);
  const prompt = example('06-payment-prompt.json').tags.find((tag) => tag[0] === 'amount')!;
  assert.is(decodeInvoice(prompt[2]!).amountMsat, BigInt(prompt[1]!));
});

test("every payout invoice in the examples is signed by its recipient's node and is the one paid", () => {
  const paid = [example('17-paid.json'), example('39-dispute-paid.json')].flatMap((event) =>
    event.tags.filter((tag) => tag[0] === 'payout'),
  );
  const invoices: Array<[string, 'worker' | 'poster']> = [
    [example('10-submit.json').tags.find((tag) => tag[0] === 'bolt11')![1]!, 'worker'],
    [example('36-dispute-worker-payout-invoice.json').tags.find((tag) => tag[0] === 'bolt11')![1]!, 'worker'],
    [example('37-dispute-payout-invoice.json').tags.find((tag) => tag[0] === 'bolt11')![1]!, 'poster'],
  ];
  // The dispute's submit invoice is for amount - fee: after a split it pays nothing (each share has its own).
  const submitted = decodeInvoice(
    example('29-dispute-submit.json').tags.find((tag) => tag[0] === 'bolt11')![1]!,
  );
  assert.not.ok(
    paid.some((tag) => tag[3] === submitted.paymentHash),
    'the submit invoice of a split is not paid',
  );
  for (const [bolt11, whose] of invoices) {
    const invoice = decodeInvoice(bolt11);
    assert.is(invoice.node, nodeOf(whose));
    const payout = paid.find((tag) => tag[3] === invoice.paymentHash);
    assert.ok(payout, `a payout pays invoice ${invoice.paymentHash}`);
    assert.is(payout![1], whose);
    assert.is(BigInt(payout![2]!), invoice.amountMsat);
  }
});

test('docs/protocol.md mentions every example file, and every file it links exists', () => {
  for (const name of files)
    assert.ok(PROTOCOL.includes(`examples/${name}`), `docs/protocol.md does not mention ${name}`);
  for (const linked of linkedFiles(PROTOCOL))
    assert.ok(texts.has(linked), `docs/protocol.md links a missing ${linked}`);
});

test('every kind in the kinds table in use has an example of that kind, and none is a kind others own', () => {
  const rows = table('Kinds');
  assert.ok(rows.length >= 6);
  for (const [kinds, , , , status, exampleCell] of rows) {
    const numbers = kinds!.split('/').map((kind) => Number(kind.trim()));
    for (const kind of numbers) {
      assert.ok(Number.isInteger(kind) && kind >= 0 && kind <= 65_535, `kind ${kind}`);
      for (const [low, high, owner] of FOREIGN_KIND_RANGES) {
        assert.not.ok(kind >= low && kind <= high, `kind ${kind} belongs to ${owner}`);
      }
    }
    const linked = linkedFiles(exampleCell!);
    if (status!.startsWith('implemented')) {
      assert.is(linked.length, 1, `kind ${kinds} needs an example`);
      assert.is(example(linked[0]!).kind, numbers[0]);
    } else {
      assert.is(linked.length, 0, `kind ${kinds} is not implemented: no example expected`);
    }
  }
});

test('the label table lists exactly the labels the code knows, each with an example of that label and signer', () => {
  const rows = table('Labels');
  const labels = rows.map((row) => ticked(row[0]!)[0]!);
  assert.equal([...labels].sort(), [...ACTION_NAMES, ...TRANSITION_STATES, REJECTED_LABEL].sort());
  const signers: Record<string, string[]> = {
    agent: [EXAMPLE_KEYS.agent],
    worker: [EXAMPLE_KEYS.worker],
    poster: [EXAMPLE_KEYS.poster],
    arbitrator: [EXAMPLE_KEYS.arbitrator],
    'poster or worker': [EXAMPLE_KEYS.poster, EXAMPLE_KEYS.worker],
    "the payout's recipient": [EXAMPLE_KEYS.poster, EXAMPLE_KEYS.worker],
  };
  for (const row of rows) {
    const [file] = linkedFiles(row[5]!);
    assert.ok(file, `label ${row[0]} needs an example`);
    const event = example(file!);
    assert.is(labelOf(event), labels[rows.indexOf(row)], `${file} has label ${row[0]}`);
    assert.ok(signers[row[1]!]?.includes(event.pubkey), `${file} is signed by the ${row[1]}`);
  }
});

test('every tag the label table calls required is refused when missing, and every optional one is not', () => {
  for (const [labelCell, , required, optional, , exampleCell] of table('Labels')) {
    const label = ticked(labelCell!)[0];
    const event = example(linkedFiles(exampleCell!)[0]!);
    for (const key of ticked(required!)) {
      assert.ok(refusal(without(event, key.split('+'))) !== null, `${label}: ${key} is required`);
    }
    for (const key of ticked(optional!)) {
      assert.is(refusal(without(event, key.split('+'))), null, `${label}: ${key} is optional`);
    }
  }
});

test('an example stripped to the required tags of its label still parses (the required list is complete)', () => {
  for (const [labelCell, , required, , , exampleCell] of table('Labels')) {
    const label = ticked(labelCell!)[0];
    const keep = new Set(ticked(required!).flatMap((key) => key.split('+')));
    const event = example(linkedFiles(exampleCell!)[0]!);
    const stripped = { ...event, tags: event.tags.filter((tag) => keep.has(tagKey(tag))) };
    assert.is(refusal(stripped), null, `${label} with only ${[...keep].join(' ')}`);
  }
});

test('the listing tag table matches the parser: required tags are required, optional ones are not', () => {
  const listing = example('04-task-listing.json');
  const rows = table('The task');
  assert.equal(rows.map((row) => ticked(row[0]!)[0]).sort(), [
    'amount',
    'd',
    'p',
    'p:arbitrator',
    'price',
    'summary',
    't',
    'threshold',
    'title',
    'window',
  ]);
  for (const [tagCell, required] of rows) {
    const key = ticked(tagCell!)[0]!;
    const parsed = parseTaskListing(without(listing, [key]), { agentPubkey: AGENT });
    assert.is(parsed.ok, required === 'no', `listing tag ${key} required: ${required}`);
  }
});

test('the reasons table lists every code the agent can give, with its prefix and whether it is answered', () => {
  const rows = table('Rejections and reasons');
  assert.equal(rows.map((row) => ticked(row[0]!)[0]).sort(), [...REASON_CODES].sort());
  for (const [codeCell, prefix, answered] of rows) {
    const code = ticked(codeCell!)[0]! as (typeof REASON_CODES)[number];
    assert.is(prefix, reasonPrefixOf(code), code);
    const expected = Object.hasOwn(CANT_DO, code)
      ? true
      : INTAKE_REASONS[code as keyof typeof INTAKE_REASONS].answered;
    assert.is(answered, expected ? 'yes' : 'no', code);
  }
});

test('the policy table lists exactly the fields of the published policy', () => {
  const rows = table('Agent identity and policy');
  assert.equal(rows.map((row) => ticked(row[0]!)[0]).sort(), Object.keys(policyJsonSchema.shape).sort());
});

test("the reputation example is the worker's counters recomputed from the example tasks' transitions", () => {
  const assertion = parseReputationAssertion(example('49-reputation.json'));
  const outcomes = [...transitionsByTask().values()]
    .map((chain) => taskOutcomeFromTransitions(chain.map((entry) => entry.transition)))
    .filter((outcome) => outcome !== null);
  const recomputed = reputationOf(EXAMPLE_KEYS.worker, outcomes);
  assert.is(assertion.pubkey, EXAMPLE_KEYS.worker);
  assert.equal(assertion.counters, recomputed.counters);
  assert.equal(assertion.sources, recomputed.sources);
  assert.is(assertion.counters.tasksPaidAsWorker, 2, 'the happy path and the split');
});

test("the private notice example opens with the arbitrator's key, in any NIP-17 client, and names the dispute", () => {
  const wrap = example('50-dispute-notice.json');
  const notice = readPrivateNotice(SECRET.arbitrator, AGENT, wrap);
  const disputed = example('32-dispute-disputed.json');
  const taskId = disputed.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')![1]!;
  assert.is(notice?.topic, 'dispute_opened');
  assert.is(notice?.taskId, taskId);
  assert.is(notice?.facts.opened_by, 'poster');
  assert.is(notice?.facts.statement_poster, example('31-dispute-dispute.json').content);
  const rumor = nip59.unwrapEvent(wrap as Parameters<typeof nip59.unwrapEvent>[0], SECRET.arbitrator);
  assert.is(rumor.kind, 14);
  assert.is(rumor.pubkey, AGENT);
  assert.is(readPrivateNotice(SECRET.worker, AGENT, wrap), null, 'nobody else reads it');
});

test('the announcement example carries the example policy, read back exactly', () => {
  const parsed = parseAnnouncement(example('03-agent-announcement.json'));
  assert.ok(parsed.ok);
  if (parsed.ok) {
    assert.equal(parsed.announcement.policy, EXAMPLE_POLICY);
    assert.is(parsed.announcement.rulesVersion, RULEBOOK_VERSION);
  }
});

test.run();
