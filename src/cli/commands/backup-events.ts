// `escrow-agent backup-events --out FILE [--since UNIX] [--relay URL ...] [--agent NPUB]`: a copy of the agent's
// public record, from its relays alone: every event the agent signed (all kinds) and every input it referenced (the
// listings, by task id; the actions its transitions name as `cause`; the verdicts they cite, agreeing or dissenting),
// each verified (id and signature) and written once, as JSON lines sorted by created_at then id. The file is written
// beside FILE and renamed over it, so a backup is never half written. With --since only events dated from then are
// read, and the new ones are appended to FILE (ids already in it are not written twice): an incremental backup.
//
// Relays: --relay (repeatable), else every relay of the configuration as `start` reads it. The agent: --agent, else
// this configuration's agent key. It reads relays only (fetchAll): it takes no data-folder lock, opens no database,
// and may run while the agent runs. Per relay it reports how many of the events it held, the bad copies it served
// (skipped, never written) and what it lacked that another relay had.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { npubEncode } from 'nostr-tools/nip19';
import { pubkeyToHex } from '../../agent/config.ts';
import { readIdentity } from '../../agent/identity.ts';
import { loadRelayList } from '../../agent/relay-list.ts';
import { isHex32 } from '../../domain/hex.ts';
import { normalizeRelayUrl } from '../../nostr/relay-url.ts';
import { KINDS } from '../../protocol/constants.ts';
import { type NostrEvent, parseEventJson } from '../../protocol/schemas.ts';
import { CliError } from '../cli-error.ts';
import type { AgentConfig, Output } from '../output.ts';
import { type FetchAllOptions, type FetchAllResult, fetchAll, type RelayFetchState } from '../relay-fetch.ts';

export const BACKUP_USAGE =
  'usage: escrow-agent backup-events --out FILE [--since UNIX] [--relay URL ...] [--agent NPUB]';

/** Bounds of the relay reads (tests shorten the timeout). */
export type BackupLimits = Required<FetchAllOptions>;

export const DEFAULT_BACKUP_LIMITS: BackupLimits = {
  pageSize: 500,
  // Held in memory until written: use --since for a larger history.
  maxEvents: 200_000,
  timeoutMs: 10_000,
};

/** The `e` markers whose events are inputs the agent referenced (the task's listing, causes, verdicts). */
const INPUT_MARKERS = new Set(['task', 'cause', 'verdict', 'dissent']);
/** Ids per `ids` filter (relays commonly cap a filter's size). */
const IDS_PER_FILTER = 100;
/** Ids listed one by one in the text report, per list. */
const LISTED = 20;

export interface BackupReport {
  file: string;
  agent: { pubkey: string; npub: string };
  since: number | null;
  /** Events in the file now, and how many this run wrote. */
  total: number;
  written: number;
  relays: Array<{ url: string } & RelayFetchState>;
  /** Events some relay that answered did not have: id -> those relays. */
  missingOn: Map<string, string[]>;
  /** Inputs the agent referenced that no relay returned (a listing its poster deleted, ...). */
  inputsNotFound: string[];
}

export async function backupEventsCommand(
  config: AgentConfig,
  output: Output,
  args: string[],
): Promise<number> {
  return runBackupEvents(config, output, args, DEFAULT_BACKUP_LIMITS);
}

export async function runBackupEvents(
  config: AgentConfig,
  output: Output,
  args: string[],
  limits: BackupLimits,
): Promise<number> {
  const options = parseOptions(args);
  const agent = resolveAgent(config, options.agent);
  const relays = options.relays.length > 0 ? options.relays : configuredRelays(config);
  const existing = options.since === null ? new Set<string>() : await idsIn(options.out);

  // 1. Everything the agent signed (from --since on), and the payout invoices people gave it: a split's first
  // invoice changes no state, so no transition names it, yet the paid transition pays it.
  const since = options.since === null ? {} : { since: options.since };
  const own = await fetchAll(
    relays,
    [
      { authors: [agent.pubkey], ...since },
      { kinds: [KINDS.label], '#p': [agent.pubkey], '#l': ['payout_invoice'], ...since },
    ],
    limits,
  );
  if ([...own.perRelay.values()].every((state) => state.failed !== undefined)) {
    throw new CliError(
      `backup-events: no relay answered: ${[...own.perRelay].map(([url, state]) => `${url} (${state.failed})`).join(', ')}; nothing was written`,
    );
  }
  // 2. The inputs its labels name, whenever they were published.
  const fetched = new Set(own.events.map((event) => event.id));
  const inputIds = [...referencedInputs(own.events, agent.pubkey)].filter(
    (id) => !fetched.has(id) && !existing.has(id),
  );
  const inputs =
    inputIds.length > 0
      ? await fetchAll(
          relays,
          chunk(inputIds, IDS_PER_FILTER).map((ids) => ({ ids })),
          limits,
        )
      : null;

  const events = [...own.events, ...(inputs?.events ?? [])]
    .filter((event) => !existing.has(event.id))
    .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  await writeAtomically(options.out, options.since === null ? null : options.out, events);

  const found = new Set(inputs?.events.map((event) => event.id));
  const report: BackupReport = {
    file: options.out,
    agent,
    since: options.since,
    total: existing.size + events.length,
    written: events.length,
    relays: relays.map((url) => ({ url, ...merged(url, own, inputs) })),
    missingOn: new Map([...own.missingOn, ...(inputs?.missingOn ?? [])]),
    inputsNotFound: inputIds.filter((id) => !found.has(id)).sort(),
  };
  for (const line of backupText(report)) output.out(line);
  return report.relays.some((relay) => relay.failed !== undefined) ? 1 : 0;
}

/** The report as text lines, for a person. */
export function backupText(report: BackupReport): string[] {
  const out = [
    `backup of ${report.agent.npub}${report.since === null ? '' : ` since ${report.since}`}: ${report.written} event(s) written to ${report.file} (${report.total} in it)`,
    'relays:',
  ];
  for (const relay of report.relays) {
    const bad = relay.rejected > 0 ? `, ${relay.rejected} bad copies skipped` : '';
    out.push(
      `  ${relay.url}: held ${relay.held} event(s)${bad}${relay.failed ? `; NOT READ IN FULL (${relay.failed})` : ''}`,
    );
  }
  const lacking = new Map<string, string[]>();
  for (const [id, urls] of report.missingOn) {
    for (const url of urls) lacking.set(url, [...(lacking.get(url) ?? []), id]);
  }
  for (const [url, ids] of [...lacking].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push(`${url} lacks ${ids.length} event(s) another relay has:`);
    for (const id of ids.sort().slice(0, LISTED)) out.push(`  ${id}`);
    if (ids.length > LISTED) out.push(`  … and ${ids.length - LISTED} more`);
  }
  if (report.inputsNotFound.length > 0) {
    out.push(
      `${report.inputsNotFound.length} input(s) the agent referenced are on no relay (a listing its poster deleted stays embedded in its offer):`,
    );
    for (const id of report.inputsNotFound.slice(0, LISTED)) out.push(`  ${id}`);
    if (report.inputsNotFound.length > LISTED)
      out.push(`  … and ${report.inputsNotFound.length - LISTED} more`);
  }
  if (report.relays.some((relay) => relay.failed !== undefined))
    out.push('some relay could not be read in full: the backup holds what the others had');
  return out;
}

/** The ids of the inputs the agent's labels name: task ids (listings), causes, verdicts and dissents. */
export function referencedInputs(events: readonly NostrEvent[], agent: string): Set<string> {
  const ids = new Set<string>();
  for (const event of events) {
    if (event.pubkey !== agent || event.kind !== KINDS.label) continue;
    for (const tag of event.tags) {
      if (tag[0] === 'e' && INPUT_MARKERS.has(tag[3] ?? '') && isHex32(tag[1] ?? '')) ids.add(tag[1]!);
    }
  }
  return ids;
}

interface BackupOptions {
  out: string;
  since: number | null;
  relays: string[];
  agent: string | null;
}

function parseOptions(args: string[]): BackupOptions {
  let values: ReturnType<typeof parse>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parse(args));
  } catch (error) {
    throw new CliError(`backup-events: ${(error as Error).message}\n${BACKUP_USAGE}`);
  }
  if (positionals.length > 0)
    throw new CliError(`backup-events: unexpected argument "${positionals[0]}"\n${BACKUP_USAGE}`);
  if (!values.out) throw new CliError(`backup-events: --out FILE is required\n${BACKUP_USAGE}`);
  let since: number | null = null;
  if (values.since !== undefined) {
    if (!/^(0|[1-9][0-9]{0,9})$/.test(values.since))
      throw new CliError(
        `backup-events: --since must be unix seconds (a whole number), not "${values.since}"`,
      );
    since = Number(values.since);
  }
  const relays = (values.relay ?? []).map((url) => {
    try {
      return normalizeRelayUrl(url);
    } catch (error) {
      throw new CliError(`backup-events: --relay ${url} ${(error as Error).message}`);
    }
  });
  return { out: values.out, since, relays: [...new Set(relays)], agent: values.agent ?? null };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      since: { type: 'string' },
      relay: { type: 'string', multiple: true },
      agent: { type: 'string' },
    },
  });
}

function resolveAgent(config: AgentConfig, given: string | null): BackupReport['agent'] {
  if (given !== null) {
    const pubkey = pubkeyToHex(given.trim());
    if (pubkey === null)
      throw new CliError(
        `backup-events: --agent "${given}" is not a pubkey: give an npub1... or 64 hex characters`,
      );
    return { pubkey, npub: npubEncode(pubkey) };
  }
  const identity = readIdentity(config.keyFile);
  if (!identity) {
    throw new CliError(
      `backup-events: no agent key (${config.keyFile}, or AGENT_SECRET_KEY): give the agent's pubkey with --agent NPUB`,
    );
  }
  return { pubkey: identity.pubkey, npub: identity.npub };
}

/** Every relay of the configuration (read or write), as `start` reads the list. */
function configuredRelays(config: AgentConfig): string[] {
  return loadRelayList({ file: config.relaysFile, urls: config.relays }).relays.map((relay) => relay.url);
}

/** The ids in an existing backup (one event per line); none when there is no file. A line that is not an event
 * stops the command: appending to a damaged backup would hide the damage. */
async function idsIn(file: string): Promise<Set<string>> {
  const ids = new Set<string>();
  if (!existsSync(file)) return ids;
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let number = 0;
  for await (const line of lines) {
    number += 1;
    if (line.trim() === '') continue;
    const parsed = parseEventJson(line);
    if (!parsed.ok)
      throw new CliError(
        `backup-events: ${file} line ${number} is not an event (${parsed.reason}): nothing was written; repair it or back up to a new file without --since`,
      );
    ids.add(parsed.event.id);
  }
  return ids;
}

/** Writes `base`'s lines (when given) then `events` to a new file beside `file`, flushed, then renames it over. */
async function writeAtomically(
  file: string,
  base: string | null,
  events: readonly NostrEvent[],
): Promise<void> {
  const temporary = join(
    dirname(file),
    `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await open(temporary, 'wx', 0o644);
  try {
    if (base !== null && existsSync(base)) {
      let last = '';
      for await (const chunk of createReadStream(base, 'utf8')) {
        await handle.write(chunk);
        last = chunk.length > 0 ? chunk : last;
      }
      if (last !== '' && !last.endsWith('\n')) await handle.write('\n');
    }
    let buffer = '';
    for (const event of events) {
      const { id, pubkey, created_at, kind, tags, content, sig } = event;
      buffer += `${JSON.stringify({ id, pubkey, created_at, kind, tags, content, sig })}\n`;
      if (buffer.length > 1 << 20) {
        await handle.write(buffer);
        buffer = '';
      }
    }
    await handle.write(buffer);
    await handle.sync();
    await handle.close();
    await rename(temporary, file);
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  }
}

function merged(url: string, own: FetchAllResult, inputs: FetchAllResult | null): RelayFetchState {
  const first = own.perRelay.get(url) ?? { held: 0, rejected: 0 };
  const second = inputs?.perRelay.get(url) ?? { held: 0, rejected: 0 };
  const failed = first.failed ?? second.failed;
  return {
    held: first.held + second.held,
    rejected: first.rejected + second.rejected,
    ...(failed === undefined ? {} : { failed }),
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
