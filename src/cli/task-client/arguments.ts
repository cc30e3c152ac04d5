// The options of `escrow-agent task <subcommand>`, parsed here with node:util's parseArgs (the command line hands
// the task command its arguments as given), and each value checked before anything is signed or sent: a value that
// cannot be used is refused with what to give instead (CliError, exit 2), never echoing a secret.
import { parseArgs } from 'node:util';
import { pubkeyToHex } from '../../agent/config.ts';
import { WINDOW_NAMES, type WindowName } from '../../protocol/constants.ts';
import { CliError } from '../cli-error.ts';
import { parseTaskRef, TASK_REF_HELP, type TaskRef, TaskRefError } from '../task-ref.ts';
import { relayOption } from './relays.ts';

export const SUBCOMMANDS = [
  'post',
  'list',
  'show',
  'watch',
  'claim',
  'submit',
  'approve',
  'cancel',
  'dispute',
  'verdict',
  'payout-invoice',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

const COMMON: Record<string, OptionSpec> = {
  agent: { type: 'string' },
  relay: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
const SIGNS: Record<string, OptionSpec> = { key: { type: 'string' } };
const NOTE: Record<string, OptionSpec> = { note: { type: 'string' } };

const SPECS: Record<Subcommand, { task: boolean; signs: boolean; options: Record<string, OptionSpec> }> = {
  post: {
    task: false,
    signs: true,
    options: {
      amount: { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string' },
      summary: { type: 'string' },
      window: { type: 'string', multiple: true },
      arbitrator: { type: 'string', multiple: true },
      threshold: { type: 'string' },
    },
  },
  list: { task: false, signs: false, options: { limit: { type: 'string' } } },
  show: { task: true, signs: false, options: {} },
  watch: { task: true, signs: false, options: {} },
  claim: { task: true, signs: true, options: NOTE },
  submit: { task: true, signs: true, options: { ...NOTE, invoice: { type: 'string' } } },
  approve: { task: true, signs: true, options: NOTE },
  cancel: { task: true, signs: true, options: NOTE },
  dispute: { task: true, signs: true, options: { statement: { type: 'string' } } },
  verdict: {
    task: true,
    signs: true,
    options: { ...NOTE, resolution: { type: 'string' }, share: { type: 'string' } },
  },
  'payout-invoice': {
    task: true,
    signs: true,
    options: {
      ...NOTE,
      invoice: { type: 'string' },
      lud16: { type: 'string' },
      recipient: { type: 'string' },
    },
  },
};

export interface TaskArguments {
  subcommand: Subcommand;
  /** `task <subcommand>`, for messages. */
  what: string;
  help: boolean;
  json: boolean;
  agent: string | undefined;
  /** Normalised --relay URLs. */
  relays: string[];
  key: string | undefined;
  /** The wait for the agent's answer, in seconds; null: none given (watch waits until the task ends). */
  timeoutSeconds: number | null;
  /** The task as given, and parsed. */
  given: string | null;
  ref: TaskRef | null;
  /** The subcommand's own options, as parsed (strings, string lists, booleans). */
  values: Record<string, string | string[] | boolean | undefined>;
}

/** Parses `args` (after `task`); throws CliError with the subcommand's usage for anything it cannot use. */
export function parseTaskArguments(
  args: readonly string[],
  usage: (subcommand: Subcommand | null) => string,
): TaskArguments | { subcommand: null; help: boolean } {
  const [first, ...rest] = args;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    return { subcommand: null, help: first !== undefined };
  }
  if (!(SUBCOMMANDS as readonly string[]).includes(first)) {
    throw new CliError(
      `task: unknown subcommand ${JSON.stringify(first.slice(0, 40))}: give one of ${SUBCOMMANDS.join(', ')}\n${usage(null)}`,
    );
  }
  const subcommand = first as Subcommand;
  const what = `task ${subcommand}`;
  const spec = SPECS[subcommand];
  let parsed: { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...rest],
      allowPositionals: true,
      options: { ...COMMON, ...(spec.signs ? SIGNS : {}), ...spec.options },
    }) as typeof parsed;
  } catch (error) {
    throw new CliError(`${what}: ${firstLine((error as Error).message)}\n${usage(subcommand)}`);
  }
  const { values, positionals } = parsed;
  const help = values.help === true;
  const string = (name: string) => values[name] as string | undefined;
  let given: string | null = null;
  let ref: TaskRef | null = null;
  if (!help) {
    if (spec.task) {
      if (positionals.length === 0)
        throw new CliError(`${what}: which task? ${TASK_REF_HELP}\n${usage(subcommand)}`);
      if (positionals.length > 1)
        throw new CliError(
          `${what}: one task at a time (got ${positionals.length} arguments)\n${usage(subcommand)}`,
        );
      given = positionals[0]!;
      try {
        ref = parseTaskRef(given);
      } catch (error) {
        if (error instanceof TaskRefError)
          throw new CliError(`${what}: ${error.message}\n${usage(subcommand)}`);
        throw error;
      }
    } else if (positionals.length > 0) {
      throw new CliError(
        `${what}: takes no task argument (got ${JSON.stringify(positionals[0]!.slice(0, 40))}): options only\n${usage(subcommand)}`,
      );
    }
  }
  const relays: string[] = [];
  for (const url of (values.relay as string[] | undefined) ?? []) {
    const normal = relayOption(what, url);
    if (!relays.includes(normal)) relays.push(normal);
  }
  const timeout = string('timeout');
  return {
    subcommand,
    what,
    help,
    json: values.json === true,
    agent: string('agent'),
    relays,
    key: string('key'),
    timeoutSeconds:
      timeout === undefined ? null : wholeNumber(what, '--timeout', timeout, 1, 86_400, 'seconds'),
    given,
    ref,
    values,
  };
}

/** A whole number in plain digits within [min, max]; CliError naming the option otherwise. */
export function wholeNumber(
  what: string,
  option: string,
  text: string,
  min: number,
  max: number,
  unit: string,
): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new CliError(
      `${what}: ${option} must be a whole number of ${unit} from ${min} to ${max}, in plain digits (got ${JSON.stringify(text.slice(0, 40))})`,
    );
  }
  return value;
}

/** The largest amount a listing may carry: 21 million bitcoin, in sats. */
const MAX_SATS = 2_100_000_000_000_000n;

/** --amount SATS as msat. */
export function amountOption(what: string, text: string | undefined): bigint {
  if (text === undefined)
    throw new CliError(
      `${what}: give the task's amount with --amount SATS (whole sats, e.g. --amount 21000)`,
    );
  const sats = /^\d{1,16}$/.test(text) ? BigInt(text) : null;
  if (sats === null || sats < 1n || sats > MAX_SATS) {
    throw new CliError(
      `${what}: --amount must be the task's amount in whole sats, plain digits from 1 to ${MAX_SATS} (got ${JSON.stringify(text.slice(0, 40))}), e.g. --amount 21000`,
    );
  }
  return sats * 1000n;
}

/** --window NAME=SECONDS (repeatable), in the order given. */
export function windowsOption(what: string, given: readonly string[]): Partial<Record<WindowName, number>> {
  const windows: Partial<Record<WindowName, number>> = {};
  for (const text of given) {
    const match = /^([a-z]+)=(.*)$/.exec(text);
    const name = match?.[1];
    if (!match || !name || !(WINDOW_NAMES as readonly string[]).includes(name)) {
      throw new CliError(
        `${what}: --window ${JSON.stringify(text.slice(0, 40))}: give NAME=SECONDS with NAME one of ${WINDOW_NAMES.join(', ')}, e.g. --window claim=3600`,
      );
    }
    if (windows[name as WindowName] !== undefined)
      throw new CliError(`${what}: --window ${name} is given twice: give each window once`);
    windows[name as WindowName] = wholeNumber(what, `--window ${name}`, match[2]!, 1, 31_536_000, 'seconds');
  }
  return windows;
}

/** --arbitrator NPUB (repeatable) as hex pubkeys. */
export function arbitratorsOption(what: string, given: readonly string[]): string[] {
  const pubkeys: string[] = [];
  for (const text of given) {
    if (/^nsec1/i.test(text.trim()))
      throw new CliError(
        `${what}: --arbitrator was given a secret key (nsec): do not share it; give the npub`,
      );
    const pubkey = pubkeyToHex(text.trim());
    if (pubkey === null) {
      throw new CliError(
        `${what}: --arbitrator ${JSON.stringify(text.slice(0, 80))} is not a pubkey: give an arbitrator's npub (npub1…) or 64 lowercase hex characters, from the agent's announced arbitrators`,
      );
    }
    if (pubkeys.includes(pubkey))
      throw new CliError(`${what}: --arbitrator ${text} is given twice: give each once`);
    pubkeys.push(pubkey);
  }
  return pubkeys;
}

/** --share as the worker's share in basis points: `6000` (basis points) or `60%` (percent, up to 2 decimals). */
export function shareOption(what: string, text: string): number {
  const percent = /^(\d{1,3})(?:\.(\d{1,2}))?%$/.exec(text);
  if (percent) {
    const bps = Number(percent[1]) * 100 + Number((percent[2] ?? '').padEnd(2, '0'));
    if (bps <= 10_000) return bps;
  } else if (/^\d{1,5}$/.test(text) && Number(text) <= 10_000) {
    return Number(text);
  }
  throw new CliError(
    `${what}: --share must be the worker's share of amount - fee: basis points from 0 to 10000 (6000 = 60 %), or a percentage such as 60% (got ${JSON.stringify(text.slice(0, 40))})`,
  );
}

/** One of `choices`, or CliError naming them. */
export function choiceOption<T extends string>(
  what: string,
  option: string,
  text: string | undefined,
  choices: readonly T[],
): T {
  if (text === undefined || !(choices as readonly string[]).includes(text)) {
    const got = text === undefined ? 'none was given' : `got ${JSON.stringify(text.slice(0, 40))}`;
    throw new CliError(`${what}: give ${option} ${choices.join('|')} (${got})`);
  }
  return text as T;
}

function firstLine(text: string): string {
  return text.split('\n').join(' ');
}
