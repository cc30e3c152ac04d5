// `escrow-agent config print [--json]`: the effective configuration, every key of the file's schema nested as in
// the file, each with the value the agent uses (paths resolved, defaults that follow other keys filled in) and
// where it came from: `default`, `file (PATH)`, `env (VARIABLE)` or `flag (--pretty)`. Secrets never show: every
// value goes through redactSecrets (a database URL's password, an NWC URI's secret, an lndconnect macaroon, a
// relay URL's token), and the variables outside the keys that hold a secret (AGENT_SECRET_KEY, LND_MACAROON,
// LND_CERT) are shown only as set. Key files are paths and are shown. Nothing is opened or connected to.
import { parseArgs } from 'node:util';
import { describeConfig } from '../../agent/config.ts';
import { CliError } from '../cli-error.ts';
import type { AgentConfig, Output } from '../output.ts';
import { redactSecrets } from '../redact.ts';

const USAGE = 'usage: escrow-agent config print [--json]';
const ALIGN_AT = 48;

/** Variables read outside the configuration keys (docs/configuration.md, docs/lightning.md), in this order. */
const OTHER_VARIABLES: ReadonlyArray<{ name: string; secret: boolean; meaning: string }> = [
  { name: 'ESCROW_CONFIG', secret: false, meaning: 'the configuration file' },
  { name: 'AGENT_SECRET_KEY', secret: true, meaning: 'the agent key itself: agent.key_file is not used' },
  { name: 'LND_SOCKET', secret: false, meaning: "LND's host:port" },
  { name: 'LND_CERT', secret: true, meaning: "LND's TLS certificate" },
  { name: 'LND_CERT_PATH', secret: false, meaning: "LND's TLS certificate file" },
  { name: 'LND_MACAROON', secret: true, meaning: "LND's macaroon" },
  { name: 'LND_MACAROON_PATH', secret: false, meaning: "LND's macaroon file" },
  { name: 'LND_HOLD_EXPIRY_DELTA', secret: false, meaning: 'LND hold expiry delta' },
  { name: 'LND_MAX_FINAL_CLTV_DELTA', secret: false, meaning: 'LND maximum final CLTV delta' },
  { name: 'LND_MAX_PAYMENT_TIMELOCK_BLOCKS', secret: false, meaning: 'LND maximum payment timelock' },
];

export interface PrintedEntry {
  key: string;
  /** The value as printed (TOML), redacted; `(not set)` when the key has no value. */
  text: string;
  /** The value for --json (bigint as a string), redacted. */
  json: unknown;
  source: string;
}

export async function configCommand(config: AgentConfig, output: Output, args: string[]): Promise<number> {
  let json = false;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    json = parsed.values.json === true;
    positionals = parsed.positionals;
  } catch (error) {
    throw new CliError(`config: ${(error as Error).message}\n${USAGE}`);
  }
  if (positionals.length !== 1 || positionals[0] !== 'print') {
    throw new CliError(
      `config: ${positionals[0] ? `unknown subcommand "${positionals[0]}"` : 'say what to do'}\n${USAGE}`,
    );
  }
  const entries = printedEntries(config, process.env);
  const others = OTHER_VARIABLES.filter(({ name }) => (process.env[name] ?? '') !== '');
  if (json) {
    const nested: Record<string, Record<string, { value: unknown; source: string }>> = {};
    for (const entry of entries) {
      const [section, name] = entry.key.split('.') as [string, string];
      nested[section] ??= {};
      nested[section][name] = { value: entry.json, source: entry.source };
    }
    const environment = Object.fromEntries(
      others.map(({ name, secret }) => [
        name,
        { value: secret ? '***' : redactSecrets(process.env[name] ?? ''), source: `env (${name})` },
      ]),
    );
    output.out(
      JSON.stringify(
        { file: config.source === 'defaults' ? null : config.source, config: nested, environment },
        null,
        2,
      ),
    );
    return 0;
  }
  output.out(
    `# the effective configuration (${config.source === 'defaults' ? 'no configuration file' : config.source})`,
  );
  // Aligned comments; a value longer than the column (a URL, the arbitrators) pushes only its own comment out.
  const width = Math.min(
    ALIGN_AT,
    Math.max(...entries.map((entry) => `${entry.key.split('.')[1]} = ${entry.text}`.length)),
  );
  let section = '';
  for (const entry of entries) {
    const [table, name] = entry.key.split('.') as [string, string];
    if (table !== section) {
      output.out(`${section === '' ? '' : '\n'}[${table}]`);
      section = table;
    }
    output.out(`${`${name} = ${entry.text}`.padEnd(width)}  # ${entry.source}`);
  }
  if (others.length > 0) {
    output.out('\n# read from the environment outside the keys');
    for (const { name, secret, meaning } of others) {
      const value = secret ? '***' : JSON.stringify(redactSecrets(process.env[name] ?? ''));
      output.out(`# ${name} = ${value}  (${meaning})`);
    }
  }
  return 0;
}

/** Every key with its printed value and source. The --pretty flag shows as the source of agent.log_format. */
export function printedEntries(config: AgentConfig, env: NodeJS.ProcessEnv): PrintedEntry[] {
  const file = config.source === 'defaults' ? undefined : config.source;
  const { entries } = describeConfig({ file, env });
  return entries.map((entry) => {
    const overridden = entry.key === 'agent.log_format' && entry.value !== config.logFormat;
    const value = overridden ? config.logFormat : entry.value;
    return {
      key: entry.key,
      text: value === null ? '(not set)' : redactSecrets(tomlValue(value)),
      json: redactJson(value),
      source: overridden ? 'flag (--pretty)' : entry.source,
    };
  });
}

/** A value as TOML writes it: strings quoted, whole numbers bare, arrays and tables inline. */
function tomlValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{ ${Object.entries(value)
      .map(([name, item]) => `${name} = ${tomlValue(item)}`)
      .join(', ')} }`;
  }
  return String(value);
}

function redactJson(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(redactJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, redactJson(item)]));
  }
  return value;
}
