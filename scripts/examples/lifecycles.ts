// The example lifecycles: the agent's identity, then five tasks that between them use every kind and label
// of the protocol (happy path, refund after funding, dispute with a split verdict, expiry, cancellation).
import { createHash } from 'node:crypto';
import type { EventTemplate } from 'nostr-tools/pure';
import { splitShares } from '../../src/domain/money.ts';
import { RULEBOOK_VERSION } from '../../src/domain/rulebook.ts';
import { buildAnnouncement, buildProfile, buildRelayList } from '../../src/protocol/build-announcement.ts';
import { buildPaymentPrompt, buildRejection } from '../../src/protocol/build-notices.ts';
import { type ParsedTransition, parseTransition } from '../../src/protocol/parse-transition.ts';
import { wrapPrivateNotice } from '../../src/protocol/private-notice.ts';
import {
  buildReputationAssertion,
  reputationOf,
  taskOutcomeFromTransitions,
} from '../../src/protocol/reputation.ts';
import {
  act,
  EXAMPLE_KEYS,
  EXAMPLE_POLICY,
  type Example,
  HEIGHT,
  payoutInvoice,
  RELAY,
  SECRET,
  sign,
  T0,
} from './fixtures.ts';
import { TaskStory } from './task-story.ts';

export function buildExamples(): Example[] {
  const out: Example[] = [];
  const agentStory = (name: string, template: EventTemplate) =>
    out.push({
      file: `${String(out.length + 1).padStart(2, '0')}-${name}.json`,
      event: sign(template, SECRET.agent),
    });
  const metadata = {
    name: 'Escrow Agent (example)',
    about: 'Holds task payments in Lightning hold invoices.',
  };
  agentStory(
    'agent-profile',
    buildProfile({ ...metadata, website: 'https://escrow.example.com' }, T0 - 3_600),
  );
  agentStory(
    'agent-relay-list',
    buildRelayList(
      [
        { url: RELAY, read: true, write: true },
        { url: 'wss://archive.example.org', read: false, write: true },
      ],
      T0 - 3_600,
    ),
  );
  agentStory(
    'agent-announcement',
    buildAnnouncement(EXAMPLE_POLICY, { rulesVersion: RULEBOOK_VERSION, createdAt: T0 - 3_600, metadata }),
  );
  happyPath(out);
  refundPath(out);
  disputePath(out);
  expiredPath(out);
  cancelledPath(out);
  reputation(out);
  disputeNotice(out);
  return out;
}

/**
 * The private notice the arbitrator got when the poster opened the dispute (a NIP-17 gift wrap, kind 1059). A real
 * wrap is random (a one-time key, nonces, dates); this one fixes them so the file can be regenerated exactly.
 */
function disputeNotice(out: Example[]): void {
  const disputed = out.find((item) => item.file.endsWith('-dispute-disputed.json'))?.event;
  if (!disputed) throw new Error('the dispute example must come first');
  const taskId = disputed.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')![1]!;
  const seed = (label: string) =>
    Uint8Array.from(createHash('sha256').update(`nostr-escrow example notice: ${label}`).digest());
  const statement = 'Only two drivers were benchmarked, and WAL is missing.';
  const wrap = wrapPrivateNotice(
    SECRET.agent,
    EXAMPLE_KEYS.arbitrator,
    {
      topic: 'dispute_opened',
      taskId,
      taskTitle: 'Benchmark three SQLite drivers and write a report',
      text: `The poster opened a dispute on "Benchmark three SQLite drivers and write a report" (50000 sat). You are one of its 1 arbitrator(s); 1 agreeing verdict(s) decide. Publish a verdict label (outcome worker, poster or split with share_bps) on task ${taskId}.`,
      facts: {
        amount_msat: '50000000',
        fee_msat: '251000',
        poster: EXAMPLE_KEYS.poster,
        threshold: '1',
        opened_by: 'poster',
        worker: EXAMPLE_KEYS.worker,
        window_end: String(disputed.created_at + EXAMPLE_POLICY.windows.disputeSeconds),
        statement_poster: statement,
      },
    },
    undefined,
    {
      now: disputed.created_at,
      sealCreatedAt: disputed.created_at - 3_600,
      wrapCreatedAt: disputed.created_at - 7_200,
      wrapSecretKey: seed('wrap key'),
      sealNonce: seed('seal nonce'),
      wrapNonce: seed('wrap nonce'),
      sign,
    },
  );
  out.push({ file: `${String(out.length + 1).padStart(2, '0')}-dispute-notice.json`, event: wrap });
}

/** The worker's reputation after the example tasks (kind 30382), recomputed from the agent's transitions. */
function reputation(out: Example[]): void {
  const byTask = new Map<string, ParsedTransition[]>();
  for (const { event } of out) {
    if (event.pubkey !== EXAMPLE_KEYS.agent || event.kind !== 1985) continue;
    const parsed = parseTransition(event);
    if (!parsed.ok) continue;
    byTask.set(parsed.transition.taskId, [
      ...(byTask.get(parsed.transition.taskId) ?? []),
      parsed.transition,
    ]);
  }
  const outcomes = [...byTask.values()]
    .map((transitions) => taskOutcomeFromTransitions(transitions))
    .filter((outcome) => outcome !== null);
  const template = buildReputationAssertion({
    reputation: reputationOf(EXAMPLE_KEYS.worker, outcomes),
    rulesVersion: RULEBOOK_VERSION,
    createdAt: T0 + 50_000,
  });
  out.push({
    file: `${String(out.length + 1).padStart(2, '0')}-reputation.json`,
    event: sign(template, SECRET.agent),
  });
}

function happyPath(out: Example[]): void {
  const task = new TaskStory(out, '', 'happy', {
    d: 'readme-es',
    title: 'Translate the README into Spanish',
    summary: 'About 1,200 words of technical Markdown; keep the code blocks as they are.',
    sats: 21_000,
    windows: [['window', 'work', '28800']],
    at: T0,
  });
  const offered = task.offer(T0 + 5);
  task.add(
    'payment-prompt',
    sign(
      buildPaymentPrompt({
        taskId: task.taskId,
        poster: EXAMPLE_KEYS.poster,
        amountMsat: task.amountMsat,
        bolt11: offered.tags.find((tag) => tag[0] === 'bolt11')![1]!,
        expiresAt: T0 + 5 + EXAMPLE_POLICY.invoiceExpirySeconds,
        createdAt: T0 + 5,
        relayHint: RELAY,
      }),
      SECRET.agent,
    ),
  );
  task.fund(T0 + 120, HEIGHT);
  const claim = task.act(
    'claim',
    SECRET.worker,
    act({ action: 'claim', taskId: task.taskId, createdAt: T0 + 3_600, note: 'On it.' }),
  );
  task.worker = EXAMPLE_KEYS.worker;
  task.transition(T0 + 3_602, claim, { state: 'claimed', details: { windowEndsAt: T0 + 3_602 + 28_800 } });
  const payout = payoutInvoice('happy worker', 'worker', task.amountMsat - task.feeMsat, T0 + 30_000);
  const submit = task.act(
    'submit',
    SECRET.worker,
    act({
      action: 'submit',
      taskId: task.taskId,
      createdAt: T0 + 30_000,
      bolt11: payout.bolt11,
      delivery: 'https://example.com/readme-es.md',
    }),
  );
  task.transition(T0 + 30_002, submit, {
    state: 'submitted',
    details: { windowEndsAt: T0 + 30_002 + 21_600 },
  });
  // A refusal: the worker tries to approve their own work.
  const wrongApprove = task.act(
    'rejected-approve',
    SECRET.worker,
    act({ action: 'approve', taskId: task.taskId, createdAt: T0 + 31_000 }),
  );
  task.add(
    'rejected',
    sign(
      buildRejection({
        eventId: wrongApprove.id,
        author: EXAMPLE_KEYS.worker,
        taskId: task.taskId,
        code: 'NotYourTask',
        reason: 'blocked: only the poster can approve',
        createdAt: T0 + 31_001,
      }),
      SECRET.agent,
    ),
  );
  const approve = task.act(
    'approve',
    SECRET.poster,
    act({ action: 'approve', taskId: task.taskId, createdAt: T0 + 32_000, note: 'Thanks!' }),
  );
  task.transition(T0 + 32_001, approve, {
    state: 'settling',
    details: { reason: 'approved', resolution: { kind: 'worker' }, verdicts: [] },
  });
  task.transition(T0 + 32_004, null, {
    state: 'settled',
    details: { settlement: task.settlement(HEIGHT + 56), verdicts: [] },
  });
  task.transition(T0 + 32_009, null, {
    state: 'paid',
    details: {
      payouts: [
        {
          recipient: 'worker',
          amountMsat: task.amountMsat - task.feeMsat,
          paymentHash: payout.paymentHash,
          preimage: payout.proof,
        },
      ],
      routingFeeMsat: 2_000n,
    },
  });
}

function refundPath(out: Example[]): void {
  const task = new TaskStory(out, 'refund-', 'refund', {
    d: 'logo-svg',
    title: 'Redraw our logo as a clean SVG',
    summary: 'The PNG is attached; we need a single-path SVG under 4 KB.',
    sats: 15_000,
    at: T0 + 1_000,
  });
  task.offer(T0 + 1_004);
  task.fund(T0 + 1_300, HEIGHT + 2);
  const cancel = task.act(
    'cancel',
    SECRET.poster,
    act({
      action: 'cancel',
      taskId: task.taskId,
      createdAt: T0 + 5_000,
      note: 'Not needed any more, sorry.',
    }),
  );
  task.transition(T0 + 5_001, cancel, {
    state: 'refunding',
    details: { reason: 'poster_cancelled', verdicts: [] },
  });
  task.transition(T0 + 5_003, null, {
    state: 'refunded',
    details: {
      paymentHash: task.paymentHash,
      amountMsat: task.amountMsat,
      reason: 'poster_cancelled',
      height: HEIGHT + 27,
    },
  });
}

function disputePath(out: Example[]): void {
  const task = new TaskStory(out, 'dispute-', 'dispute', {
    d: 'bench-report',
    title: 'Benchmark three SQLite drivers and write a report',
    summary: 'Reads, writes and WAL checkpoints on Node 20; include the scripts.',
    sats: 50_000,
    at: T0 + 2_000,
  });
  task.offer(T0 + 2_003);
  task.fund(T0 + 2_400, HEIGHT + 3);
  const claim = task.act(
    'claim',
    SECRET.worker,
    act({ action: 'claim', taskId: task.taskId, createdAt: T0 + 4_000 }),
  );
  task.worker = EXAMPLE_KEYS.worker;
  task.transition(T0 + 4_001, claim, { state: 'claimed', details: { windowEndsAt: T0 + 4_001 + 43_200 } });
  const net = task.amountMsat - task.feeMsat;
  const shares = splitShares(net, 6_000);
  // At submission the worker's invoice is for amount - fee: all of it, as if the poster approved.
  const submitted = payoutInvoice('dispute worker submit', 'worker', net, T0 + 30_000);
  const submit = task.act(
    'submit',
    SECRET.worker,
    act({
      action: 'submit',
      taskId: task.taskId,
      createdAt: T0 + 30_000,
      bolt11: submitted.bolt11,
      delivery: 'https://example.com/sqlite-bench/report.md',
    }),
  );
  task.transition(T0 + 30_001, submit, {
    state: 'submitted',
    details: { windowEndsAt: T0 + 30_001 + 21_600 },
  });
  const dispute = task.act(
    'dispute',
    SECRET.poster,
    act({
      action: 'dispute',
      taskId: task.taskId,
      createdAt: T0 + 35_000,
      reason: 'Only two drivers were benchmarked, and WAL is missing.',
    }),
  );
  task.transition(T0 + 35_001, dispute, {
    state: 'disputed',
    details: {
      windowEndsAt: T0 + 35_001 + 14_400,
      arbitrators: [EXAMPLE_KEYS.arbitrator],
      openedBy: 'poster',
    },
  });
  const verdict = task.act(
    'verdict',
    SECRET.arbitrator,
    act({
      action: 'verdict',
      taskId: task.taskId,
      createdAt: T0 + 40_000,
      outcome: 'split',
      workerShareBps: 6_000,
      note: 'Two of three drivers done well; WAL part missing. 60% to the worker.',
    }),
  );
  task.transition(T0 + 40_001, verdict, {
    state: 'settling',
    details: {
      reason: 'verdict',
      resolution: { kind: 'split', workerShareBps: 6_000 },
      verdicts: [{ eventId: verdict.id, by: EXAMPLE_KEYS.arbitrator, agrees: true }],
    },
  });
  // Settled into custody: each side is asked for an invoice for exactly its share (the worker's invoice from
  // submit is for amount - fee, so it cannot pay a share).
  task.transition(T0 + 40_004, null, {
    state: 'payout_pending',
    details: {
      recipient: 'worker',
      recipients: ['worker', 'poster'],
      reason: 'no payout invoice from the worker and the poster yet',
      attempts: 0,
      settlement: task.settlement(HEIGHT + 68),
      verdicts: [],
    },
  });
  // The worker gives an invoice for its share: still payout_pending (the poster's share waits), no transition;
  // the worker's share is paid at once.
  const workerPayout = payoutInvoice('dispute worker', 'worker', shares.worker, T0 + 42_000);
  task.act(
    'worker-payout-invoice',
    SECRET.worker,
    act({
      action: 'payout_invoice',
      taskId: task.taskId,
      createdAt: T0 + 42_000,
      bolt11: workerPayout.bolt11,
      recipient: 'worker',
    }),
  );
  const posterPayout = payoutInvoice('dispute poster', 'poster', shares.poster, T0 + 45_000);
  const given = task.act(
    'payout-invoice',
    SECRET.poster,
    act({
      action: 'payout_invoice',
      taskId: task.taskId,
      createdAt: T0 + 45_000,
      bolt11: posterPayout.bolt11,
      recipient: 'poster',
    }),
  );
  task.transition(T0 + 45_001, given, {
    state: 'custody',
    details: {
      heldMsat: shares.poster,
      resolution: { kind: 'split', workerShareBps: 6_000 },
      settlement: null,
      verdicts: [],
    },
  });
  task.transition(T0 + 45_006, null, {
    state: 'paid',
    details: {
      payouts: [
        {
          recipient: 'worker',
          amountMsat: shares.worker,
          paymentHash: workerPayout.paymentHash,
          preimage: workerPayout.proof,
        },
        {
          recipient: 'poster',
          amountMsat: shares.poster,
          paymentHash: posterPayout.paymentHash,
          preimage: posterPayout.proof,
        },
      ],
      routingFeeMsat: 3_000n,
    },
  });
}

function expiredPath(out: Example[]): void {
  const task = new TaskStory(out, 'expire-', 'expire', {
    d: 'typo-fix',
    title: 'Fix the typos on the pricing page',
    summary: 'Five known typos; there may be more.',
    sats: 2_000,
    at: T0 + 3_000,
  });
  task.offer(T0 + 3_002);
  task.transition(T0 + 3_002 + EXAMPLE_POLICY.invoiceExpirySeconds + 30, null, {
    state: 'refunding',
    details: { reason: 'invoice_expired', verdicts: [] },
  });
  task.transition(T0 + 3_002 + EXAMPLE_POLICY.invoiceExpirySeconds + 32, null, {
    state: 'expired',
    details: { paymentHash: task.paymentHash },
  });
}

function cancelledPath(out: Example[]): void {
  const task = new TaskStory(out, 'cancel-', 'cancel', {
    d: 'podcast-notes',
    title: 'Write show notes for episode 12',
    summary: 'Timestamps, links, a 100-word summary.',
    sats: 5_000,
    at: T0 + 3_500,
  });
  task.offer(T0 + 3_501);
  const cancel = task.act(
    'cancel',
    SECRET.poster,
    act({ action: 'cancel', taskId: task.taskId, createdAt: T0 + 3_900 }),
  );
  task.transition(T0 + 3_901, cancel, {
    state: 'refunding',
    details: { reason: 'poster_cancelled', verdicts: [] },
  });
  task.transition(T0 + 3_903, null, { state: 'cancelled', details: { paymentHash: task.paymentHash } });
}

// ------------------------------------------------------------------------------------- the files
