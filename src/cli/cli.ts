// `escrow-agent`: the product's command line. Each command returns its exit code; bad input gets a message that
// says what to change, and exit code 2.
import { parseArgs } from 'node:util';
import { type AgentConfig, ConfigError, loadConfig } from '../agent/config.ts';

export const USAGE = `escrow-agent: a Nostr bot that escrows paid tasks with Lightning hold invoices

Usage: escrow-agent <command> [--config FILE]

Commands:
  start          run the agent on its configuration (default: embedded relay, LDK sandbox, SQLite in ./data)
  demo           run one whole task lifecycle on a fresh embedded set-up and check the worker was paid
  check-config   check the configuration and print the policy and the hold it needs
  migrate        apply the database migrations (start does this too)
  verify-db      verify every task's audit chain and money conservation in the database
  ln info        the sandbox nodes (agent, payer, worker): ids, height, balances, channels
  ln mine N      mine N blocks on the sandbox chain
  ln pay BOLT11  pay an invoice from the payer node (a hold invoice stays in flight until settled)
  ln invoice SATS [DESCRIPTION]
                 create an invoice on the worker node (for a submission)
  help           print this help

Options:
  --config FILE  TOML configuration (default: ./escrow-agent.toml if present, or $ESCROW_CONFIG)

Environment: DATABASE_URL, NOSTR_RELAYS (comma-separated), LIGHTNING_BACKEND, LIGHTNING_URL,
AGENT_DATA_DIR, AGENT_KEY_FILE, LOG_LEVEL override the file. See docs/configuration.md.
`;

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

type Command = (config: AgentConfig, output: Output, args: string[]) => Promise<number>;

// Loaded on demand: `check-config` must not need the database drivers, nor `ln` the WASM node.
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/start.ts')).startCommand,
  'check-config': async () => (await import('./commands/check-config.ts')).checkConfigCommand,
  migrate: async () => (await import('./commands/migrate.ts')).migrateCommand,
  'verify-db': async () => (await import('./commands/verify-db.ts')).verifyDatabaseCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  ln: async () => (await import('./commands/ln.ts')).lightningCommand,
};

export async function main(argv: string[], output: Output = consoleOutput()): Promise<number> {
  let parsed: ReturnType<typeof parseArguments>;
  try {
    parsed = parseArguments(argv);
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
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ file: parsed.values.config });
  } catch (error) {
    if (error instanceof ConfigError) {
      output.err(`escrow-agent: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const command = await load();
  return command(config, output, parsed.positionals.slice(1));
}

function parseArguments(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}

function consoleOutput(): Output {
  return { out: (line) => console.log(line), err: (line) => console.error(line) };
}
