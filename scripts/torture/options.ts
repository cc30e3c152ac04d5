// The torture's options (docs/torture.md). Bad input: one message that says what to change, exit 2.
import { LIFECYCLE_KINDS, type LifecycleKind } from './lifecycles.ts';

export interface TortureOptions {
  tasks: number;
  seed: number;
  db: 'sqlite' | 'postgres';
  replicas: number;
  /** Random kills a minute (a Poisson process over the run). */
  killRate: number;
  /** Chance that an approval (or a verdict that pays) is followed at once by a kill. */
  killAfterApproval: number;
  /** Stop starting new lifecycles after this many seconds (0: no limit). */
  durationSeconds: number;
  /** Lifecycles in flight at once. */
  concurrency: number;
  /** The kinds of lifecycle to run, in turn (default: all of them). */
  kinds: LifecycleKind[];
  /** How long one step of a lifecycle may wait for the agent's answer. */
  stepTimeoutSeconds: number;
  /** Seconds the agents run with nothing to do once the driving is done, before the checks (bench memory). */
  idleSeconds: number;
  /** Each task's amount is drawn from this range, in sat (both ends included). */
  amountsSat: { min: number; max: number };
  quick: boolean;
  embedded: boolean;
  report: string | null;
  keep: boolean;
}

export const USAGE = `usage: npm run torture -- [--quick] [--tasks N] [--seed S] [--db sqlite|postgres] [--replicas R]
       [--kill-rate KILLS_PER_MINUTE] [--kill-after-approval 0..1] [--duration SECONDS] [--concurrency C]
       [--step-timeout SECONDS] [--idle SECONDS] [--amounts MIN-MAX] [--kinds KIND,...] [--embedded]
       [--report FILE] [--keep]
  --quick      a few lifecycles (one of each kind) and a few kills: what npm test runs
  --kinds      only these kinds of lifecycle (${LIFECYCLE_KINDS.join(', ')})
  --embedded   the one-process set-up of \`npm start\` (relay, LDK sandbox and agent in one process), SQLite
  --idle       leave the agents idle this many seconds once the driving is done, before the checks
  --amounts    each task's amount in sat, drawn from MIN to MAX (default 2000-40000)
  exit 0 every check passed, 1 a check failed, 2 bad input (docs/torture.md)`;

export class OptionError extends Error {}

export function parseOptions(argv: readonly string[]): TortureOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const withValue = new Set([
    '--tasks',
    '--seed',
    '--db',
    '--replicas',
    '--kill-rate',
    '--kill-after-approval',
    '--duration',
    '--concurrency',
    '--step-timeout',
    '--idle',
    '--amounts',
    '--kinds',
    '--report',
  ]);
  const bare = new Set(['--quick', '--embedded', '--keep', '--help']);
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (withValue.has(name)) {
      const value = inline ?? argv[++index];
      if (value === undefined || value.startsWith('--'))
        throw new OptionError(`${name} needs a value\n${USAGE}`);
      values.set(name, value);
    } else if (bare.has(name) && inline === undefined) {
      flags.add(name);
    } else {
      throw new OptionError(`unknown option ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  if (flags.has('--help')) throw new OptionError(USAGE);
  const quick = flags.has('--quick');
  const embedded = flags.has('--embedded');
  const db = (values.get('--db') ?? 'sqlite') as TortureOptions['db'];
  if (db !== 'sqlite' && db !== 'postgres')
    throw new OptionError(`--db takes sqlite or postgres, not ${JSON.stringify(db)}`);
  if (embedded && db !== 'sqlite')
    throw new OptionError(
      '--embedded runs the one-process set-up of `npm start`, on SQLite: leave out --db postgres',
    );
  const replicas = whole('--replicas', values.get('--replicas'), db === 'postgres' ? 2 : 1, 1, 8);
  if (db === 'sqlite' && replicas !== 1)
    throw new OptionError(
      '--replicas: SQLite takes one agent (one data folder); use --db postgres for replicas',
    );
  return {
    tasks: whole('--tasks', values.get('--tasks'), quick ? 7 : 40, 1, 2000),
    seed: whole('--seed', values.get('--seed'), Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1),
    db,
    replicas,
    killRate: fraction('--kill-rate', values.get('--kill-rate'), quick ? 4 : 6, 0, 600),
    killAfterApproval: fraction(
      '--kill-after-approval',
      values.get('--kill-after-approval'),
      quick ? 1 : 0.5,
      0,
      1,
    ),
    durationSeconds: whole('--duration', values.get('--duration'), 0, 0, 86_400),
    concurrency: whole('--concurrency', values.get('--concurrency'), quick ? 4 : 6, 1, 100),
    stepTimeoutSeconds: whole('--step-timeout', values.get('--step-timeout'), 120, 10, 3600),
    idleSeconds: whole('--idle', values.get('--idle'), 0, 0, 3600),
    amountsSat: amountRange(values.get('--amounts')),
    kinds: kindList(values.get('--kinds')),
    quick,
    embedded,
    report: values.get('--report') ?? null,
    keep: flags.has('--keep'),
  };
}

function whole(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new OptionError(`${name} takes a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return Number(text);
}

function fraction(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value < min || value > max)
    throw new OptionError(`${name} takes a number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return value;
}

/** The largest --amounts: a tenth of the sandbox payer's one 10,000,000 sat channel. */
const MAX_AMOUNT_SAT = 1_000_000;

function amountRange(text: string | undefined): { min: number; max: number } {
  if (text === undefined) return { min: 2_000, max: 40_000 };
  const match = /^(\d+)-(\d+)$/.exec(text);
  const [min, max] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (!match || min < 10 || min > max || max > MAX_AMOUNT_SAT)
    throw new OptionError(
      `--amounts takes MIN-MAX in sat, 10 <= MIN <= MAX <= ${MAX_AMOUNT_SAT} (for example 2000-8000), not ${JSON.stringify(text)}`,
    );
  return { min, max };
}

function kindList(text: string | undefined): LifecycleKind[] {
  if (text === undefined) return [...LIFECYCLE_KINDS];
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(LIFECYCLE_KINDS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0 || names.includes(''))
    throw new OptionError(
      `--kinds takes a comma-separated list of ${LIFECYCLE_KINDS.join(', ')}; not ${JSON.stringify(unknown.join(',') || text)}`,
    );
  return [...new Set(names)] as LifecycleKind[];
}
