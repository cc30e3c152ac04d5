// What people send: each action label becomes exactly one domain command, each listing one `post` command,
// and every malformed variant is refused with the code and reason a client would get back.
import { bech32 } from '@scure/base';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLE_KEYS, SECRET, sign } from '../../scripts/examples/fixtures.ts';
import { LABEL_NAMESPACE as NS } from '../../src/protocol/constants.ts';
import { parseAction } from '../../src/protocol/parse-action.ts';
import { parseTaskListing } from '../../src/protocol/parse-task-listing.ts';
import type { IntakeReasonCode } from '../../src/protocol/reasons.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';

const AGENT = EXAMPLE_KEYS.agent;
const TASK = 'a1'.repeat(32);
const INVOICE = bech32.encode('lnbcrt100u', bech32.toWords(new Uint8Array(40).fill(7)), false);
const at = 1_750_000_000;

type Role = 'poster' | 'worker' | 'arbitrator' | 'agent';
function labelled(label: string, extra: string[][] = [], content = '', by: Role = 'worker'): NostrEvent {
  const tags = [['L', NS], ['l', label, NS], ['e', TASK, '', 'task'], ['p', AGENT], ...extra];
  return sign({ kind: 1985, created_at: at, tags, content }, SECRET[by]);
}
function raw(tags: string[][], content = '', kind = 1985): NostrEvent {
  return sign({ kind, created_at: at, tags, content }, SECRET.worker);
}

// ---------------------------------------------------------------------------------------------- actions

test('a claim becomes the claim command of its signer', () => {
  const result = parseAction(labelled('claim', [], 'On it.'), { agentPubkey: AGENT });
  assert.equal(result, {
    ok: true,
    action: { name: 'claim', taskId: TASK, command: { type: 'claim', by: EXAMPLE_KEYS.worker } },
  });
});

test('a submit carries its payout invoice when it has one, and null when not', () => {
  const withInvoice = parseAction(labelled('submit', [['bolt11', INVOICE]], 'https://example.com/x'), {
    agentPubkey: AGENT,
  });
  assert.equal(withInvoice.ok && withInvoice.action.command, {
    type: 'submit',
    by: EXAMPLE_KEYS.worker,
    payoutInvoice: INVOICE,
  });
  const without = parseAction(labelled('submit', [], 'https://example.com/x'), { agentPubkey: AGENT });
  assert.equal(without.ok && without.action.command, {
    type: 'submit',
    by: EXAMPLE_KEYS.worker,
    payoutInvoice: null,
  });
});

test('approve and cancel become commands of the poster who signed them', () => {
  for (const name of ['approve', 'cancel'] as const) {
    const result = parseAction(labelled(name, [], '', 'poster'), { agentPubkey: AGENT });
    assert.equal(result.ok && result.action, {
      name,
      taskId: TASK,
      command: { type: name, by: EXAMPLE_KEYS.poster },
    });
  }
});

test('a dispute carries its reason, trimmed', () => {
  const result = parseAction(labelled('dispute', [], '  WAL is missing.\n', 'poster'), {
    agentPubkey: AGENT,
  });
  assert.equal(result.ok && result.action.command, {
    type: 'dispute',
    by: EXAMPLE_KEYS.poster,
    reason: 'WAL is missing.',
  });
});

test('a verdict carries its outcome, and the worker share only for a split', () => {
  const verdict = (tags: string[][]) => {
    const result = parseAction(labelled('verdict', tags, '', 'arbitrator'), { agentPubkey: AGENT });
    return result.ok ? result.action.command : result.reason;
  };
  const by = EXAMPLE_KEYS.arbitrator;
  assert.equal(verdict([['outcome', 'worker']]), { type: 'verdict', by, outcome: 'worker' });
  assert.equal(verdict([['outcome', 'poster']]), { type: 'verdict', by, outcome: 'poster' });
  assert.equal(
    verdict([
      ['outcome', 'split'],
      ['share_bps', '6000'],
    ]),
    { type: 'verdict', by, outcome: 'split', workerShareBps: 6000 },
  );
  assert.equal(
    verdict([
      ['outcome', 'split'],
      ['share_bps', '0'],
    ]),
    { type: 'verdict', by, outcome: 'split', workerShareBps: 0 },
  );
});

test('a payout invoice names its recipient and invoice', () => {
  const result = parseAction(
    labelled(
      'payout_invoice',
      [
        ['bolt11', INVOICE],
        ['recipient', 'poster'],
      ],
      '',
      'poster',
    ),
    { agentPubkey: AGENT },
  );
  assert.equal(result.ok && result.action.command, {
    type: 'payout_invoice',
    by: EXAMPLE_KEYS.poster,
    recipient: 'poster',
    bolt11: INVOICE,
  });
});

test('tags the protocol does not know (client, alt, NIP-10 author) are ignored', () => {
  const event = raw([
    ['L', NS],
    ['l', 'claim', NS],
    ['e', TASK, 'wss://relay.example.com', 'task', EXAMPLE_KEYS.poster],
    ['p', AGENT],
    ['client', 'some-client'],
    ['alt', 'claiming a task'],
    ['l', 'good', 'ugc'],
  ]);
  assert.ok(parseAction(event, { agentPubkey: AGENT }).ok);
});

const base = [
  ['L', NS],
  ['e', TASK, '', 'task'],
  ['p', AGENT],
];
const claim = [...base, ['l', 'claim', NS]];
const verdictTags = (...extra: string[][]) => [...base, ['l', 'verdict', NS], ...extra];
const payoutTags = (...extra: string[][]) => [...base, ['l', 'payout_invoice', NS], ...extra];

const malformed: Array<{ name: string; event: NostrEvent; code: IntakeReasonCode; says: string }> = [
  {
    name: 'has no task e-tag',
    event: raw(claim.filter((tag) => tag[0] !== 'e')),
    code: 'MalformedAction',
    says: 'e:task tag: needs exactly one e tag marked "task"',
  },
  {
    name: 'has an e-tag without the task marker',
    event: raw([...claim.filter((tag) => tag[0] !== 'e'), ['e', TASK]]),
    code: 'MalformedAction',
    says: 'e:task tag: needs exactly one',
  },
  {
    name: 'names two tasks',
    event: raw([...claim, ['e', 'b2'.repeat(32), '', 'task']]),
    code: 'MalformedAction',
    says: 'e:task tag: needs exactly one',
  },
  {
    name: 'names its task in uppercase hex',
    event: raw([...claim.filter((tag) => tag[0] !== 'e'), ['e', TASK.toUpperCase(), '', 'task']]),
    code: 'MalformedAction',
    says: 'e:task tag: must be 64 lowercase hex characters',
  },
  {
    name: 'has a relay hint that is not a websocket URL',
    event: raw([...claim.filter((tag) => tag[0] !== 'e'), ['e', TASK, 'https://relay', 'task']]),
    code: 'MalformedAction',
    says: 'e:task tag: must be "" or a ws:// or wss:// relay URL',
  },
  {
    name: 'labels in another namespace',
    event: raw([['L', 'other/v1'], ['l', 'claim', 'other/v1'], ...base.slice(1)]),
    code: 'MalformedAction',
    says: `no label in namespace ${NS}`,
  },
  {
    name: 'has no L tag',
    event: raw(claim.filter((tag) => tag[0] !== 'L')),
    code: 'MalformedAction',
    says: `missing ["L", "${NS}"] tag`,
  },
  {
    name: 'carries two labels',
    event: raw([...claim, ['l', 'approve', NS]]),
    code: 'MalformedAction',
    says: 'more than one label',
  },
  {
    name: 'is a label no action has',
    event: raw([...base, ['l', 'frobnicate', NS]]),
    code: 'UnknownAction',
    says: 'unknown action "frobnicate"',
  },
  {
    name: 'is a state label, which only the agent publishes',
    event: raw([...base, ['l', 'settled', NS]]),
    code: 'UnknownAction',
    says: '"settled" labels are published by the agent only',
  },
  {
    name: 'is a rejection, which only the agent publishes',
    event: raw([...base, ['l', 'rejected', NS]]),
    code: 'UnknownAction',
    says: 'published by the agent only',
  },
  {
    name: 'does not tag the agent',
    event: raw(claim.filter((tag) => tag[0] !== 'p')),
    code: 'NotForThisAgent',
    says: 'does not tag this agent',
  },
  {
    name: 'is not a label at all (kind 1)',
    event: raw(claim, '', 1),
    code: 'MalformedAction',
    says: 'kind 1 is not',
  },
  {
    name: 'is a split verdict without a share',
    event: raw(verdictTags(['outcome', 'split'])),
    code: 'MalformedAction',
    says: 'share_bps tag: is required for a split verdict',
  },
  {
    name: 'is a worker verdict with a share',
    event: raw(verdictTags(['outcome', 'worker'], ['share_bps', '5000'])),
    code: 'MalformedAction',
    says: 'share_bps tag: is required for a split verdict, and only for it',
  },
  ...['10001', '-5', '60.5', '06000', '6e3', ''].map((share) => ({
    name: `has share_bps "${share}"`,
    event: raw(verdictTags(['outcome', 'split'], ['share_bps', share])),
    code: 'MalformedAction' as const,
    says: 'share_bps tag: must be basis points',
  })),
  {
    name: 'has an outcome nobody can get',
    event: raw(verdictTags(['outcome', 'both'])),
    code: 'MalformedAction',
    says: 'outcome tag: must be "worker", "poster" or "split"',
  },
  {
    name: 'has two outcomes',
    event: raw(verdictTags(['outcome', 'worker'], ['outcome', 'poster'])),
    code: 'MalformedAction',
    says: 'outcome tag: needs exactly one',
  },
  {
    name: 'is a payout invoice without a recipient',
    event: raw(payoutTags(['bolt11', INVOICE])),
    code: 'MalformedAction',
    says: 'recipient tag: needs exactly one',
  },
  {
    name: 'is a payout invoice for the agent',
    event: raw(payoutTags(['bolt11', INVOICE], ['recipient', 'agent'])),
    code: 'MalformedAction',
    says: 'recipient tag: must be "worker" or "poster"',
  },
  {
    name: 'is a payout invoice with a broken checksum',
    event: raw(payoutTags(['bolt11', `${INVOICE.slice(0, -1)}x`], ['recipient', 'worker'])),
    code: 'MalformedAction',
    says: 'bolt11 tag: must be a lowercase BOLT11 invoice',
  },
  {
    name: 'is a submit with an uppercase invoice',
    event: raw([...base, ['l', 'submit', NS], ['bolt11', INVOICE.toUpperCase()]], 'https://x'),
    code: 'MalformedAction',
    says: 'bolt11 tag: must be a lowercase BOLT11 invoice',
  },
  {
    name: 'is a submit with no delivery',
    event: raw([...base, ['l', 'submit', NS]], ''),
    code: 'MalformedAction',
    says: 'content: must not be empty',
  },
  {
    name: 'is a dispute whose reason is only spaces',
    event: raw([...base, ['l', 'dispute', NS]], '   \n'),
    code: 'MalformedAction',
    says: 'content: must not be empty',
  },
  {
    name: 'has content over 8 192 characters',
    event: raw(claim, 'x'.repeat(8_193)),
    code: 'MalformedAction',
    says: 'content: must be at most 8192 characters',
  },
];

for (const item of malformed) {
  test(`an action that ${item.name} is refused with ${item.code}`, () => {
    const result = parseAction(item.event, { agentPubkey: AGENT });
    assert.is(result.ok, false);
    if (result.ok) return;
    assert.is(result.code, item.code, result.reason);
    assert.ok(result.reason.startsWith('invalid: '), result.reason);
    assert.ok(result.reason.includes(item.says), `"${result.reason}" should say "${item.says}"`);
  });
}

// ---------------------------------------------------------------------------------------------- listing

function listing(
  change: (tags: string[][]) => string[][] = (tags) => tags,
  content = 'Details.',
): NostrEvent {
  const tags = [
    ['d', 'readme-es'],
    ['title', 'Translate the README'],
    ['price', '21000', 'SAT'],
    ['amount', '21000000'],
    ['p', AGENT],
    ['t', 'escrow'],
    ['t', 'translation'],
  ];
  return sign({ kind: 30402, created_at: at, tags: change(tags), content }, SECRET.poster);
}
const replace =
  (name: string, ...values: string[][]) =>
  (tags: string[][]) => [...tags.filter((tag) => tag[0] !== name), ...values];

test('a listing becomes the post command: task id = event id, exact msat amount, window overrides', () => {
  const event = listing((tags) => [...tags, ['window', 'work', '86400'], ['window', 'review', '3600']]);
  const result = parseTaskListing(event, { agentPubkey: AGENT });
  assert.equal(result, {
    ok: true,
    listing: {
      taskId: event.id,
      address: `30402:${EXAMPLE_KEYS.poster}:readme-es`,
      command: {
        type: 'post',
        taskId: event.id,
        by: EXAMPLE_KEYS.poster,
        amountMsat: 21_000_000n,
        title: 'Translate the README',
        windows: { workSeconds: 86_400, reviewSeconds: 3_600 },
      },
    },
  });
});

test('a listing without overrides has no windows, and a fractional sat price may match an msat amount', () => {
  const plain = parseTaskListing(listing(), { agentPubkey: AGENT });
  assert.ok(plain.ok && !('windows' in plain.listing.command));
  const fractional = listing((tags) =>
    replace('price', ['price', '21000.5', 'sat'])(replace('amount', ['amount', '21000500'])(tags)),
  );
  const withPrice = parseTaskListing(fractional, { agentPubkey: AGENT });
  assert.ok(withPrice.ok, withPrice.ok ? '' : withPrice.reason);
  const noPrice = parseTaskListing(listing(replace('price')), { agentPubkey: AGENT });
  assert.ok(noPrice.ok);
});

const badListings: Array<{ name: string; event: NostrEvent; code: IntakeReasonCode; says: string }> = [
  ...['021000000', '-21000000', '+21000000', '21000000.0', '2.1e7', ' 21000000', ''].map((amount) => ({
    name: `has amount "${amount}"`,
    event: listing(replace('amount', ['amount', amount])),
    code: 'MalformedListing' as const,
    says: 'amount tag: must be a whole number of msat in decimal',
  })),
  {
    name: 'has amount 0',
    event: listing(replace('amount', ['amount', '0'])),
    code: 'MalformedListing',
    says: 'amount tag: must be more than 0 msat',
  },
  {
    name: 'has no amount',
    event: listing(replace('amount')),
    code: 'MalformedListing',
    says: 'amount tag: needs exactly one',
  },
  {
    name: 'has two amounts',
    event: listing((tags) => [...tags, ['amount', '1000']]),
    code: 'MalformedListing',
    says: 'amount tag: needs exactly one',
  },
  {
    name: 'shows a price other than its amount',
    event: listing(replace('price', ['price', '2100', 'SAT'])),
    code: 'MalformedListing',
    says: 'price tag: must equal the amount tag',
  },
  {
    name: 'has a recurring price',
    event: listing(replace('price', ['price', '21000', 'SAT', 'month'])),
    code: 'MalformedListing',
    says: 'price tag: must have exactly 3 elements',
  },
  {
    name: 'has a price in dollars',
    event: listing(replace('price', ['price', '21000', 'USD'])),
    code: 'MalformedListing',
    says: 'price tag: must be SAT',
  },
  {
    name: 'is not marked as an escrow task',
    event: listing(replace('t', ['t', 'translation'])),
    code: 'MalformedListing',
    says: 't tag: must include ["t", "escrow"]',
  },
  {
    name: 'has no title',
    event: listing(replace('title')),
    code: 'MalformedListing',
    says: 'title tag: needs exactly one',
  },
  {
    name: 'has an empty title',
    event: listing(replace('title', ['title', ' '])),
    code: 'MalformedListing',
    says: 'title tag: must not be empty',
  },
  {
    name: 'has no d tag',
    event: listing(replace('d')),
    code: 'MalformedListing',
    says: 'd tag: needs exactly one',
  },
  {
    name: 'overrides a window that does not exist',
    event: listing((tags) => [...tags, ['window', 'idle', '60']]),
    code: 'MalformedListing',
    says: 'window tag: must name the claim, work, review or dispute window',
  },
  {
    name: 'overrides the same window twice',
    event: listing((tags) => [...tags, ['window', 'work', '60'], ['window', 'work', '120']]),
    code: 'MalformedListing',
    says: 'window tag: must name each window at most once',
  },
  ...['0', '1.5', '-60', '060'].map((seconds) => ({
    name: `sets a window to "${seconds}" seconds`,
    event: listing((tags) => [...tags, ['window', 'work', seconds]]),
    code: 'MalformedListing' as const,
    says: 'window tag: must be a window length in seconds',
  })),
  {
    name: 'does not tag the agent',
    event: listing(replace('p', ['p', 'c3'.repeat(32)])),
    code: 'NotForThisAgent',
    says: 'does not tag this agent',
  },
  {
    name: 'is too large to embed in the offer',
    event: listing(undefined, 'x'.repeat(32_700)),
    code: 'MalformedListing',
    says: 'larger than 32768 bytes',
  },
];

for (const item of badListings) {
  test(`a listing that ${item.name} is refused with ${item.code}`, () => {
    const result = parseTaskListing(item.event, { agentPubkey: AGENT });
    assert.is(result.ok, false);
    if (result.ok) return;
    assert.is(result.code, item.code, result.reason);
    assert.ok(result.reason.includes(item.says), `"${result.reason}" should say "${item.says}"`);
  });
}

test('an event of another kind is not a listing', () => {
  const note = sign({ kind: 1, created_at: at, tags: [['p', AGENT]], content: 'hi' }, SECRET.poster);
  const result = parseTaskListing(note, { agentPubkey: AGENT });
  assert.ok(!result.ok && result.code === 'MalformedListing');
});

test.run();
