// The runbook commands (docs/runbooks.md): `holds stuck`, `settle-stuck`, `timeout-expired`, `sync-lightning`,
// `outbox republish`, `verify-events`. Each is an operation of src/ops, run where the data is:
//   - the agent runs (it holds the data folder's lock): the operation is sent to its control socket
//     (<data_dir>/control.sock) and runs inside it, with its engine, its outbox and its relays;
//   - the agent is stopped: the command opens the folder as the agent does (its lock, its keys, its database),
//     connects the Lightning node only if the operation asks it something (on the sandbox backend this starts the
//     sandbox nodes from the folder), runs the operation here with an engine of its own, and closes it all. What the
//     engine signs goes to the outbox, published when the agent starts.
// The first line says which ran. A dry run by default; --execute acts (settle-stuck, timeout-expired,
// sync-lightning, outbox republish); --json prints one document. Exit 0 nothing wrong or needed, 1 something needs
// the operator, 2 bad input (nothing changed).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import type { AgentConfig } from '../../agent/config.ts';
import { type ConnectedLightning, connectLightning } from '../../agent/connect-lightning.ts';
import {
  CONTROL_SOCKET_FILE,
  type ControlServer,
  ControlSocketError,
  callControlSocket,
  startControlSocket,
} from '../../agent/control-socket.ts';
import { DataFolderInUseError } from '../../agent/data-folder-lock.ts';
import { openAgentStore } from '../../agent/open-agent-store.ts';
import { loggerOptions } from '../../agent/redact.ts';
import { loadRelayList } from '../../agent/relay-list.ts';
import type { RunningAgent } from '../../agent/run-agent.ts';
import type { HoldInvoiceBackend } from '../../ldk/port.ts';
import {
  OPERATION_ARGS,
  OPERATIONS,
  type OpsDeps,
  OpsInputError,
  type OpsReport,
  type RelayReader,
  runningOpsDeps,
} from '../../ops/index.ts';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { fetchAll } from '../relay-fetch.ts';

/** Each command: its operation, how it is written, and its usage. */
const COMMANDS = {
  'holds-stuck': { name: 'holds stuck', usage: 'escrow-agent holds stuck [--older-than SECONDS] [--json]' },
  'settle-stuck': { name: 'settle-stuck', usage: 'escrow-agent settle-stuck [--execute] [--json]' },
  'timeout-expired': { name: 'timeout-expired', usage: 'escrow-agent timeout-expired [--execute] [--json]' },
  'sync-lightning': { name: 'sync-lightning', usage: 'escrow-agent sync-lightning [--execute] [--json]' },
  'outbox-republish': {
    name: 'outbox republish',
    usage: 'escrow-agent outbox republish [--relay URL] [--since 1h|UNIX] [--execute] [--json]',
  },
  'verify-events': {
    name: 'verify-events',
    usage: 'escrow-agent verify-events [--since 1h|UNIX] [--relay URL] [--json]',
  },
  pause: { name: 'pause', usage: 'escrow-agent pause [--reason TEXT] [--execute] [--json]' },
  resume: { name: 'resume', usage: 'escrow-agent resume [--execute] [--json]' },
  'verify-db': { name: 'verify-db', usage: 'escrow-agent verify-db' },
} as const;
type OperationName = keyof typeof COMMANDS;

/** What a test hands in instead of the configured parts. */
export interface RunbookIo {
  lightning?: HoldInvoiceBackend;
  readRelay?: RelayReader;
}

export async function holdsCommand(config: AgentConfig, output: Output, args: string[]): Promise<number> {
  if (args[0] !== 'stuck') {
    throw new CliError(
      `holds: ${args[0] === undefined ? 'say which' : `unknown subcommand "${args[0]}"`}: usage: ${COMMANDS['holds-stuck'].usage}`,
    );
  }
  return runRunbook(config, output, 'holds-stuck', args.slice(1));
}

export async function outboxCommand(config: AgentConfig, output: Output, args: string[]): Promise<number> {
  if (args[0] !== 'republish') {
    throw new CliError(
      `outbox: ${args[0] === undefined ? 'say which' : `unknown subcommand "${args[0]}"`}: usage: ${COMMANDS['outbox-republish'].usage}`,
    );
  }
  return runRunbook(config, output, 'outbox-republish', args.slice(1));
}

export const settleStuckCommand = (config: AgentConfig, output: Output, args: string[]) =>
  runRunbook(config, output, 'settle-stuck', args);
export const timeoutExpiredCommand = (config: AgentConfig, output: Output, args: string[]) =>
  runRunbook(config, output, 'timeout-expired', args);
export const syncLightningCommand = (config: AgentConfig, output: Output, args: string[]) =>
  runRunbook(config, output, 'sync-lightning', args);
export const verifyEventsCommand = (config: AgentConfig, output: Output, args: string[]) =>
  runRunbook(config, output, 'verify-events', args);
export const pauseCommand = (config: AgentConfig, output: Output, args: string[]) =>
  runRunbook(config, output, 'pause', args);
export const resumeCommand = (config: AgentConfig, output: Output, args: string[]) =>
  runRunbook(config, output, 'resume', args);

/** Parses the flags, runs the operation where the data is (see the top of this file), prints its report. */
export async function runRunbook(
  config: AgentConfig,
  output: Output,
  operation: OperationName,
  argv: string[],
  io: RunbookIo = {},
): Promise<number> {
  const { name, usage } = COMMANDS[operation];
  const { args, json } = parseFlags(name, usage, argv);
  try {
    OPERATION_ARGS[operation]?.(args, Math.floor(Date.now() / 1000));
  } catch (error) {
    if (error instanceof OpsInputError) throw new CliError(`${error.message}\nusage: ${usage}`);
    throw error;
  }
  const ran = await runWhereTheDataIs(config, operation, args, io);
  const { report } = ran;
  if (json) {
    output.out(
      JSON.stringify(
        {
          command: name,
          mode: ran.mode,
          pid: ran.pid,
          folder: config.dataDir,
          executed: report.executed,
          changed: report.changed,
          exitCode: report.exitCode,
          result: report.json,
        },
        (_, value) => (typeof value === 'bigint' ? value.toString() : value),
        2,
      ),
    );
  } else {
    output.out(
      `${name}: ${ran.mode === 'running' ? `through the running agent (pid ${ran.pid ?? 'unknown'})` : `on the stopped agent's folder ${config.dataDir}`}`,
    );
    for (const line of report.lines) output.out(line);
  }
  return report.exitCode;
}

function parseFlags(
  name: string,
  usage: string,
  argv: string[],
): { args: Record<string, unknown>; json: boolean } {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        execute: { type: 'boolean' },
        'older-than': { type: 'string' },
        since: { type: 'string' },
        relay: { type: 'string', multiple: true },
        reason: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new CliError(`${name}: ${(error as Error).message}\nusage: ${usage}`);
  }
  const relays = values.relay as string[] | undefined;
  if (relays && relays.length > 1) {
    throw new CliError(
      `${name}: give --relay once (one relay), or leave it out for every write relay\nusage: ${usage}`,
    );
  }
  const args: Record<string, unknown> = {};
  if (values.execute) args.execute = true;
  if (values['older-than'] !== undefined) args.olderThan = values['older-than'];
  if (values.since !== undefined) args.since = values.since;
  if (relays?.[0] !== undefined) args.relay = relays[0];
  if (values.reason !== undefined) args.reason = values.reason;
  return { args, json: values.json === true };
}

interface Ran {
  report: OpsReport;
  mode: 'running' | 'stopped';
  pid: number | null;
}

async function runWhereTheDataIs(
  config: AgentConfig,
  operation: OperationName,
  args: Record<string, unknown>,
  io: RunbookIo,
): Promise<Ran> {
  const { name, usage } = COMMANDS[operation];
  let opened: Awaited<ReturnType<typeof openAgentStore>>;
  try {
    opened = await openAgentStore(config);
  } catch (error) {
    if (!(error instanceof DataFolderInUseError)) throw error;
    return {
      report: await throughSocket(config, operation, args, error.pid),
      mode: 'running',
      pid: error.pid,
    };
  }
  const { store, identity } = opened;
  const log = operatorLog(config.logLevel);
  const lightning = io.lightning
    ? { backend: io.lightning, close: async () => {} }
    : lazyLightning(config, log);
  try {
    if (identity === null) {
      throw new CliError(
        `${name}: no agent key at ${config.keyFile} (nor AGENT_SECRET_KEY): the operations sign as the agent; restore its key file`,
      );
    }
    const writeRelays = loadRelayList({ file: config.relaysFile, urls: config.relays })
      .relays.filter((relay) => relay.write)
      .map((relay) => relay.url);
    const deps: OpsDeps = {
      store,
      lightning: lightning.backend,
      now: () => Math.floor(Date.now() / 1000),
      height: () => 0,
      log,
      running: null,
      stopped: { identity, policy: config.policy, writeRelays },
      readRelay: io.readRelay ?? relayReader(),
    };
    try {
      return { report: await OPERATIONS[operation]!(deps, args), mode: 'stopped', pid: null };
    } catch (error) {
      if (error instanceof OpsInputError) throw new CliError(`${error.message}\nusage: ${usage}`);
      throw error;
    }
  } finally {
    await lightning.close().catch((error) => log.error({ err: error }, 'closing the Lightning node failed'));
    await store.close();
  }
}

async function throughSocket(
  config: AgentConfig,
  operation: OperationName,
  args: Record<string, unknown>,
  pid: number | null,
): Promise<OpsReport> {
  const { name, usage } = COMMANDS[operation];
  const path = join(config.dataDir, CONTROL_SOCKET_FILE);
  try {
    return (await callControlSocket(path, operation, args)) as OpsReport;
  } catch (error) {
    if (!(error instanceof ControlSocketError)) throw error;
    if (error.badInput) throw new CliError(`${error.message}\nusage: ${usage}`);
    if (error.denied) throw new CliError(`${name}: ${error.message}`);
    if (error.unreachable) {
      throw new CliError(
        `${name}: ${config.dataDir} is locked by pid ${pid ?? 'unknown'}, and nothing answers on its control socket ${path}: an agent that is still starting answers in a moment (run this again); another command (migrate, verify-db, custody) holds the lock until it ends; an agent started before the control socket existed must be stopped first (then this runs on the stopped folder)`,
      );
    }
    throw new Error(
      `${name}: the running agent (pid ${pid ?? 'unknown'}) could not run it: ${error.message}`,
    );
  }
}

/**
 * The configured node, connected on its first call (verify-events and outbox republish never call it, so they start
 * no sandbox and reach no remote node).
 */
function lazyLightning(
  config: AgentConfig,
  log: Logger,
): { backend: HoldInvoiceBackend; close(): Promise<void> } {
  let connecting: Promise<ConnectedLightning> | null = null;
  const node = () => {
    connecting ??= connectLightning(config, log);
    return connecting.then((connected) => connected.backend);
  };
  const backend: HoldInvoiceBackend = {
    createHoldInvoice: async (request) => (await node()).createHoldInvoice(request),
    settle: async (preimage, hash) => (await node()).settle(preimage, hash),
    cancel: async (hash) => (await node()).cancel(hash),
    lookup: async (hash) => (await node()).lookup(hash),
    list: async (state) => (await node()).list(state),
    pay: async (request) => (await node()).pay(request),
    paymentStatus: async (hash) => (await node()).paymentStatus(hash),
    getInfo: async () => (await node()).getInfo(),
    subscribe: () => {
      throw new Error('the runbook commands do not subscribe to node events');
    },
  };
  return {
    backend,
    async close() {
      const connected = await connecting?.catch(() => null);
      await connected?.close();
    },
  };
}

/** The engine's warnings and errors, on stderr (the report is on stdout); debug with LOG_LEVEL=debug. */
function operatorLog(level: string): Logger {
  const wanted = level === 'debug' || level === 'trace' ? level : 'warn';
  return pino(loggerOptions(wanted), pino.destination(2));
}

/** A relay read with fetchAll (verified events, bounded), one relay at a time. */
export function relayReader(timeoutMs = 10_000): RelayReader {
  return async (relay, filter) => {
    const result = await fetchAll([relay], [filter], { timeoutMs });
    const state = result.perRelay.get(relay);
    if (!state || state.failed !== undefined) return { ok: false, reason: state?.failed ?? 'not read' };
    return { ok: true, events: result.events };
  };
}

/**
 * The running agent's control socket (`escrow-agent start` opens it after runAgent): every operation of src/ops,
 * run with the agent's own engine. Null, with a warning, when the socket cannot be made (the runbook commands then
 * need the agent stopped).
 */
export async function startRunbookControl(
  config: AgentConfig,
  agent: RunningAgent,
  log: Logger,
): Promise<ControlServer | null> {
  const deps = runningOpsDeps(agent, relayReader());
  const handlers = Object.fromEntries(
    Object.entries(OPERATIONS).map(([operation, run]) => [
      operation,
      (args: Record<string, unknown>) => run(deps, args),
    ]),
  );
  const path = join(config.dataDir, CONTROL_SOCKET_FILE);
  try {
    return await startControlSocket(path, handlers, {
      log,
      isBadInput: (error) => error instanceof OpsInputError,
    });
  } catch (error) {
    log.warn(
      { err: error, path },
      'no control socket: the runbook commands (holds stuck, settle-stuck, …) need the agent stopped',
    );
    return null;
  }
}
