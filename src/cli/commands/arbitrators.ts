// `escrow-agent arbitrators add | remove | list`: the arbitrators the agent may name on new tasks, in the database
// beside those the configuration seeds at start (policy.arbitrators). Rows are never deleted: `remove` deactivates,
// and a task keeps the arbitrators it was posted with. The running agent reads the set at start, so a change is
// announced at its next start. Like every command that opens the data folder, these take its lock: they are
// refused while the agent runs.
import { parseArgs } from 'node:util';
import { npubEncode } from 'nostr-tools/nip19';
import { type ArbitratorEntry, pubkeyToHex } from '../../agent/config.ts';
import type { ArbitratorRecord, EscrowStore } from '../../store/index.ts';
import { CliError } from '../cli-error.ts';
import { checkDataFolder, requireExistingDatabase, withAgentStore } from '../data-folder.ts';

/** Said when the agent must be stopped to change its arbitrators. */
const ANNOUNCED = ' (it announces the arbitrators at start)';

import type { AgentConfig, Output } from '../output.ts';

export const ARBITRATORS_USAGE = `usage: escrow-agent arbitrators add NPUB --name NAME [--fee-base-msat N] [--fee-ppm N]
       escrow-agent arbitrators remove NPUB
       escrow-agent arbitrators list [--json]
NPUB is an npub1... or a 64-character lowercase hex pubkey.`;

const MAX_NAME = 64; // as policy.arbitrators' name
const MAX_FEE_BASE_MSAT = 2_100_000_000_000_000_000n; // 21 million BTC, as policy.fee_base_msat
const MAX_FEE_PPM = 1_000_000;
const NEXT_START = 'the running agent announces the change at its next start (escrow-agent start)';

export async function arbitratorsCommand(
  config: AgentConfig,
  output: Output,
  args: string[],
): Promise<number> {
  const { values, positionals } = parse(args);
  const [verb, target, ...extra] = positionals;
  if (extra.length > 0) throw usage(`unexpected argument "${extra[0]}"`);
  if (values.json && verb !== 'list') throw usage('--json is for `arbitrators list`');
  switch (verb) {
    case 'add': {
      const entry = entryFrom(target, values);
      checkDataFolder(config); // like migrate: a new database may be created here
      return withAgentStore(
        config,
        'arbitrators add',
        (store) => add(store, config, entry, output),
        ANNOUNCED,
      );
    }
    case 'remove': {
      if (
        values.name !== undefined ||
        values['fee-base-msat'] !== undefined ||
        values['fee-ppm'] !== undefined
      )
        throw usage('`arbitrators remove` takes only the pubkey');
      const pubkey = pubkeyFrom(target);
      requireExistingDatabase(config);
      return withAgentStore(
        config,
        'arbitrators remove',
        (store) => remove(store, config, pubkey, output),
        ANNOUNCED,
      );
    }
    case 'list': {
      if (target !== undefined) throw usage(`unexpected argument "${target}"`);
      if (
        values.name !== undefined ||
        values['fee-base-msat'] !== undefined ||
        values['fee-ppm'] !== undefined
      )
        throw usage('`arbitrators list` takes only --json');
      requireExistingDatabase(config);
      return withAgentStore(config, 'arbitrators list', (store) =>
        list(store, config, values.json === true, output),
      );
    }
    case undefined:
      throw usage('say what to do: add, remove or list');
    default:
      throw usage(`unknown action "${verb}"`);
  }
}

type Values = ReturnType<typeof parse>['values'];

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        'fee-base-msat': { type: 'string' },
        'fee-ppm': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw usage((error as Error).message);
  }
}

function usage(problem: string): CliError {
  return new CliError(`arbitrators: ${problem}\n${ARBITRATORS_USAGE}`);
}

function pubkeyFrom(text: string | undefined): string {
  if (text === undefined) throw usage("give the arbitrator's npub or hex pubkey");
  const hex = pubkeyToHex(text.trim());
  if (hex === null) {
    throw new CliError(
      `arbitrators: not an npub or 64-character hex pubkey: "${text}": give the arbitrator's npub1... or their public key as 64 lowercase hex characters`,
    );
  }
  return hex;
}

function entryFrom(target: string | undefined, values: Values): ArbitratorEntry {
  const pubkey = pubkeyFrom(target);
  const name = values.name?.trim();
  if (name === undefined || name === '') {
    throw usage('give the arbitrator a name with --name NAME (shown to posters and workers in the policy)');
  }
  if ([...name].length > MAX_NAME) {
    throw new CliError(`arbitrators: --name is ${[...name].length} characters: give at most ${MAX_NAME}`);
  }
  const feeBase = values['fee-base-msat'] ?? '0';
  if (!/^\d{1,19}$/.test(feeBase) || BigInt(feeBase) > MAX_FEE_BASE_MSAT) {
    throw new CliError(
      `arbitrators: --fee-base-msat must be a whole number of msat from 0 to ${MAX_FEE_BASE_MSAT}, in plain digits, not "${feeBase}"`,
    );
  }
  const feePpm = values['fee-ppm'] ?? '0';
  if (!/^\d{1,7}$/.test(feePpm) || Number(feePpm) > MAX_FEE_PPM) {
    throw new CliError(
      `arbitrators: --fee-ppm must be a whole number of parts per million from 0 to ${MAX_FEE_PPM}, in plain digits, not "${feePpm}"`,
    );
  }
  return { pubkey, name, feeBaseMsat: BigInt(feeBase), feePpm: Number(feePpm), active: true };
}

async function add(
  store: EscrowStore,
  config: AgentConfig,
  entry: ArbitratorEntry,
  output: Output,
): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const before = await store.read((tx) => tx.arbitrators.get(entry.pubkey));
  const outcome = await store.transaction((tx) => tx.arbitrators.upsert(entry, 'cli', now));
  const who = `${npubOf(entry.pubkey)} (${entry.name}), fee ${feeText(entry.feeBaseMsat, entry.feePpm)}`;
  if (outcome === 'created') output.out(`added arbitrator ${who}, active`);
  else if (outcome === 'unchanged')
    output.out(`arbitrator ${who} is already in the database as given: nothing changed`);
  else if (before && !before.active) output.out(`reactivated arbitrator ${who}`);
  else output.out(`updated arbitrator ${who}, active`);
  if (outcome !== 'unchanged') output.out(`${NEXT_START}; tasks already offered keep their arbitrators`);
  const configured = config.arbitrators.find((candidate) => candidate.pubkey === entry.pubkey);
  if (configured && !sameSettings(configured, entry)) {
    output.out(
      `note: the configuration (${config.source}) also names this arbitrator in policy.arbitrators, as ${describeEntry(configured)}; at the next start that entry replaces this one: change it there too`,
    );
  }
  return 0;
}

async function remove(
  store: EscrowStore,
  config: AgentConfig,
  pubkey: string,
  output: Output,
): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const before = await store.read((tx) => tx.arbitrators.get(pubkey));
  if (before === null) {
    throw new CliError(
      `arbitrators remove: no arbitrator ${npubOf(pubkey)} in the database: \`escrow-agent arbitrators list\` shows who is there`,
    );
  }
  const deactivated = await store.transaction((tx) => tx.arbitrators.deactivate(pubkey, now));
  const who = `${npubOf(pubkey)} (${before.name || 'no name'})`;
  if (deactivated) {
    output.out(
      `deactivated arbitrator ${who}: new tasks are not offered them; tasks already offered keep their arbitrators, this one included, and their verdicts there still count`,
    );
    output.out(`${NEXT_START}; the row stays in the database (arbitrators are never deleted)`);
  } else {
    output.out(`arbitrator ${who} was already inactive: nothing changed`);
  }
  const configured = config.arbitrators.find((candidate) => candidate.pubkey === pubkey);
  if (configured?.active) {
    output.out(
      `note: the configuration (${config.source}) names this arbitrator active in policy.arbitrators: the next start activates them again; remove them there, or set active = false in their entry`,
    );
  }
  return 0;
}

async function list(store: EscrowStore, config: AgentConfig, json: boolean, output: Output): Promise<number> {
  const rows = await store.read((tx) => tx.arbitrators.list());
  if (json) {
    output.out(JSON.stringify(rows.map(jsonRow), null, 2));
    return 0;
  }
  if (rows.length === 0) {
    output.out(
      'no arbitrators in the database: add one with `escrow-agent arbitrators add NPUB --name NAME`, or name them in policy.arbitrators (seeded at start)',
    );
  } else {
    const table = [
      ['NPUB', 'NAME', 'FEE', 'ACTIVE', 'SOURCE'],
      ...rows.map((row) => [
        npubOf(row.pubkey),
        row.name,
        feeText(row.feeBaseMsat, row.feePpm),
        row.active ? 'yes' : 'no',
        row.source,
      ]),
    ];
    const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
    for (const line of table) {
      output.out(
        line
          .map((cell, column) => (column === line.length - 1 ? cell : cell.padEnd(widths[column]!)))
          .join('  '),
      );
    }
    const active = rows.filter((row) => row.active).length;
    output.out(`${active} active, ${rows.length - active} inactive`);
  }
  const pending = config.arbitrators.filter((entry) => {
    const row = rows.find((candidate) => candidate.pubkey === entry.pubkey);
    if (row === undefined) return true;
    return row.source !== 'config' || !sameSettings(row, entry);
  });
  if (pending.length > 0) {
    output.out(
      `the configuration (${config.source}) names ${pending.length} arbitrator(s) not in the database as written there: the agent seeds them at its next start`,
    );
  }
  return 0;
}

function jsonRow(row: ArbitratorRecord) {
  return {
    pubkey: row.pubkey,
    npub: npubOf(row.pubkey),
    name: row.name,
    feeBaseMsat: row.feeBaseMsat.toString(),
    feePpm: row.feePpm,
    active: row.active,
    source: row.source,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function sameSettings(left: ArbitratorEntry, right: ArbitratorEntry): boolean {
  return (
    left.name === right.name &&
    left.feeBaseMsat === right.feeBaseMsat &&
    left.feePpm === right.feePpm &&
    left.active === right.active
  );
}

function describeEntry(entry: ArbitratorEntry): string {
  return `"${entry.name}", fee ${feeText(entry.feeBaseMsat, entry.feePpm)}, ${entry.active ? 'active' : 'inactive'}`;
}

function feeText(baseMsat: bigint, ppm: number): string {
  return `${baseMsat} msat + ${ppm} ppm`;
}

function npubOf(pubkey: string): string {
  try {
    return npubEncode(pubkey);
  } catch {
    return pubkey; // a row the store let through is shown as it is
  }
}
