// The verification page (dist/verify.html, built by scripts/build-verify-page.mjs): anyone pastes a task, the
// agent's npub and relays, and the page fetches the agent's signed history of that task from those relays over
// WebSockets, straight from the reader's browser, and verifies it with the same src/protocol code the agent
// uses. It is one self-contained file that works opened from disk (file://): it loads nothing and talks to
// nothing but the relays the reader names (its Content-Security-Policy allows only ws:/wss: connections).
// The agent has no HTTP server yet; issue #13 adds one, which will serve this same file.
import { parseAnnouncement } from '../protocol/build-announcement.ts';
import type { NostrEvent } from '../protocol/schemas.ts';
import { verifyEvent } from '../protocol/verify-event.ts';
import { verifyTask } from '../protocol/verify-task.ts';
import { browser, type PageElement, type PageInput } from './browser.ts';
import { collectTask } from './collect.ts';
import { formatMsat } from './format.ts';
import { readPageInput } from './page-input.ts';
import { element, renderOutcome, renderRelays } from './render.ts';

function byId<T extends PageElement = PageElement>(id: string): T {
  const found = browser().document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

/** verify.html#task=…&agent=…&relays=wss://a,wss://b fills the form (it never starts a verification itself). */
function prefill(task: PageInput, agent: PageInput, relays: PageInput): void {
  const hash = browser().location.hash.replace(/^#/, '');
  if (hash === '') return;
  const params = new URLSearchParams(hash);
  task.value = params.get('task') ?? task.value;
  agent.value = params.get('agent') ?? agent.value;
  const relayList = params.get('relays');
  if (relayList !== null) relays.value = relayList.split(',').join('\n');
}

/** What the agent's announcement (kind 31990) says, if one was found: the policy the offers were made under. */
function announcementNote(announcement: NostrEvent | undefined, agentPubkey: string): string {
  if (announcement === undefined) {
    return "The agent's announcement (kind 31990) was not found on these relays; the task was checked without its policy.";
  }
  const verified = announcement.pubkey === agentPubkey ? verifyEvent(announcement) : { ok: false as const };
  const parsed = verified.ok ? parseAnnouncement(announcement) : null;
  if (!parsed?.ok)
    return "The agent's announcement found on these relays does not verify or parse; it was ignored.";
  const { policy, rulesVersion } = parsed.announcement;
  return `The agent's announced policy: fee ${formatMsat(policy.fee.baseMsat)} + ${policy.fee.ppm} ppm, rules version ${rulesVersion}, ${policy.arbitrators.length} arbitrator(s).`;
}

function start(): void {
  const { document } = browser();
  const form = byId('form');
  const task = byId<PageInput>('task');
  const agent = byId<PageInput>('agent');
  const relays = byId<PageInput>('relays');
  const button = byId<PageInput>('verify');
  const inputError = byId('input-error');
  const progress = byId('progress');
  const relayList = byId('relay-list');
  const result = byId('result');
  const parts = {
    verdict: byId('verdict'),
    checks: byId('checks'),
    timeline: byId('timeline'),
    ignored: byId('ignored'),
  };
  const ignoredSection = byId('ignored-section');
  prefill(task, agent, relays);

  let running = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (running) return;
    const input = readPageInput({ task: task.value, agent: agent.value, relays: relays.value });
    if (!input.ok) {
      inputError.textContent = `Check ${input.error}.`;
      inputError.hidden = false;
      return;
    }
    inputError.hidden = true;
    running = true;
    button.disabled = true;
    result.hidden = true;
    progress.hidden = false;
    const began = browser().performance.now();
    void collectTask({
      task: input.value.task,
      agentPubkey: input.value.agentPubkey,
      relays: input.value.relays,
      openSocket: (url) => new (browser().WebSocket)(url),
      onProgress: (statuses) => renderRelays(document, relayList, statuses),
    })
      .then((collected) => {
        renderRelays(document, relayList, collected.relays);
        const notes: string[] = [];
        if (collected.otherTaskIds.length > 0) {
          notes.push(
            `This listing address was offered ${collected.otherTaskIds.length + 1} times; this is the newest task. The others: ${collected.otherTaskIds.join(', ')}.`,
          );
        }
        if (collected.relays.every((relay) => relay.state === 'failed')) {
          notes.push('No relay could be read: check the URLs and your connection.');
        }
        if (collected.taskId === null) {
          parts.verdict.className = 'verdict fail';
          parts.verdict.setAttribute('data-verdict', 'failed');
          parts.verdict.replaceChildren(
            element(document, 'p', {
              className: 'headline',
              text: '✗ Not found: no offer of this listing by this agent on these relays',
            }),
            ...notes.map((note) => element(document, 'p', { className: 'note', text: note })),
          );
          parts.checks.replaceChildren();
          parts.timeline.replaceChildren();
          parts.ignored.replaceChildren();
          ignoredSection.hidden = true;
          result.hidden = false;
          return;
        }
        const evidence = {
          agentPubkey: input.value.agentPubkey,
          taskId: collected.taskId,
          events: collected.events,
          ...(collected.announcement ? { announcement: collected.announcement } : {}),
        };
        const verification = verifyTask(evidence);
        notes.push(announcementNote(collected.announcement, input.value.agentPubkey));
        const events = new Map<string, NostrEvent>(collected.events.map((event) => [event.id, event]));
        if (collected.announcement) events.set(collected.announcement.id, collected.announcement);
        renderOutcome(document, parts, {
          verification,
          events,
          relays: collected.relays,
          elapsedMs: browser().performance.now() - began,
          notes,
        });
        ignoredSection.hidden = verification.ignored.length === 0;
        result.hidden = false;
      })
      .catch((error: unknown) => {
        inputError.textContent = `The verification stopped: ${String(error)}`;
        inputError.hidden = false;
      })
      .finally(() => {
        running = false;
        button.disabled = false;
      });
  });
}

start();
