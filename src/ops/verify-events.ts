// `verify-events [--since 1h] [--relay URL]`: read-only. For each write relay (or the one named), the agent's events
// there since then against the outbox (src/ops/relay-events.ts): present, missing (the relay said OK and lost it:
// `outbox republish` sends it again), and unknown (signed with the agent's key, never written by this agent: the
// key is in other hands, see docs/runbooks.md, Key compromise), counted per relay. Exit 1 when an event is missing
// or unknown, or a relay could not be read.
import { formatEventLine } from './event-line.ts';
import { isoTime, onlyArgs, sinceArg, stringArg } from './format.ts';
import type { OpsDeps, OpsReport } from './ops-deps.ts';
import { agentPubkey, compareRelay, relaysToCheck } from './relay-events.ts';

const COMMAND = 'verify-events';
/** How many missing or unknown events each relay's report names (the counts cover them all). */
const NAMED = 10;

/** The arguments, checked (OpsInputError says what to change); --since defaults to an hour ago. */
export function verifyEventsArgs(
  args: Record<string, unknown>,
  now: number,
): { since: number; relay: string | null } {
  onlyArgs(COMMAND, args, ['since', 'relay']);
  return {
    since: sinceArg(COMMAND, args, now, now - 3600) as number,
    relay: stringArg(COMMAND, args, 'relay'),
  };
}

export async function verifyEvents(deps: OpsDeps, args: Record<string, unknown>): Promise<OpsReport> {
  const { since, relay } = verifyEventsArgs(args, deps.now());
  const relays = relaysToCheck(COMMAND, deps, relay);
  const pubkey = agentPubkey(deps);
  const lines = [
    `verify-events: the agent's events since ${isoTime(since)} on ${relays.length} write relay(s)`,
  ];
  const json: unknown[] = [];
  let trouble = 0;
  for (const relay of relays) {
    const found = await compareRelay(deps, relay, pubkey, since);
    if (found.failed) {
      trouble += 1;
      lines.push(`  ${relay}: could not be read (${found.failed}): run again when it answers`);
      json.push({ relay, failed: found.failed });
      continue;
    }
    if (found.missing.length > 0 || found.unknown.length > 0) trouble += 1;
    const extra = [
      found.replaced > 0 ? `${found.replaced} replaced by a newer version (not expected)` : '',
      found.elsewhere > 0 ? `${found.elsewhere} of the agent's held there, not recorded as sent there` : '',
    ].filter(Boolean);
    lines.push(
      `  ${relay}: ${found.expected} expected, ${found.present} present, ${found.missing.length} missing, ${found.unknown.length} unknown${extra.length > 0 ? ` (${extra.join('; ')})` : ''}`,
    );
    for (const entry of found.missing.slice(0, NAMED)) {
      lines.push(`    missing: ${formatEventLine(entry.event, entry.taskId)}`);
    }
    if (found.missing.length > NAMED) lines.push(`    … and ${found.missing.length - NAMED} more missing`);
    if (found.missing.length > 0) {
      lines.push(
        `    the relay lost them: \`escrow-agent outbox republish --relay ${relay}\` sends them again`,
      );
    }
    for (const event of found.unknown.slice(0, NAMED)) {
      lines.push(`    UNKNOWN: ${formatEventLine(event, null)}`);
    }
    if (found.unknown.length > NAMED) lines.push(`    … and ${found.unknown.length - NAMED} more unknown`);
    if (found.unknown.length > 0) {
      lines.push(
        "    signed with the agent's key, never written by this agent: treat the key as compromised (docs/runbooks.md, Key compromise)",
      );
    }
    json.push({
      relay,
      expected: found.expected,
      present: found.present,
      missing: found.missing.map((entry) => ({
        id: entry.eventId,
        kind: entry.event.kind,
        createdAt: entry.event.created_at,
        taskId: entry.taskId,
      })),
      unknown: found.unknown.map((event) => ({
        id: event.id,
        kind: event.kind,
        createdAt: event.created_at,
      })),
      replaced: found.replaced,
      elsewhere: found.elsewhere,
    });
  }
  lines.push(
    trouble === 0
      ? 'every relay holds every event the agent sent it, and no other event signed with its key'
      : `${trouble} relay(s) need attention`,
  );
  return {
    command: COMMAND,
    executed: false,
    lines,
    json: { since, relays: json },
    changed: 0,
    exitCode: trouble > 0 ? 1 : 0,
  };
}
