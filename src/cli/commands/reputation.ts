// `escrow-agent reputation <npub|hex> [--json]`: one pubkey's reputation at this agent, read from the database and
// computed with the functions the running agent publishes it with (docs/protocol.md §11): the counters over the
// tasks it finished with money moved, and the transitions that finished them (the sources). It opens the data
// folder as verify-db does, under its lock: it is refused while the agent runs.
import { parseArgs } from 'node:util';
import { npubEncode } from 'nostr-tools/nip19';
import { pubkeyToHex } from '../../agent/config.ts';
import { RULEBOOK_VERSION } from '../../domain/rulebook.ts';
import { reputationFromStore, type StoredReputation } from '../../engine/reputation-publisher.ts';
import { CliError } from '../cli-error.ts';
import { withAgentStore } from '../data-folder.ts';
import type { AgentConfig, Output } from '../output.ts';

const USAGE = 'usage: escrow-agent reputation <npub or hex pubkey> [--json]';

export interface ReputationReport {
  pubkey: string;
  npub: string;
  rulesVersion: number;
  counters: StoredReputation['reputation']['counters'];
  /** How many tasks were counted, and the `paid` / `refunded` transitions that finished them, sorted. */
  sourcesTotal: number;
  sources: string[];
  /** The created_at of the assertion the agent publishes for these counters; null when nothing counts. */
  createdAt: number | null;
}

export function reputationReport(stored: StoredReputation): ReputationReport {
  const { reputation } = stored;
  return {
    pubkey: reputation.pubkey,
    npub: npubEncode(reputation.pubkey),
    rulesVersion: RULEBOOK_VERSION,
    counters: reputation.counters,
    sourcesTotal: reputation.sources.length,
    sources: reputation.sources,
    createdAt: stored.createdAt,
  };
}

/** The report as text lines, for a person. */
export function reputationText(report: ReputationReport): string[] {
  const c = report.counters;
  const out = [`reputation of ${report.npub}`, `  (${report.pubkey})`];
  if (report.sourcesTotal === 0) {
    out.push('no finished task counts for this pubkey at this agent (nothing paid, refunded or judged)');
    return out;
  }
  out.push(
    `counted over ${report.sourcesTotal} finished task(s), rules version ${report.rulesVersion}:`,
    `  as worker:     ${c.tasksPaidAsWorker} task(s) paid, earned ${c.earnedMsat} msat`,
    `  as poster:     ${c.tasksPaidAsPoster} task(s) that paid a worker, spent ${c.spentMsat} msat`,
    `                 ${c.tasksRefunded} task(s) that gave money back, refunded ${c.refundedMsat} msat`,
    `  disputes:      ${c.disputesOpened} opened, ${c.disputesWon} won, ${c.disputesLost} lost`,
    `  as arbitrator: ${c.verdictsGiven} task(s) with a verdict given`,
    `sources (the paid / refunded transitions that finished them): ${report.sourcesTotal}`,
    ...report.sources.map((id) => `  ${id}`),
  );
  return out;
}

/** The report as JSON: msat as decimal strings (past 2^53 a number would be rounded). */
export function reputationJson(report: ReputationReport): string {
  return JSON.stringify(report, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2);
}

export async function reputationCommand(
  config: AgentConfig,
  output: Output,
  args: string[],
): Promise<number> {
  let json = false;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    json = parsed.values.json === true;
    positionals = parsed.positionals;
  } catch (error) {
    throw new CliError(`reputation: ${(error as Error).message}\n${USAGE}`);
  }
  const [given, ...extra] = positionals;
  if (given === undefined) throw new CliError(`reputation: whose? give a pubkey\n${USAGE}`);
  if (extra.length > 0) throw new CliError(`reputation: one pubkey at a time\n${USAGE}`);
  const pubkey = pubkeyToHex(given.trim());
  if (pubkey === null) {
    throw new CliError(
      `reputation: "${given}" is not a pubkey: give an npub (npub1...) or 64 lowercase hex characters\n${USAGE}`,
    );
  }
  return withAgentStore(config, 'reputation', async (store) => {
    const stored = await store.read((reader) => reputationFromStore(reader, pubkey));
    const report = reputationReport(stored);
    if (json) output.out(reputationJson(report));
    else for (const line of reputationText(report)) output.out(line);
    return 0;
  });
}
