// Runs the public verifier (src/protocol/verify-task.ts, as `escrow-agent verify` and the page do) on every task a
// harness agent handled, from the relay alone: each end-to-end suite that calls it proves that the histories the
// agent really produces verify (issue #12: "verify passes on every history the end-to-end tests produce").
import { TASK_STATES } from '../../src/domain/types.ts';
import { ANNOUNCEMENT_D } from '../../src/protocol/build-announcement.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import { verifyTask } from '../../src/protocol/verify-task.ts';
import { collect, type Harness } from './agent-harness.ts';

/** Each task's failing checks ("<task>: <check>: <detail>"); empty when every task of the harness verifies. */
export async function unverifiedTasks(harness: Harness): Promise<string[]> {
  const agent = harness.agentKey.pubkey;
  const tasks = await harness.store.read((reader) => reader.tasks.listByState(TASK_STATES));
  const announcements = await collect(harness.client, {
    kinds: [KINDS.handler],
    authors: [agent],
    '#d': [ANNOUNCEMENT_D],
  });
  const announcement = announcements.sort((a, b) => b.created_at - a.created_at)[0] ?? null;
  const failures: string[] = [];
  let verified = 0;
  for (const task of tasks) {
    // A task the agent never offered (refused, or cancelled before an offer) has no history to verify.
    if (task.funding === null) continue;
    verified++;
    const labels = await collect(harness.client, { kinds: [KINDS.label], '#e': [task.id] });
    const listing = await collect(harness.client, { ids: [task.id] });
    const named = new Set<string>();
    for (const event of labels) {
      if (event.pubkey !== agent) continue;
      for (const tag of event.tags) {
        if (tag[0] === 'e' && ['cause', 'verdict', 'dissent'].includes(tag[3] ?? '')) named.add(tag[1]!);
      }
    }
    const have = new Set([...labels, ...listing].map((event) => event.id));
    const missing = [...named].filter((id) => !have.has(id));
    const inputs: NostrEvent[] = missing.length > 0 ? await collect(harness.client, { ids: missing }) : [];
    const report = verifyTask({
      agentPubkey: agent,
      taskId: task.id,
      events: [...labels, ...listing, ...inputs],
      announcement,
    });
    for (const check of report.checks) {
      if (!check.ok) failures.push(`${task.id.slice(0, 12)} (${task.state}): ${check.name}: ${check.detail}`);
    }
  }
  if (verified === 0) failures.push('no task with an offer to verify: the suite ran none');
  return failures;
}
