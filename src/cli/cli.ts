// `escrow-agent`: the product's command line. Each command returns its exit code. An expected problem (bad input,
// a configuration or relay list to fix, a Lightning node or database that cannot be used as configured) prints
// one message that says what to change, and exits 2; describeExpectedError below is the one place that knows
// them. Anything else is a bug: one line and exit 1, the stack trace only with LOG_LEVEL=debug (or trace).
import { parseArgs } from 'node:util';
import { type AgentConfig, ConfigError, loadConfig } from '../agent/config.ts';
import { LightningStartupError } from '../agent/connect-lightning.ts';
import { DataFolderInUseError } from '../agent/data-folder-lock.ts';
import { DatabaseOpenError } from '../agent/open-agent-store.ts';
import { RelayListError } from '../agent/relay-list.ts';
import { SecretFileError } from '../agent/secret-files.ts';
import { libsecp256k1InvoiceCurve } from '../crypto/ecdsa.ts';
import { verifySchnorr } from '../crypto/schnorr.ts';
import { InternalError } from '../domain/errors.ts';
import { useInvoiceCurve } from '../ldk/bolt11/signature.ts';
import { useSchnorrVerifier } from '../protocol/verify-event.ts';
import { CliError } from './cli-error.ts';
import { checkDataFolder, requireExistingDatabase } from './data-folder.ts';
import type { Command, Output } from './output.ts';
import { redactSecrets } from './redact.ts';

export type { Output } from './output.ts';

export const USAGE = `escrow-agent: a Nostr bot that escrows paid tasks with Lightning hold invoices

Usage: escrow-agent <command> [--config FILE]

Commands:
  start          run the agent on its configuration (default: embedded relay, LDK sandbox, SQLite in ./data)
  demo           run one whole task lifecycle on a fresh embedded set-up and check the worker was paid
  check-config   check the configuration and print the policy and the hold it needs
  config print [--json]
                 the effective configuration: every key, its value (secrets masked) and where it came from
                 (default, file, env)
  migrate        apply the database migrations (start does this too)
  verify-db      verify every task's audit chain and money conservation in the database
  custody [--json]
                 the money the agent holds for others (who is owed what, since when) and the totals' conservation
  reputation NPUB [--json]
                 one pubkey's reputation at this agent (NPUB or hex): the counters the agent publishes (NIP-85
                 kind 30382) over the tasks it finished with money moved, and those tasks' final transitions
  backup-events --out FILE [--since UNIX] [--relay URL ...] [--agent NPUB]
                 copy from the relays every event the agent signed and every input it referenced (listings,
                 actions, verdicts) to FILE, one verified event per line, sorted; written beside FILE then renamed.
                 --since appends the events dated from then on (no id twice); relays: --relay, else the
                 configured list; no database or lock needed (it may run beside the agent). Exit 1 when a relay
                 could not be read in full
  verify TASK [--relay URL ...] [--agent NPUB] [--json]
                 check a task from relay history alone (no database): TASK is its id (64 hex), note1/nevent1
                 or the listing's naddr1; relays: --relay, else the configured list, plus the agent's NIP-65
                 write relays; the agent: --agent, else this folder's agent key. Exit 0 every check holds, 1 one
                 fails (or no such task on the relays), 2 bad input or no relay answered
  verify --all [--agent NPUB] [--relay URL ...] [--json]
                 verify every task of the agent found on the relays; a table at the end
  reconcile-from-nostr (--from-relays | --from-file BACKUP.jsonl) --agent NPUB [--relay URL ...] [--execute]
                 [--compare-with DATABASE_URL] [--max-tasks N]
                 rebuild the database from the agent's public log (docs/runbooks.md): verify and rebuild each
                 task, ask the Lightning node about the unfinished ones, print what would be written (a dry run
                 by default); --execute writes the finished tasks and those holding no money at the node into the
                 configured database, which must be empty (a stopped run is resumed: run it again); a task whose
                 money the node holds is listed, not written; --compare-with: the public projection hash of
                 another database against the log's, and the tasks that differ. Exit 1 when something needs you
  holds stuck [--older-than SECONDS] [--json]
                 holds that did not move on: settling or refunding for SECONDS (default 3600), paid and not
                 funded, or paid at the node and missed by the database; each with the node's view and what to run
  settle-stuck [--execute] [--json]
                 finish the settles whose intent is committed (the agent's engine settles, records, pays out)
  timeout-expired [--execute] [--json]
                 apply the windows and hold deadlines that passed (refund, expire, or review silence pays the
                 worker), and finish the refunds whose intent is committed
  sync-lightning [--execute] [--json]
                 bring the node's state of every open hold and in-flight payout into the database
  outbox republish [--relay URL] [--since 1h|UNIX] [--execute] [--json]
                 queue again the agent's events a write relay took and no longer has (read from it)
  verify-events [--since 1h|UNIX] [--relay URL] [--json]
                 the agent's events on each write relay against the outbox: present, missing, and unknown
                 (signed with its key, never written by it: key compromise). Read-only
  pause [--reason TEXT] [--execute] [--json]
                 maintenance mode: new listings refused (NotAcceptingTasks), the announcement says
                 accepting_tasks: false, /health 503 naming intake; funded tasks keep being served
  resume [--execute] [--json]
                 take new tasks again
                 These eight run inside the running agent (through <data_dir>/control.sock) or on the stopped
                 agent's folder; a dry run unless --execute; exit 1 when something needs you (docs/runbooks.md)
  arbitrators add NPUB --name NAME [--fee-base-msat N] [--fee-ppm N]
                 add, change or reactivate an arbitrator the agent may name on new tasks
  arbitrators remove NPUB
                 deactivate an arbitrator (tasks already offered keep theirs)
  arbitrators list [--json]
                 the arbitrators in the database: npub, name, fee, active, source
  keys generate [--out FILE] [--json]
                 write a new Nostr secret key file (mode 0600, never over an existing file; default
                 <agent.key_file>.new); prints its npub and path, never the secret
  keys rotate --new-key FILE [--execute] [--json]
                 make FILE's key the agent's key (docs/key-rotation.md): the agent stopped, every task finished;
                 a dry run unless --execute, which signs a rotation with both keys and the new profile, relay list
                 and announcement, queues them (and publishes them now if the relays answer), keeps the old key
                 as <agent.key_file>.old-<npub>, installs the new one and records it in the database
  task post --amount SATS --title TEXT [--description TEXT] [--window NAME=SECONDS ...] [--arbitrator NPUB ...]
                 [--threshold K]
  task list | show TASK | watch TASK
  task claim TASK | approve TASK | cancel TASK [--note TEXT]
  task submit TASK --note TEXT [--invoice BOLT11]
  task dispute TASK --statement TEXT
  task verdict TASK --resolution worker|poster|split [--share BPS|N%]
  task payout-invoice TASK --recipient worker|poster (--invoice BOLT11 | --lud16 NAME@DOMAIN)
                 a Nostr client for posters, workers and arbitrators (docs/client-cli.md): signs with --key FILE or
                 NOSTR_SECRET_KEY, publishes to the agent's relays (--relay, else its NIP-65 list), waits for the
                 agent's answer (--timeout SECONDS, default 60) and prints it (--json: JSON). --agent NPUB, else
                 this folder's agent. Exit 0 accepted, 1 refused (code and reason printed) or a check failed
                 (show), 2 bad input or no relay took the event, 3 no answer in time. \`task help\` for details
  ln info        the sandbox nodes (agent, payer, worker): ids, height, balances, channels
  ln mine N      mine N blocks on the sandbox chain
  ln pay BOLT11  pay an invoice from the payer node; exit 0 when paid or still in flight (a hold invoice
                 stays in flight until the agent settles or refunds it), 1 when the payment failed
  ln invoice SATS [DESCRIPTION]
                 create an invoice on the worker node (for a submission)
  help           print this help

Options:
  --config FILE  TOML configuration (default: ./escrow-agent.toml if present, or $ESCROW_CONFIG)
  --json         one JSON document on stdout instead of text (custody, reputation, arbitrators list, verify,
                 config print, keys); msat as strings
  --pretty       log lines as readable, coloured text (start; the default on a terminal), not JSON lines
                 (agent.log_format, LOG_FORMAT)

Environment: DATABASE_URL, NOSTR_RELAYS (comma-separated), LIGHTNING_BACKEND, LIGHTNING_URL,
AGENT_DATA_DIR, AGENT_KEY_FILE, EMBEDDED_RELAY, LOG_LEVEL, LOG_FORMAT, HTTP_PORT override the file;
AGENT_SECRET_KEY replaces the key file. Relative paths in the file are relative to the file's folder. See docs/configuration.md.
`;

/**
 * What each command needs of the data folder before it runs, checked without creating anything: start and migrate
 * a folder they can create and write; verify-db an existing database (it never creates one, nor keys).
 */
const PREFLIGHT: Record<string, (config: AgentConfig) => unknown> = {
  start: checkDataFolder,
  migrate: checkDataFolder,
  'verify-db': requireExistingDatabase,
  custody: requireExistingDatabase,
  reputation: requireExistingDatabase,
  'reconcile-from-nostr': checkDataFolder,
  holds: requireExistingDatabase,
  'settle-stuck': requireExistingDatabase,
  'timeout-expired': requireExistingDatabase,
  'sync-lightning': requireExistingDatabase,
  outbox: requireExistingDatabase,
  'verify-events': requireExistingDatabase,
  pause: requireExistingDatabase,
  resume: requireExistingDatabase,
  // arbitrators: `add` may create the database as migrate does, `list` and `remove` need one (checked there).
};

/** Options only some commands take, handed to them after their positional arguments (`--name=X`, `--json`). */
const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  arbitrators: ['name', 'fee-base-msat', 'fee-ppm', 'json'],
  custody: ['json'],
  config: ['json'],
  keys: ['out', 'new-key', 'execute', 'json'],
  reputation: ['json'],
  'backup-events': ['out', 'since', 'relay', 'agent'],
  verify: ['relay', 'agent', 'all', 'json'],
  holds: ['older-than', 'json'],
  'settle-stuck': ['execute', 'json'],
  'timeout-expired': ['execute', 'json'],
  'sync-lightning': ['execute', 'json'],
  outbox: ['relay', 'since', 'execute', 'json'],
  'verify-events': ['since', 'relay', 'json'],
  pause: ['reason', 'execute', 'json'],
  resume: ['execute', 'json'],
  'reconcile-from-nostr': [
    'from-relays',
    'from-file',
    'agent',
    'relay',
    'execute',
    'compare-with',
    'max-tasks',
  ],
};

/**
 * Commands that parse their own options (each `task` subcommand has its own): main() takes only --config and
 * --pretty out of their arguments and hands every other one on as given.
 */
const OWN_OPTIONS: ReadonlySet<string> = new Set(['task']);

// Loaded on demand: `check-config` must not need the database drivers, nor `ln` the WASM node.
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/start.ts')).startCommand,
  'check-config': async () => (await import('./commands/check-config.ts')).checkConfigCommand,
  config: async () => (await import('./commands/config-print.ts')).configCommand,
  keys: async () => (await import('./commands/keys.ts')).keysCommand,
  migrate: async () => (await import('./commands/migrate.ts')).migrateCommand,
  'verify-db': async () => (await import('./commands/verify-db.ts')).verifyDatabaseCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  ln: async () => (await import('./commands/ln.ts')).lightningCommand,
  arbitrators: async () => (await import('./commands/arbitrators.ts')).arbitratorsCommand,
  custody: async () => (await import('./commands/custody.ts')).custodyCommand,
  reputation: async () => (await import('./commands/reputation.ts')).reputationCommand,
  'backup-events': async () => (await import('./commands/backup-events.ts')).backupEventsCommand,
  verify: async () => (await import('./commands/verify.ts')).verifyCommand,
  'reconcile-from-nostr': async () =>
    (await import('./commands/reconcile-from-nostr.ts')).reconcileFromNostrCommand,
  holds: async () => (await import('./commands/runbook.ts')).holdsCommand,
  'settle-stuck': async () => (await import('./commands/runbook.ts')).settleStuckCommand,
  'timeout-expired': async () => (await import('./commands/runbook.ts')).timeoutExpiredCommand,
  'sync-lightning': async () => (await import('./commands/runbook.ts')).syncLightningCommand,
  outbox: async () => (await import('./commands/runbook.ts')).outboxCommand,
  'verify-events': async () => (await import('./commands/runbook.ts')).verifyEventsCommand,
  pause: async () => (await import('./commands/runbook.ts')).pauseCommand,
  resume: async () => (await import('./commands/runbook.ts')).resumeCommand,
  task: async () => (await import('./commands/task.ts')).taskCommand,
};

export async function main(argv: string[], output: Output = consoleOutput()): Promise<number> {
  // Every signature the commands check (verify, reconcile-from-nostr, the task client) with libsecp256k1 in
  // WebAssembly: about 7 times the pure-JS default on one core (bench bounds).
  useSchnorrVerifier(verifySchnorr);
  // And every invoice's payee key (recovered from its signature) the same way: about 2 ms each in pure JS.
  useInvoiceCurve(libsecp256k1InvoiceCurve);
  const ownParser = splitOwnOptions(argv);
  let parsed: ReturnType<typeof parseArguments>;
  try {
    parsed = parseArguments(ownParser?.main ?? argv);
  } catch (error) {
    output.err(`escrow-agent: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [name] = parsed.positionals;
  if (name === undefined || name === 'help' || parsed.values.help) {
    output.out(USAGE);
    return name === undefined && !parsed.values.help ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    output.err(`escrow-agent: unknown command "${name}"; run "escrow-agent help" for the list`);
    return 2;
  }
  const { config: file, help: _help, pretty, ...own } = parsed.values;
  const foreign = Object.keys(own).find((option) => !COMMAND_OPTIONS[name]?.includes(option));
  if (foreign !== undefined) {
    output.err(`escrow-agent: ${name} takes no --${foreign} option; run "escrow-agent help" for its usage`);
    return 2;
  }
  // A repeatable option (--relay) is handed on once per value.
  const options = Object.entries(own).flatMap(([option, value]) =>
    (Array.isArray(value) ? value : [value]).map((one) =>
      one === true ? `--${option}` : `--${option}=${one}`,
    ),
  );
  let config: AgentConfig | undefined;
  try {
    config = loadConfig({ file });
    if (pretty) config = { ...config, logFormat: 'pretty' };
    PREFLIGHT[name]?.(config);
    const command = await load();
    return await command(config, output, ownParser?.rest ?? [...parsed.positionals.slice(1), ...options]);
  } catch (error) {
    return reportError(error, output, debugWanted(config?.logLevel ?? process.env.LOG_LEVEL));
  }
}

/**
 * `escrow-agent` as the bin runs it: main() on the console, and the same one-line report (exit 1) for an error
 * that escapes every command, e.g. one thrown by a timer while `start` runs.
 */
export async function run(argv: string[]): Promise<number> {
  // Output piped into a command that stops reading (`escrow-agent check-config | head -1`): the closed pipe is
  // not an error of ours. Later lines are dropped quietly and the command ends with its own exit code.
  const closed = { out: false, err: false };
  const output = consoleOutput(closed);
  const crash = (error: unknown) => {
    if (isClosedPipe(error)) return;
    process.exit(reportError(error, output, debugWanted(process.env.LOG_LEVEL)));
  };
  process.stdout.on('error', (error) => {
    if (isClosedPipe(error)) closed.out = true;
    else crash(error);
  });
  process.stderr.on('error', (error) => {
    if (isClosedPipe(error)) closed.err = true;
    else crash(error);
  });
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  return main(argv, output);
}

function isClosedPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

/** The message for an error the person running the command must fix, or undefined when it is a bug. */
export function describeExpectedError(error: unknown): string | undefined {
  if (error instanceof ConfigError) return problemList('invalid configuration', error.problems);
  if (error instanceof RelayListError) return problemList('relay list', error.problems);
  if (error instanceof DataFolderInUseError) return error.message;
  if (
    error instanceof LightningStartupError ||
    error instanceof DatabaseOpenError ||
    error instanceof SecretFileError ||
    error instanceof CliError
  ) {
    return error.message;
  }
  // The store refuses a database URL it cannot open (an unknown scheme, a sqlite: URL without a path).
  if (error instanceof InternalError && error.code === 'Config') return `database.url: ${error.message}`;
  return undefined;
}

/** Prints an error the way the command line reports every error, and returns the exit code. */
export function reportError(error: unknown, output: Output, debug: boolean): number {
  const expected = describeExpectedError(error);
  if (expected !== undefined) {
    output.err(`escrow-agent: ${redactSecrets(expected)}`);
    return 2;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (debug) {
    const stack = error instanceof Error && error.stack ? error.stack : message;
    output.err(`escrow-agent: internal error: ${redactSecrets(stack)}`);
  } else {
    const line = (message.split('\n')[0] ?? '').trim();
    output.err(`escrow-agent: internal error: ${redactSecrets(line)} (run with LOG_LEVEL=debug for details)`);
  }
  return 1;
}

/** One problem on one line; several as a list under the heading. */
function problemList(heading: string, problems: readonly string[]): string {
  if (problems.length === 1) return `${heading}: ${problems[0]}`;
  return `${heading}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`;
}

function debugWanted(level: string | undefined): boolean {
  return level === 'debug' || level === 'trace';
}

/**
 * For a command in OWN_OPTIONS: main()'s own arguments (--config, --pretty, wherever they are, and the command's
 * name) apart from the command's (everything else, as given; after `--`, everything). Null for any other command.
 */
function splitOwnOptions(argv: string[]): { main: string[]; rest: string[] } | null {
  const main: string[] = [];
  const rest: string[] = [];
  let command: string | null = null;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (command !== null && arg === '--') {
      rest.push(...argv.slice(index));
      break;
    }
    if (arg === '--config' && index + 1 < argv.length) main.push(arg, argv[++index]!);
    else if (arg.startsWith('--config=') || arg === '--pretty') main.push(arg);
    else if (command !== null) rest.push(arg);
    else if (OWN_OPTIONS.has(arg)) {
      command = arg;
      main.push(arg);
    } else return null;
  }
  return command === null ? null : { main, rest };
}

function parseArguments(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      json: { type: 'boolean' },
      pretty: { type: 'boolean' },
      name: { type: 'string' },
      'fee-base-msat': { type: 'string' },
      'fee-ppm': { type: 'string' },
      out: { type: 'string' },
      since: { type: 'string' },
      relay: { type: 'string', multiple: true },
      agent: { type: 'string' },
      all: { type: 'boolean' },
      'from-relays': { type: 'boolean' },
      'from-file': { type: 'string' },
      execute: { type: 'boolean' },
      'compare-with': { type: 'string' },
      'max-tasks': { type: 'string' },
      'new-key': { type: 'string' },
      'older-than': { type: 'string' },
      reason: { type: 'string' },
    },
  });
}

function consoleOutput(closed = { out: false, err: false }): Output {
  return {
    out: (line) => {
      if (!closed.out) console.log(line);
    },
    err: (line) => {
      if (!closed.err) console.error(line);
    },
  };
}
