// Draws the verification page's answer. Every text that came from a relay (event content, tags, labels,
// summaries built from them, relay NOTICE and CLOSED messages) reaches the page through textContent only:
// nothing here parses HTML, so a hostile relay can show text but never run code or add elements.
import type { NostrEvent } from '../protocol/schemas.ts';
import type { TaskVerification } from '../protocol/verify-task.ts';
import type { PageDocument, PageElement } from './browser.ts';
import { formatTime } from './format.ts';
import type { RelayStatus } from './relay-fetch.ts';

/** An element with its text set (never HTML) and optional class and attributes. */
export function element(
  document: PageDocument,
  tag: string,
  options: { className?: string; text?: string; attributes?: Record<string, string> } = {},
  ...children: PageElement[]
): PageElement {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attributes ?? {})) node.setAttribute(name, value);
  if (children.length > 0) node.append(...children);
  return node;
}

export function renderRelays(
  document: PageDocument,
  list: PageElement,
  relays: readonly RelayStatus[],
): void {
  list.replaceChildren(
    ...relays.map((relay) => {
      const facts = `${relay.state}: ${relay.events} events, ${formatBytes(relay.bytes)}${
        relay.dropped > 0 ? `, ${relay.dropped} frames dropped` : ''
      }`;
      const item = element(
        document,
        'li',
        { className: `relay ${relay.state === 'failed' || relay.state === 'over budget' ? 'warn' : ''}` },
        element(document, 'span', { className: 'url', text: relay.url }),
        element(document, 'span', { className: 'facts', text: facts }),
      );
      for (const note of relay.notes)
        item.append(element(document, 'span', { className: 'note', text: note }));
      return item;
    }),
  );
}

/** How the page names each check of the verifier (its machine names are docs/protocol.md §10's steps). */
const CHECK_TITLES: Record<string, string> = {
  signatures: 'Signatures',
  well_formed: 'Well-formed',
  chain: 'Chain',
  states: 'State machine',
  rules: 'Rulebook',
  listing: 'Listing',
  inputs: 'Actions',
  parties: 'Parties',
  offer_invoice: 'Hold invoice',
  settlement: 'Settlement proof',
  payouts: 'Payouts',
  fee: 'Fee',
  conservation: 'Money adds up',
};

export function checkTitle(name: string): string {
  const known = CHECK_TITLES[name];
  if (known !== undefined) return known;
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export interface Outcome {
  verification: TaskVerification;
  events: ReadonlyMap<string, NostrEvent>;
  relays: readonly RelayStatus[];
  elapsedMs: number;
  notes: readonly string[];
}

export function renderOutcome(
  document: PageDocument,
  parts: { verdict: PageElement; checks: PageElement; timeline: PageElement; ignored: PageElement },
  outcome: Outcome,
): void {
  const { verification } = outcome;
  const failed = verification.checks.filter((check) => !check.ok);
  const events = outcome.events.size;
  const relaysRead = outcome.relays.filter((relay) => relay.state !== 'failed').length;
  const timing = `Verdict in ${Math.round(outcome.elapsedMs)} ms, from ${events} events on ${relaysRead} of ${outcome.relays.length} relays.`;
  const headline = verification.ok
    ? `✓ Verified: the task is ${verification.state ?? 'unknown'}`
    : `✗ Not verified: ${failed.length} of ${verification.checks.length} checks failed`;
  const explanation = verification.ok
    ? "Every check passed: the agent's signed history of this task is whole, and its money adds up."
    : `First failure: ${failed[0] ? checkTitle(failed[0].name) : 'verification'}: ${failed[0]?.detail ?? verification.problems[0] ?? ''}`;
  parts.verdict.className = `verdict ${verification.ok ? 'pass' : 'fail'}`;
  parts.verdict.setAttribute('data-verdict', verification.ok ? 'verified' : 'failed');
  parts.verdict.setAttribute('data-elapsed-ms', String(Math.round(outcome.elapsedMs)));
  parts.verdict.replaceChildren(
    element(document, 'p', { className: 'headline', text: headline }),
    element(document, 'p', { className: 'explanation', text: explanation }),
    element(document, 'p', { className: 'task', text: `Task ${verification.taskId}` }),
    ...outcome.notes.map((note) => element(document, 'p', { className: 'note', text: note })),
    element(document, 'p', { className: 'timing', text: timing }),
  );

  parts.checks.replaceChildren(
    ...verification.checks.map((check) =>
      element(
        document,
        'li',
        { className: `check ${check.ok ? 'pass' : 'fail'}`, attributes: { 'data-check': check.name } },
        element(document, 'span', {
          className: 'mark',
          text: check.ok ? '✓' : '✗',
          attributes: { 'aria-label': check.ok ? 'passed' : 'failed' },
        }),
        element(document, 'span', { className: 'name', text: checkTitle(check.name) }),
        element(document, 'span', { className: 'detail', text: check.detail }),
      ),
    ),
  );

  parts.timeline.replaceChildren(
    ...verification.timeline.map((entry) => {
      const raw = outcome.events.get(entry.eventId);
      return element(
        document,
        'details',
        { className: 'event', attributes: { 'data-event-id': entry.eventId } },
        element(
          document,
          'summary',
          {},
          element(document, 'time', { text: formatTime(entry.createdAt) }),
          element(document, 'span', { className: 'role', text: entry.author }),
          element(document, 'span', { className: 'label', text: entry.label }),
          element(document, 'span', { className: 'summary', text: entry.summary }),
        ),
        element(document, 'pre', {
          className: 'raw',
          text: raw ? JSON.stringify(raw, null, 2) : `event ${entry.eventId} (raw JSON not kept)`,
        }),
      );
    }),
  );
  if (verification.timeline.length === 0) {
    parts.timeline.replaceChildren(
      element(document, 'p', { className: 'empty', text: 'No event of this task was found.' }),
    );
  }

  parts.ignored.replaceChildren(...verification.ignored.map((text) => element(document, 'li', { text })));
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
