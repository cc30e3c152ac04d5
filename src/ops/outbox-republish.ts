// `outbox republish [--relay URL] [--since 1h] [--execute]`: the agent's events a write relay said OK to and no
// longer returns, queued for delivery to it again. Each relay (or the one named) is read and compared with the outbox
// (src/ops/relay-events.ts, as verify-events does); a dry run counts what each lacks, --execute makes those
// deliveries pending again in the outbox. A running agent's publisher sends them at once (this waits for its
// round and says how many the relay took); on a stopped agent's folder they wait for its next start.
// Only what a relay lacks is queued again (never what it holds), so a second --execute changes nothing: the relay
// has them now, or they are still pending. A relay that cannot be read is left alone: nothing is known of it.
import { formatEventLine } from './event-line.ts';
import { flagArg, isoTime, onlyArgs, sinceArg, stringArg } from './format.ts';
import type { OpsDeps, OpsReport } from './ops-deps.ts';
import { agentPubkey, compareRelay, pendingAt, relaysToCheck } from './relay-events.ts';

const COMMAND = 'outbox republish';
const REASON = 'missing at the relay (outbox republish)';
const NAMED = 10;
/** How long --execute waits for a running agent's publisher to deliver what it queued. */
const DELIVERY_WAIT_MS = 10_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The arguments, checked (OpsInputError says what to change); no --since: every event the outbox holds. */
export function outboxRepublishArgs(
  args: Record<string, unknown>,
  now: number,
): { execute: boolean; since: number | null; relay: string | null } {
  onlyArgs(COMMAND, args, ['execute', 'relay', 'since']);
  return {
    execute: flagArg(COMMAND, args, 'execute'),
    since: sinceArg(COMMAND, args, now, null),
    relay: stringArg(COMMAND, args, 'relay'),
  };
}

export async function outboxRepublish(deps: OpsDeps, args: Record<string, unknown>): Promise<OpsReport> {
  const { execute, since, relay } = outboxRepublishArgs(args, deps.now());
  const relays = relaysToCheck(COMMAND, deps, relay);
  const pubkey = agentPubkey(deps);
  const lines = [
    `outbox republish: the agent's events ${since === null ? 'of all time' : `since ${isoTime(since)}`} on ${relays.length} write relay(s)${execute ? '' : ' (dry run: nothing changed; --execute queues them again)'}`,
  ];
  const json: Array<Record<string, unknown>> = [];
  let unread = 0;
  let lacking = 0;
  let changed = 0;
  const queued = new Map<string, string[]>();
  const pendingBefore = await pendingAt(deps, relays);
  for (const relay of relays) {
    const found = await compareRelay(deps, relay, pubkey, since);
    if (found.failed) {
      unread += 1;
      lines.push(
        `  ${relay}: could not be read (${found.failed}): nothing queued for it; run again when it answers`,
      );
      json.push({ relay, failed: found.failed });
      continue;
    }
    const ids = found.missing.map((entry) => entry.eventId);
    lacking += ids.length;
    const waiting = pendingBefore.get(relay) ?? 0;
    const pendingNote =
      waiting === 0
        ? ''
        : ` (${waiting} delivery(ies) to it are pending in the outbox: ${deps.running ? 'the publisher sends them' : 'sent when the agent starts'})`;
    if (ids.length === 0) {
      lines.push(
        `  ${relay}: none of the events it took is missing (${found.present} present); nothing to queue${pendingNote}`,
      );
      json.push({ relay, present: found.present, missing: 0, queued: 0, pending: waiting });
      continue;
    }
    let requeued = 0;
    if (execute) {
      requeued = await deps.store.transaction((tx) => tx.outbox.resend(relay, ids, REASON));
      changed += requeued;
      queued.set(relay, ids);
    }
    lines.push(
      `  ${relay}: lacks ${ids.length} of the ${found.expected} event(s) it took${execute ? `: ${requeued} queued again` : ': would queue them again'}${pendingNote}`,
    );
    for (const entry of found.missing.slice(0, NAMED)) {
      lines.push(`    ${formatEventLine(entry.event, entry.taskId)}`);
    }
    if (ids.length > NAMED) lines.push(`    … and ${ids.length - NAMED} more`);
    json.push({
      relay,
      present: found.present,
      missing: ids.length,
      queued: requeued,
      pending: waiting,
      ids,
    });
  }

  if (execute && changed > 0) {
    if (deps.running) {
      // The running agent's publisher sends them now: its rounds are waited for, up to DELIVERY_WAIT_MS (a relay
      // that refuses or is not connected keeps them pending, retried with the publisher's backoff).
      const started = Date.now();
      let pending = await pendingAt(deps, [...queued.keys()]);
      while ([...pending.values()].some((count) => count > 0) && Date.now() - started < DELIVERY_WAIT_MS) {
        await deps.running.outbox.flush();
        pending = await pendingAt(deps, [...queued.keys()]);
        if ([...pending.values()].some((count) => count > 0)) await sleep(250);
      }
      for (const [relay, ids] of queued) {
        const left = pending.get(relay) ?? 0;
        lines.push(
          `  ${relay}: the running agent sent them: ${left === 0 ? `all ${ids.length} delivered` : `${left} delivery(ies) still pending there after ${DELIVERY_WAIT_MS / 1000} s (the publisher retries with backoff; verify-events shows when they arrive)`}`,
        );
      }
    } else {
      lines.push(
        `  queued in the outbox of the stopped agent: they are sent when it starts (\`escrow-agent start\`)`,
      );
    }
  }
  if (lacking === 0 && unread === 0) lines.push('nothing to republish');
  return {
    command: COMMAND,
    executed: execute,
    lines,
    json: { executed: execute, since, relays: json },
    changed,
    exitCode: unread > 0 || (!execute && lacking > 0) ? 1 : 0,
  };
}
