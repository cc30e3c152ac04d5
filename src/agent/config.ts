// Configuration: a TOML file plus environment variables, checked with zod at start-up. A bad value stops the
// agent with a message that names the key, the value and what is allowed; cross-key rules (windows that do not
// fit the hold, a fee that eats the smallest task) come from the domain's policy check.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { decode as decodeNip19 } from 'nostr-tools/nip19';
import { getPublicKey } from 'nostr-tools/pure';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { HEX32_PATTERN } from '../domain/hex.ts';
import { policyProblems } from '../domain/policy.ts';
import { DEFAULT_RATE_LIMIT, type Policy } from '../domain/types.ts';

const MAX_MSAT = 2_100_000_000_000_000_000n; // 21 million BTC

const wholeNumber = (min: number, max: number) =>
  z
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .refine((value) => Number.isSafeInteger(value) && value >= min && value <= max, {
      message: `must be a whole number from ${min} to ${max}`,
    });

/** msat amounts: TOML integers (or decimal strings, for amounts past 2^53), kept as bigint. */
const msat = (min: bigint, max: bigint) =>
  z
    .union([z.number(), z.bigint(), z.string()], {
      error: `must be a whole number of msat from ${min} to ${max}`,
    })
    .transform((value, context) => {
      const text = typeof value === 'string' ? value.trim() : String(value);
      if (!/^\d+$/.test(text)) {
        context.addIssue({ code: 'custom', message: `must be a whole number of msat from ${min} to ${max}` });
        return z.NEVER;
      }
      const amount = BigInt(text);
      if (amount < min || amount > max) {
        context.addIssue({ code: 'custom', message: `must be a whole number of msat from ${min} to ${max}` });
        return z.NEVER;
      }
      return amount;
    });

/** A pubkey as npub or 64-character lowercase hex, kept as hex. */
export const pubkeySchema = z.string().transform((value, context) => {
  const hex = pubkeyToHex(value.trim());
  if (hex === null) {
    context.addIssue({ code: 'custom', message: 'must be an npub or a 64-character lowercase hex pubkey' });
    return z.NEVER;
  }
  return hex;
});

export function pubkeyToHex(text: string): string | null {
  if (HEX32_PATTERN.test(text)) return text;
  if (!text.startsWith('npub1')) return null;
  try {
    const decoded = decodeNip19(text);
    return decoded.type === 'npub' ? decoded.data : null;
  } catch {
    return null;
  }
}

/** One arbitrator: a bare pubkey, or a table with a name, a fee in the policy's terms and an active flag. */
const arbitratorEntrySchema = z.union(
  [
    pubkeySchema.transform((pubkey) => ({ pubkey, name: '', fee_base_msat: 0n, fee_ppm: 0, active: true })),
    z
      .object({
        pubkey: pubkeySchema,
        name: z.string().max(64, 'the name must be at most 64 characters').default(''),
        fee_base_msat: msat(0n, MAX_MSAT).default(0n),
        fee_ppm: wholeNumber(0, 1_000_000).default(0),
        active: z.boolean().default(true),
      })
      .strict(),
  ],
  {
    error:
      'each arbitrator must be an npub / hex pubkey, or a table { pubkey, name, fee_base_msat, fee_ppm, active }',
  },
);

export interface ArbitratorEntry {
  pubkey: string;
  name: string;
  feeBaseMsat: bigint;
  feePpm: number;
  active: boolean;
}

export const BACKENDS = ['sandbox', 'nwc', 'lnd'] as const;
export type Backend = (typeof BACKENDS)[number];

/** How log lines are written: auto = pretty on a terminal, JSON otherwise (src/agent/logger.ts). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Blocks each backend cancels a held HTLC before its expiry by itself (LDK: claim_deadline = expiry - 21). */
export const AUTO_CANCEL_BLOCKS: Record<Backend, number> = { sandbox: 21, nwc: 21, lnd: 18 };

const configSchema = z
  .object({
    agent: z
      .object({
        data_dir: z.string().min(1).default('./data'),
        key_file: z.string().min(1).optional(),
        log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        log_format: z
          .enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` })
          .default('auto'),
        verify_threads: wholeNumber(0, 16).optional(),
        intake_concurrency: wholeNumber(1, 64).default(8), // runAgent's INTAKE_CONCURRENCY
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: z
          .string()
          .regex(
            /^(sqlite:.+|postgres(ql)?:\/\/.+)$/,
            'must be sqlite:<path> or postgres://user:password@host:port/database',
          )
          .optional(),
        preimage_key_file: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    nostr: z
      .object({
        relays_file: z.string().min(1).default('relays.json'),
        relays: z
          .array(z.string().regex(/^wss?:\/\/.+/, 'each relay must be a ws:// or wss:// URL'))
          .optional(),
        publish_quorum: wholeNumber(1, 50).optional(),
        embedded_relay: z
          .string()
          .regex(/^(off|[\w.-]+:\d{1,5})$/, 'must be "off" or host:port, e.g. 127.0.0.1:7777')
          .refine((value) => value === 'off' || validPort(value.slice(value.lastIndexOf(':') + 1)), {
            message: 'the port must be from 1 to 65535, e.g. 127.0.0.1:7777 (or "off")',
          })
          .default('127.0.0.1:7777'),
        // What one relay may cost the agent (src/nostr, docs/configuration.md "Relay budgets").
        max_buffered_events: wholeNumber(100, 1_000_000).default(10_000),
        max_buffered_bytes: wholeNumber(1_048_576, 1_073_741_824).default(33_554_432),
        max_event_bytes: wholeNumber(65_536, 16_777_216).default(262_144),
        max_frame_bytes: wholeNumber(65_536, 67_108_864).default(4_194_304),
        max_pages_per_pass: wholeNumber(1, 10_000).default(50),
        max_events_per_pass: wholeNumber(100, 10_000_000).default(20_000),
        // Loud trouble and read-back (docs/design.md, "Read-back"; "Relay trouble is loud").
        relay_trouble_seconds: wholeNumber(1, 86_400).default(30),
        read_back_interval_seconds: wholeNumber(0, 7 * 86_400).default(600),
        read_back_events: wholeNumber(1, 100_000).default(500),
        // Chain heads on the relays (docs/protocol.md, "Chain heads"): every N transitions and at stop; 0: at stop only.
        heads_every: wholeNumber(0, 1_000_000).default(50),
      })
      .strict()
      .prefault({}),
    lightning: z
      .object({
        backend: z.enum(BACKENDS, { error: `must be one of ${BACKENDS.join(', ')}` }).default('sandbox'),
        url: z.string().min(1).optional(),
        max_final_cltv_delta: wholeNumber(40, 2016).default(1001),
        auto_cancel_blocks: wholeNumber(0, 144).optional(),
      })
      .strict()
      .prefault({}),
    policy: z
      .object({
        min_amount_msat: msat(1n, MAX_MSAT).default(10_000n),
        max_amount_msat: msat(1n, MAX_MSAT).default(10_000_000_000n),
        fee_base_msat: msat(0n, MAX_MSAT).default(0n),
        fee_ppm: wholeNumber(0, 1_000_000).default(10_000),
        // The defaults fill the 24 h maximum hold exactly (docs/rules.md, "How long money may sit in a hold").
        claim_window_seconds: wholeNumber(60, 90 * 86_400).default(2 * 3600),
        work_window_seconds: wholeNumber(60, 90 * 86_400).default(12 * 3600),
        review_window_seconds: wholeNumber(60, 90 * 86_400).default(6 * 3600),
        dispute_window_seconds: wholeNumber(0, 90 * 86_400).default(4 * 3600),
        max_hold_seconds: wholeNumber(600, 90 * 86_400).default(24 * 3600),
        max_statement_length: wholeNumber(1, 8_192).default(4_000),
        custody_max_seconds: wholeNumber(3600, 90 * 86_400).default(7 * 86_400),
        safety_margin_blocks: wholeNumber(3, 144).default(16),
        invoice_expiry_seconds: wholeNumber(60, 7 * 86_400).default(3600),
        arbitrators: z.array(arbitratorEntrySchema).default([]),
        dispute_deadline_rule: z
          .enum(['refund', 'custody'], { error: 'must be "refund" or "custody"' })
          .default('refund'),
        max_payout_attempts: wholeNumber(1, 100).default(5),
        max_title_length: wholeNumber(1, 1000).default(200),
        rate_per_minute: wholeNumber(1, 100_000).default(DEFAULT_RATE_LIMIT.perMinute),
        rate_burst: wholeNumber(1, 100_000).default(DEFAULT_RATE_LIMIT.burst),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        enabled: z.boolean({ error: 'must be true or false' }).default(true),
        host: z.string().min(1, 'must name an address to listen on, e.g. "127.0.0.1"').default('127.0.0.1'),
        port: wholeNumber(0, 65_535).default(8080),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RawConfig = z.input<typeof configSchema>;

export interface AgentConfig {
  source: string; // where the file came from, for messages
  dataDir: string;
  keyFile: string;
  logLevel: string;
  /** JSON lines, pretty text, or auto (pretty on a terminal); `--pretty` sets "pretty". */
  logFormat: LogFormat;
  /** Worker threads that verify waiting events' signatures ahead (runAgent's verifyThreads); null: the default. */
  verifyThreads: number | null;
  /** Inbound events handled at once, only about different tasks (runAgent's intakeConcurrency). */
  intakeConcurrency: number;
  databaseUrl: string;
  preimageKeyFile: string;
  relaysFile: string;
  relays: string[] | null; // from NOSTR_RELAYS or the file; null = read relays_file
  publishQuorum: number | null;
  /** Where `start` runs its own relay, or null for none. */
  embeddedRelay: { host: string; port: number } | null;
  /** Per-relay budgets of the relay pool (RelayPoolOptions). */
  relayBudgets: RelayBudgets;
  /** Seconds without a read relay (or the write quorum) before the agent warns. */
  relayTroubleSeconds: number;
  /** How often each write relay is read back (0: never), and how many recent events a check covers. */
  readBack: { intervalSeconds: number; events: number };
  /** Transitions between two chain heads events (0: only at stop). */
  headsEvery: number;
  lightning: { backend: Backend; url: string | null };
  /** The operator's HTTP endpoint (/health, /metrics, /verify.html); port 0: any free port. */
  http: { enabled: boolean; host: string; port: number };
  /** The arbitrators the configuration names (seeded into the database at start; `escrow-agent arbitrators`). */
  arbitrators: ArbitratorEntry[];
  policy: Policy;
}

export interface RelayBudgets {
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  maxEventBytes: number;
  maxMessageBytes: number;
  maxPagesPerPass: number;
  maxEventsPerPass: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Environment variables that override the file, and the key each one sets. */
export const ENVIRONMENT_KEYS = {
  DATABASE_URL: 'database.url',
  NOSTR_RELAYS: 'nostr.relays',
  LIGHTNING_BACKEND: 'lightning.backend',
  LIGHTNING_URL: 'lightning.url',
  AGENT_DATA_DIR: 'agent.data_dir',
  AGENT_KEY_FILE: 'agent.key_file',
  LOG_LEVEL: 'agent.log_level',
  LOG_FORMAT: 'agent.log_format',
  EMBEDDED_RELAY: 'nostr.embedded_relay',
  HTTP_PORT: 'http.port',
} as const;

/**
 * Where each value came from, so that a problem names what to change (the environment variable, or the key and
 * the file) and relative paths resolve against the right folder: a path written in the configuration file against
 * the file's folder, one from the environment or a default against the working folder.
 */
export interface ConfigOrigins {
  /** Keys set by an environment variable ("nostr.relays" -> "NOSTR_RELAYS"). */
  environment: ReadonlyMap<string, string>;
  /** Keys the configuration file sets ("agent.data_dir"). */
  fileKeys: ReadonlySet<string>;
  /** The configuration file's folder, or null without a file. */
  fileDir: string | null;
  /** Problems found outside the keys (AGENT_SECRET_KEY), reported with the others. */
  problems: readonly string[];
}

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Reads the config file (if any) and the environment, and checks everything. Throws ConfigError. */
export function loadConfig(options: LoadConfigOptions = {}): AgentConfig {
  const layers = readLayers(options);
  return fromRaw(layers.raw, layers.source, layers.cwd, layers.origins);
}

/** The file and the environment merged into one raw table, with where each key came from. Throws ConfigError. */
function readLayers(options: LoadConfigOptions): {
  raw: Record<string, unknown>;
  source: string;
  cwd: string;
  origins: ConfigOrigins;
} {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.ESCROW_CONFIG;
  const path = resolve(cwd, explicit ?? 'escrow-agent.toml');
  let raw: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      raw = parseToml(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError([describeTomlError(path, error)]);
    }
  } else if (explicit) {
    throw new ConfigError([`config file ${path} does not exist`]);
  }
  const source = existsSync(path) ? path : 'defaults';
  const fileKeys = new Set<string>();
  for (const [section, table] of Object.entries(raw)) {
    if (table !== null && typeof table === 'object' && !Array.isArray(table)) {
      for (const name of Object.keys(table)) fileKeys.add(`${section}.${name}`);
    }
  }
  const environment = applyEnvironment(raw, env);
  return {
    raw,
    source,
    cwd,
    origins: {
      environment,
      fileKeys,
      fileDir: source === 'defaults' ? null : dirname(path),
      problems: secretKeyProblems(env),
    },
  };
}

/** Every key of the configuration file, "section.name", in the schema's order (walked from the zod schema). */
export function configKeys(): string[] {
  return Object.entries(configSchema.shape).flatMap(([section, table]) =>
    Object.keys(table.unwrap().shape).map((name) => `${section}.${name}`),
  );
}

/** One key of the effective configuration: its value (null when unset) and where it came from. */
export interface ConfigEntry {
  /** "section.name". */
  key: string;
  /** As the agent uses it: paths resolved, defaults that follow other keys filled in; null when not set. */
  value: unknown;
  /** `default`, `file (PATH)` or `env (VARIABLE)`. */
  source: string;
}

/**
 * loadConfig, and where each key's value came from (for `escrow-agent config print`). Checks exactly what
 * loadConfig checks and throws the same ConfigError. Values are not redacted here: the caller prints them through
 * redactSecrets.
 */
export function describeConfig(options: LoadConfigOptions = {}): {
  config: AgentConfig;
  entries: ConfigEntry[];
} {
  const layers = readLayers(options);
  const config = fromRaw(layers.raw, layers.source, layers.cwd, layers.origins);
  const parsed = configSchema.parse(layers.raw) as unknown as Record<string, Record<string, unknown>>;
  // Values the agent derives from the key (a resolved path) or from other keys (a default that follows data_dir).
  const effective: Record<string, unknown> = {
    'agent.data_dir': config.dataDir,
    'agent.key_file': config.keyFile,
    'database.url': config.databaseUrl,
    'database.preimage_key_file': config.preimageKeyFile,
    'nostr.relays_file': config.relaysFile,
    'lightning.auto_cancel_blocks': config.policy.backendAutoCancelBlocks,
  };
  const entries = configKeys().map((key) => {
    const [section, name] = key.split('.') as [string, string];
    const variable = layers.origins.environment.get(key);
    const source = variable
      ? `env (${variable})`
      : layers.origins.fileKeys.has(key)
        ? `file (${layers.source})`
        : 'default';
    const value = key in effective ? effective[key] : (parsed[section]?.[name] ?? null);
    return { key, value, source };
  });
  return { config, entries };
}

export function fromRaw(raw: unknown, source: string, cwd: string, origins?: ConfigOrigins): AgentConfig {
  const environment = origins?.environment ?? new Map<string, string>();
  /** " (the file)" or " (from VARIABLE)" after a problem with a key. */
  const whence = (key: string) => {
    const variable = environment.get(key);
    return variable ? `(${variable})` : `(${source})`;
  };
  const extra = origins?.problems ?? [];
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError([
      ...parsed.error.issues.map((issue) => {
        const key = issue.path.slice(0, 2).join('.') || '(top level)';
        const message =
          issue.code === 'unrecognized_keys'
            ? `unknown key(s) ${issue.keys.join(', ')}: check the spelling`
            : issue.message;
        const variable = environment.get(key);
        if (variable) {
          // nostr.relays: each relay must be ... (NOSTR_RELAYS entry 2: "http://x"), numbered from 1
          const index = issue.path[2];
          const value = valueAt(raw, issue.path);
          const shown = typeof value === 'string' ? JSON.stringify(value) : '';
          const where =
            typeof index === 'number'
              ? `${variable} entry ${index + 1}${shown ? `: ${shown}` : ''}`
              : `${variable}${shown ? `=${shown}` : ''}`;
          return `${key}: ${message} (${where})`;
        }
        return `${issue.path.join('.') || '(top level)'}: ${message} (${source})`;
      }),
      ...extra,
    ]);
  }
  const config = parsed.data;
  const backend = config.lightning.backend;
  const arbitrators: ArbitratorEntry[] = config.policy.arbitrators.map((entry) => ({
    pubkey: entry.pubkey,
    name: entry.name,
    feeBaseMsat: entry.fee_base_msat,
    feePpm: entry.fee_ppm,
    active: entry.active,
  }));
  const policy: Policy = {
    minAmountMsat: config.policy.min_amount_msat,
    maxAmountMsat: config.policy.max_amount_msat,
    fee: { baseMsat: config.policy.fee_base_msat, ppm: config.policy.fee_ppm },
    windows: {
      claimSeconds: config.policy.claim_window_seconds,
      workSeconds: config.policy.work_window_seconds,
      reviewSeconds: config.policy.review_window_seconds,
      disputeSeconds: config.policy.dispute_window_seconds,
    },
    safetyMarginBlocks: config.policy.safety_margin_blocks,
    backendAutoCancelBlocks: config.lightning.auto_cancel_blocks ?? AUTO_CANCEL_BLOCKS[backend],
    maxFinalCltvDelta: config.lightning.max_final_cltv_delta,
    invoiceExpirySeconds: config.policy.invoice_expiry_seconds,
    arbitrators: arbitrators.filter((entry) => entry.active).map((entry) => entry.pubkey),
    arbitratorProfiles: arbitrators
      .filter((entry) => entry.active)
      .map((entry) => ({
        pubkey: entry.pubkey,
        name: entry.name,
        feeBaseMsat: entry.feeBaseMsat,
        feePpm: entry.feePpm,
      })),
    disputeDeadlineRule: config.policy.dispute_deadline_rule,
    maxHoldSeconds: config.policy.max_hold_seconds,
    maxStatementLength: config.policy.max_statement_length,
    custodyMaxSeconds: config.policy.custody_max_seconds,
    maxPayoutAttempts: config.policy.max_payout_attempts,
    maxTitleLength: config.policy.max_title_length,
    rateLimit: { perMinute: config.policy.rate_per_minute, burst: config.policy.rate_burst },
  };
  const problems = [...policyProblems(policy).map((problem) => `${problem} (${source})`), ...extra];
  // LND may instead be given by LND_SOCKET / LND_CERT / LND_MACAROON (docs/lightning-lnd.md).
  if (backend === 'nwc' && !config.lightning.url) {
    problems.push(
      `lightning.url: the nwc backend needs a nostr+walletconnect:// URI (or set LIGHTNING_URL) (${source})`,
    );
  }
  if (config.database.url) {
    const problem = databaseUrlProblem(config.database.url);
    if (problem) problems.push(`database.url: ${problem} ${whence('database.url')}`);
  }
  if (config.nostr.max_event_bytes > config.nostr.max_frame_bytes) {
    problems.push(
      `nostr.max_event_bytes: ${config.nostr.max_event_bytes} is more than nostr.max_frame_bytes (${config.nostr.max_frame_bytes}); the socket would close before an oversized event could be dropped on its own: make max_frame_bytes the larger (${source})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // A path written in the file is relative to the file's folder; from the environment or a default, to the
  // working folder.
  const base = (key: string) =>
    origins?.fileDir && origins.fileKeys.has(key) && !environment.has(key) ? origins.fileDir : cwd;
  const dataDir = resolve(base('agent.data_dir'), config.agent.data_dir);
  return {
    source,
    dataDir,
    keyFile: config.agent.key_file
      ? resolve(base('agent.key_file'), config.agent.key_file)
      : resolve(dataDir, 'agent.key'),
    logLevel: config.agent.log_level,
    logFormat: config.agent.log_format,
    verifyThreads: config.agent.verify_threads ?? null,
    intakeConcurrency: config.agent.intake_concurrency,
    databaseUrl: config.database.url
      ? resolveSqlite(config.database.url, base('database.url'))
      : `sqlite:${resolve(dataDir, 'escrow.db')}`,
    preimageKeyFile: config.database.preimage_key_file
      ? resolve(base('database.preimage_key_file'), config.database.preimage_key_file)
      : resolve(dataDir, 'preimage.key'),
    relaysFile: resolve(base('nostr.relays_file'), config.nostr.relays_file),
    relays: config.nostr.relays ?? null,
    publishQuorum: config.nostr.publish_quorum ?? null,
    embeddedRelay: hostPort(config.nostr.embedded_relay),
    relayBudgets: {
      maxBufferedEvents: config.nostr.max_buffered_events,
      maxBufferedBytes: config.nostr.max_buffered_bytes,
      maxEventBytes: config.nostr.max_event_bytes,
      maxMessageBytes: config.nostr.max_frame_bytes,
      maxPagesPerPass: config.nostr.max_pages_per_pass,
      maxEventsPerPass: config.nostr.max_events_per_pass,
    },
    relayTroubleSeconds: config.nostr.relay_trouble_seconds,
    readBack: {
      intervalSeconds: config.nostr.read_back_interval_seconds,
      events: config.nostr.read_back_events,
    },
    headsEvery: config.nostr.heads_every,
    lightning: { backend, url: config.lightning.url ?? null },
    http: config.http,
    arbitrators,
    policy,
  };
}

function hostPort(value: string): { host: string; port: number } | null {
  if (value === 'off') return null;
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at), port: Number(value.slice(at + 1)) };
}

function validPort(text: string): boolean {
  const port = Number(text);
  return Number.isInteger(port) && port >= 1 && port <= 65_535;
}

/** A relative `sqlite:` path against the folder it is relative to; anything else as it is. */
function resolveSqlite(url: string, base: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const path = url.slice('sqlite:'.length);
  if (path === ':memory:' || path.startsWith('file:') || isAbsolute(path)) return url;
  return `sqlite:${resolve(base, path)}`;
}

/** What is wrong with a postgres:// URL that the pattern let through, or undefined. */
function databaseUrlProblem(url: string): string | undefined {
  if (!/^postgres(ql)?:\/\//.test(url)) return undefined;
  const authority = url.replace(/^postgres(ql)?:\/\//, '').split(/[/?#]/)[0] ?? '';
  if ((authority.match(/@/g)?.length ?? 0) > 1) {
    return 'the user name or password contains "@": percent-encode it as %40 (and ":" as %3A, "/" as %2F), so a password p@ss is written p%40ss';
  }
  try {
    new URL(url);
  } catch {
    return 'is not a valid URL: percent-encode the special characters of the user name and password (@ : / ? # as %40 %3A %2F %3F %23), so a password p@ss is written p%40ss';
  }
  return undefined;
}

/** AGENT_SECRET_KEY, when set, must be a key `start` can use; the value itself is never repeated. */
function secretKeyProblems(env: NodeJS.ProcessEnv): string[] {
  const text = env.AGENT_SECRET_KEY?.trim();
  if (!text) return [];
  let bytes: Uint8Array | undefined;
  if (HEX32_PATTERN.test(text)) bytes = Uint8Array.from(Buffer.from(text, 'hex'));
  else if (text.startsWith('nsec1')) {
    try {
      const decoded = decodeNip19(text as `nsec1${string}`);
      if (decoded.type === 'nsec') bytes = decoded.data;
    } catch {
      // reported below
    }
  }
  if (bytes) {
    try {
      getPublicKey(bytes);
      return [];
    } catch {
      // a 32-byte value that is not a secp256k1 secret key (zero, or past the curve order)
    }
  }
  return [
    'AGENT_SECRET_KEY is not a usable secret key (its value is not shown): set it to 64 lowercase hex characters or a valid nsec1... key, or unset it to use agent.key_file',
  ];
}

/** smol-toml's error keeps its line, column and the lines around it with a caret under the column. */
function describeTomlError(path: string, error: unknown): string {
  const { line, column, codeblock } = error as { line?: number; column?: number; codeblock?: string };
  const message = ((error as Error).message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
  const where =
    typeof line === 'number' && typeof column === 'number' ? ` at line ${line}, column ${column}` : '';
  const block =
    typeof codeblock === 'string' && codeblock.trim() !== ''
      ? `\n${codeblock
          .split('\n')
          .filter((text) => text.trim() !== '')
          .map((text) => `      ${text}`)
          .join('\n')}`
      : '';
  return `${path} is not valid TOML${where}: ${message}${block}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = raw;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/** Sets each key an environment variable gives; returns which key each variable set. */
function applyEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const set = new Map<string, string>();
  for (const [variable, key] of Object.entries(ENVIRONMENT_KEYS)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    set.set(key, variable);
    const [section, name] = key.split('.') as [string, string];
    raw[section] ??= {};
    const table = raw[section] as Record<string, unknown>;
    table[name] =
      variable === 'NOSTR_RELAYS'
        ? value
            .split(',')
            .map((url) => url.trim())
            .filter(Boolean)
        : variable === 'HTTP_PORT' && /^\d+$/.test(value.trim())
          ? Number(value.trim())
          : value;
  }
  return set;
}
