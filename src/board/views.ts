// Draws the board's parts: relays, the agent's policy, task lists, a task's facts and what happens next, its
// refusals. Every text that came from a relay (titles, descriptions, reasons, relay notices) reaches the page
// through textContent only (src/web/render.ts's element()): nothing here parses HTML.
import { npubEncode } from 'nostr-tools/nip19';
import { feeFor } from '../domain/money.ts';
import type { Announcement } from '../protocol/build-announcement.ts';
import type { PageElement } from '../web/browser.ts';
import { formatMsat, formatTime } from '../web/format.ts';
import { element } from '../web/render.ts';
import type { BoardDocument } from './browser.ts';
import type { LinkStatus } from './relay-link.ts';
import type { Refusal, TaskView } from './task-book.ts';

export type Role = 'poster' | 'worker' | 'arbitrator' | null;

/** Rows a task list shows (newest activity first). */
const MAX_ROWS = 50;

export function roleOf(view: TaskView, me: string | null): Role {
  if (me === null) return null;
  if (view.poster === me) return 'poster';
  if (view.worker === me) return 'worker';
  if (view.arbitrators.includes(me)) return 'arbitrator';
  return null;
}

export function shortNpub(pubkey: string): string {
  const npub = npubEncode(pubkey);
  return `${npub.slice(0, 12)}…${npub.slice(-6)}`;
}

export function renderRelayStatus(
  document: BoardDocument,
  list: PageElement,
  statuses: readonly LinkStatus[],
) {
  list.replaceChildren(
    ...statuses.map((status) => {
      const state =
        status.state === 'open' ? 'connected' : status.state === 'waiting' ? 'reconnecting…' : status.state;
      const facts = `${state}: ${status.events} events${status.reconnects > 0 ? `, reconnected ${status.reconnects}×` : ''}${
        status.dropped > 0 ? `, ${status.dropped} frames dropped` : ''
      }`;
      const item = element(
        document,
        'li',
        {
          className: `relay ${status.state === 'open' ? '' : 'down'}`,
          attributes: { 'data-state': status.state, 'data-reconnects': String(status.reconnects) },
        },
        element(document, 'span', { className: 'url', text: status.url }),
        element(document, 'span', { className: 'facts', text: facts }),
      );
      const last = status.notes.at(-1);
      if (last !== undefined && status.state !== 'open') {
        item.append(element(document, 'span', { className: 'note', text: last }));
      }
      return item;
    }),
  );
}

function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export function renderPolicy(document: BoardDocument, list: PageElement, announcement: Announcement): void {
  const { policy } = announcement;
  const arbitrators =
    policy.arbitrators.length === 0
      ? 'none: disputes are not offered (silence approves after the review window)'
      : policy.arbitrators
          .map((pubkey) => {
            const profile = policy.arbitratorProfiles?.find((one) => one.pubkey === pubkey);
            return profile ? `${profile.name} (${shortNpub(pubkey)})` : shortNpub(pubkey);
          })
          .join(', ');
  const facts: Array<[string, string]> = [
    ['Name', announcement.metadata.name ?? '(unnamed)'],
    ['Taking tasks', policy.acceptingTasks === false ? 'no: paused for maintenance' : 'yes'],
    ['Fee', `${formatMsat(policy.fee.baseMsat)} + ${policy.fee.ppm} ppm of the amount`],
    ['Amounts', `${formatMsat(policy.minAmountMsat)} to ${formatMsat(policy.maxAmountMsat)}`],
    [
      'Windows',
      `claim ${duration(policy.windows.claimSeconds)}, work ${duration(policy.windows.workSeconds)}, review ${duration(policy.windows.reviewSeconds)} (silence approves), dispute ${duration(policy.windows.disputeSeconds)}`,
    ],
    ['Longest hold', duration(policy.maxHoldSeconds)],
    ['Arbitrators', arbitrators],
    ['Rules', `version ${announcement.rulesVersion}, sha256 ${announcement.rulesSha256.slice(0, 16)}…`],
  ];
  list.replaceChildren(
    ...facts.flatMap(([name, value]) => [
      element(document, 'dt', { text: name }),
      element(document, 'dd', { text: value, attributes: { 'data-fact': name.toLowerCase() } }),
    ]),
  );
}

/** What the poster pays and the worker receives, for the post form. */
export function feeLine(amountMsat: bigint, announcement: Announcement | null): string {
  if (announcement === null)
    return "The agent's fee is taken out of the amount (its policy is not read yet).";
  const { policy } = announcement;
  if (amountMsat < policy.minAmountMsat || amountMsat > policy.maxAmountMsat) {
    return `The agent takes ${formatMsat(policy.minAmountMsat)} to ${formatMsat(policy.maxAmountMsat)}: it will refuse this amount.`;
  }
  const fee = feeFor(amountMsat, policy.fee);
  return `You pay ${formatMsat(amountMsat)}; the worker receives ${formatMsat(amountMsat - fee)}; the agent's fee is ${formatMsat(fee)}.`;
}

export function renderTaskList(
  document: BoardDocument,
  list: PageElement,
  tasks: readonly TaskView[],
  me: string | null,
  empty: string,
  open: (taskId: string) => void,
): void {
  if (tasks.length === 0) {
    list.replaceChildren(element(document, 'li', { className: 'empty', text: empty }));
    return;
  }
  const shown = tasks.slice(0, MAX_ROWS);
  const more =
    tasks.length > MAX_ROWS
      ? [element(document, 'li', { className: 'empty', text: `and ${tasks.length - MAX_ROWS} more, older` })]
      : [];
  list.replaceChildren(
    ...shown.map((view) => {
      const button = element(document, 'button', {
        className: 'secondary open-task',
        text: 'Open',
        attributes: { type: 'button', 'data-task-id': view.taskId },
      });
      button.addEventListener('click', () => open(view.taskId));
      const role = roleOf(view, me);
      return element(
        document,
        'li',
        { className: 'task-row', attributes: { 'data-task-id': view.taskId, 'data-state': view.state } },
        element(document, 'span', { className: 'title', text: view.title }),
        element(document, 'span', { text: view.amountMsat === null ? '' : formatMsat(view.amountMsat) }),
        element(document, 'span', {
          className: 'state',
          text: role ? `${view.state} · you: ${role}` : view.state,
          attributes: { 'data-state': view.state },
        }),
        button,
      );
    }),
    ...more,
  );
}

export function renderTaskFacts(document: BoardDocument, list: PageElement, view: TaskView): void {
  const facts: Array<[string, string]> = [['Task', view.taskId]];
  if (view.amountMsat !== null) facts.push(['Amount', formatMsat(view.amountMsat)]);
  if (view.amountMsat !== null && view.feeMsat !== null) {
    facts.push([
      'Worker receives',
      `${formatMsat(view.amountMsat - view.feeMsat)} (fee ${formatMsat(view.feeMsat)})`,
    ]);
  }
  if (view.poster) facts.push(['Poster', npubEncode(view.poster)]);
  if (view.worker) facts.push(['Worker', npubEncode(view.worker)]);
  if (view.arbitrators.length > 0) {
    facts.push([
      'Arbitrators',
      `${view.arbitrators.map(shortNpub).join(', ')} (${view.threshold} must agree)`,
    ]);
  }
  if (view.windowEndsAt !== null) facts.push(['Window ends', formatTime(view.windowEndsAt)]);
  list.replaceChildren(
    ...facts.flatMap(([name, value]) => [
      element(document, 'dt', { text: name }),
      element(document, 'dd', {
        className: name === 'Task' || name === 'Poster' || name === 'Worker' ? 'mono' : '',
        text: value,
      }),
    ]),
  );
}

/** What happens next on a task, for the one looking at it. */
export function nextStep(view: TaskView, role: Role, signedIn: boolean): string {
  const you = signedIn ? '' : ' Choose how to sign (section 2) to act on it.';
  switch (view.state) {
    case 'posted':
      return `Waiting for the agent's offer (its hold invoice).${you}`;
    case 'offered':
      return role === 'poster'
        ? 'Pay the hold invoice below: the agent then opens the task to workers.'
        : `Waiting for the poster to pay the hold invoice.${you}`;
    case 'funded':
      return role === 'poster'
        ? 'Funded: the money is held. Waiting for a worker to claim it (you may still cancel).'
        : `Funded and open: claim it to work on it.${you}`;
    case 'claimed':
      return role === 'worker'
        ? 'You claimed it: do the work, then submit it with a payout invoice for amount − fee.'
        : 'Claimed: waiting for the worker to submit.';
    case 'submitted':
      return role === 'poster'
        ? 'Submitted: review the delivery and approve (silence approves when the review window ends).'
        : 'Submitted: waiting for the poster to approve.';
    case 'disputed':
      return role === 'arbitrator'
        ? 'In dispute: give your verdict.'
        : "In dispute: waiting for the arbitrators' verdict.";
    case 'settling':
      return 'Settling: the agent is claiming the held payment.';
    case 'settled':
      return "Settled: the hold is claimed; the agent is paying the worker's invoice.";
    case 'custody':
      return 'The agent holds the money until it can pay each side.';
    case 'payout_pending':
      return role === 'worker' || role === 'poster'
        ? 'A payout waits for an invoice: give one below.'
        : 'A payout waits for an invoice from its recipient.';
    case 'paid':
      return 'Paid: the worker received amount − fee. The timeline below proves it.';
    case 'refunding':
      return 'Refunding: the agent is cancelling the hold, which returns the money to the poster.';
    case 'refunded':
      return 'Refunded: the hold was cancelled and the poster has the money back.';
    case 'cancelled':
      return 'Cancelled before it was paid: nothing moved.';
    case 'expired':
      return 'Expired: the invoice was never paid.';
    default:
      return '';
  }
}

export function renderRefusals(
  document: BoardDocument,
  list: PageElement,
  refusals: readonly Refusal[],
): void {
  if (refusals.length === 0) {
    list.replaceChildren(element(document, 'li', { className: 'empty', text: 'None.' }));
    return;
  }
  list.replaceChildren(
    ...refusals.map((refusal) =>
      element(
        document,
        'li',
        { className: 'refusal', attributes: { 'data-code': refusal.code, 'data-reply': refusal.replyTo } },
        element(document, 'span', { className: 'code', text: refusal.code }),
        element(document, 'span', { text: `: ${refusal.reason}` }),
        element(document, 'span', { className: 'hint', text: ` (${formatTime(refusal.createdAt)})` }),
      ),
    ),
  );
}
