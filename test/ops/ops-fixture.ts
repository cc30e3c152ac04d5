// A data folder run as `escrow-agent start` runs it, from real parts, for the runbook commands' tests: the agent's
// folder (its lock, keys and SQLite database opened by openAgentStore), the LDK sandbox in <data_dir>/sandbox (the
// folder the command line's connectLightning starts it from), embedded relays on 127.0.0.1, runAgent with the
// configuration's policy, and the control socket start opens (startRunbookControl). The agent can be stopped (its
// lock released, the sandbox stopped as the process's end would stop it) so that the commands run on the stopped
// folder, and started again. The commands themselves run through the command line (src/cli/cli.ts main).
//
// The agent's reconcile round is an hour here, so a stuck state the test prepares stays stuck until a command acts
// (the real agent retries every 15 s). Two ways to prepare one, both wrapping the REAL node (no mock): a gate that
// makes settle/cancel fail as an unreachable node does and can drop the node's events (a missed hold_accepted), and
// test/fakes/crashing-backend.ts, which kills the agent at a call.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalizeEvent, type NostrEvent } from 'nostr-tools/pure';
import type { Relay } from 'nostr-tools/relay';
import { type AgentConfig, loadConfig } from '../../src/agent/config.ts';
import type { ControlServer } from '../../src/agent/control-socket.ts';
import { type LoadedIdentity, openAgentStore } from '../../src/agent/open-agent-store.ts';
import { loadRelayList } from '../../src/agent/relay-list.ts';
import { type RunningAgent, runAgent } from '../../src/agent/run-agent.ts';
import { readSecret } from '../../src/agent/secret-files.ts';
import { main } from '../../src/cli/cli.ts';
import { startRunbookControl } from '../../src/cli/commands/runbook.ts';
import { feeFor } from '../../src/domain/money.ts';
import { TASK_STATES } from '../../src/domain/types.ts';
import { LightningError } from '../../src/ldk/lightning-error.ts';
import type { CreatedHoldInvoice, HoldInvoiceBackend, PaymentResult } from '../../src/ldk/port.ts';
import { Sandbox } from '../../src/ldk/sandbox/sandbox.ts';
import { actionTemplate } from '../../src/protocol/build-action.ts';
import { buildListing } from '../../src/protocol/build-listing.ts';
import { KINDS, type WindowName } from '../../src/protocol/constants.ts';
import { type EmbeddedRelay, startEmbeddedRelay } from '../../src/relay/index.ts';
import { type EscrowStore, openStore } from '../../src/store/index.ts';
import { collect, type Person, person, tagValue } from '../fakes/agent-harness.ts';
import { type CrashPoint, crashingBackend } from '../fakes/crashing-backend.ts';
import { connectNostrTools } from '../fakes/relay.ts';

/** Fails settle / cancel / pay as an unreachable node does while `blocked` names them, and drops the node's
 * events (all but blocks) while `muted`: the agent then misses what the node did. Every other call is the node's. */
export interface Gate {
  blocked: Set<'settle' | 'cancel' | 'pay'>;
  muted: boolean;
}

function gated(real: HoldInvoiceBackend, gate: Gate): HoldInvoiceBackend {
  const unless = <T>(method: 'settle' | 'cancel' | 'pay', call: () => Promise<T>): Promise<T> =>
    gate.blocked.has(method)
      ? Promise.reject(new LightningError('NodeUnavailable', `simulated outage (${method})`))
      : call();
  return {
    createHoldInvoice: (request) => real.createHoldInvoice(request),
    settle: (preimage, hash) => unless('settle', () => real.settle(preimage, hash)),
    cancel: (hash) => unless('cancel', () => real.cancel(hash)),
    lookup: (hash) => real.lookup(hash),
    list: (state) => real.list(state),
    pay: (request) => unless('pay', () => real.pay(request)),
    paymentStatus: (hash) => real.paymentStatus(hash),
    getInfo: () => real.getInfo(),
    subscribe: (listener) =>
      real.subscribe((event) => {
        if (!gate.muted || event.type === 'block') listener(event);
      }),
  };
}

export interface FixtureRelay {
  url: string;
  /** Deletes everything the relay holds (its database), keeping its URL: a relay that lost its events. */
  wipe(): Promise<void>;
}

export interface CommandRun {
  code: number;
  out: string;
  err: string;
}

export class OpsFixture {
  readonly gate: Gate = { blocked: new Set(), muted: false };
  readonly poster: Person = person();
  readonly worker: Person = person();
  sandbox: Sandbox | null = null;
  store: EscrowStore | null = null;
  agent: RunningAgent | null = null;
  control: ControlServer | null = null;
  identity: LoadedIdentity | null = null;
  private client: Relay | null = null;
  /** Seconds added to the running agent's clock (advanceClock): time passes for it, and for what runs inside it. */
  private clockOffset = 0;
  private payments: Array<Promise<PaymentResult>> = [];

  private constructor(
    readonly dir: string,
    readonly config: AgentConfig,
    readonly env: Record<string, string>,
    readonly relays: FixtureRelay[],
    private readonly embedded: EmbeddedRelay[],
  ) {}

  static async create(options: { relays?: number } = {}): Promise<OpsFixture> {
    const dir = await mkdtemp(join(tmpdir(), 'escrow-ops-'));
    const embedded: EmbeddedRelay[] = [];
    const relays: FixtureRelay[] = [];
    for (let index = 0; index < (options.relays ?? 1); index++) {
      const dbPath = join(dir, `relay-${index}.sqlite`);
      embedded.push(await startEmbeddedRelay({ dbPath }));
      const at = index;
      relays.push({
        url: embedded[index]!.url,
        async wipe() {
          const port = embedded[at]!.port;
          await embedded[at]!.stop();
          for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
          embedded[at] = await startEmbeddedRelay({ dbPath, port });
        },
      });
    }
    const env = {
      AGENT_DATA_DIR: join(dir, 'data'),
      NOSTR_RELAYS: relays.map((relay) => relay.url).join(','),
      EMBEDDED_RELAY: 'off',
      LOG_LEVEL: 'warn',
      LIGHTNING_BACKEND: 'sandbox',
    };
    const config = loadConfig({ env, cwd: dir });
    return new OpsFixture(dir, config, env, relays, embedded);
  }

  get url(): string {
    return this.relays[0]!.url;
  }

  /** The sandbox nodes from <data_dir>/sandbox (mined only by the test). */
  async startSandbox(): Promise<Sandbox> {
    this.sandbox ??= await Sandbox.start({ directory: join(this.config.dataDir, 'sandbox') });
    return this.sandbox;
  }

  async stopSandbox(): Promise<void> {
    // The payer's payments end with the nodes; their promises are not the test's business any more.
    for (const payment of this.payments.splice(0)) payment.catch(() => undefined);
    await this.sandbox?.stop();
    this.sandbox = null;
  }

  /** The agent as `start` runs it (lock, keys, store, runAgent, control socket); `crash` kills it at a call. */
  async startAgent(options: { crash?: CrashPoint } = {}): Promise<{ crashed: Promise<void> | null }> {
    const sandbox = await this.startSandbox();
    this.clockOffset = 0; // a new agent process reads the real clock
    const opened = await openAgentStore(this.config, { agentKey: 'create' });
    this.store = opened.store;
    this.identity = opened.identity;
    let lightning = gated(sandbox.agent, this.gate);
    let crashed: Promise<void> | null = null;
    if (options.crash) {
      const crashing = crashingBackend(lightning, options.crash);
      lightning = crashing.backend;
      crashed = crashing.crashed;
    }
    const log = (await import('pino')).default({ level: 'silent' });
    this.agent = await runAgent({
      store: this.store,
      lightning,
      identity: opened.identity,
      policy: this.config.policy,
      arbitrators: this.config.arbitrators,
      relays: loadRelayList({ file: this.config.relaysFile, urls: this.config.relays }).relays,
      reconcileIntervalMs: 3_600_000,
      outboxIntervalMs: 100,
      outboxMaxBackoffSeconds: 1,
      rate: { perMinute: 60_000, burst: 10_000 },
      pool: { backoff: { initialMs: 100, maxMs: 500, jitter: 0.1 } },
      readBack: false,
      payTimeoutSeconds: 20,
      now: () => Math.floor(Date.now() / 1000) + this.clockOffset,
      log,
    });
    this.control = await startRunbookControl(this.config, this.agent, log);
    return { crashed };
  }

  /** Stops the agent as its process's end would: the control socket, the agent, the store (the lock goes). */
  async stopAgent(options: { sandbox?: boolean } = {}): Promise<void> {
    await this.control?.close();
    this.control = null;
    await this.agent?.stop();
    this.agent = null;
    await this.store?.close();
    this.store = null;
    if (options.sandbox !== false) await this.stopSandbox();
  }

  /** Reads the database: through the running agent's store, or opened for a moment (no lock) when it is stopped. */
  async read<T>(fn: (store: EscrowStore) => Promise<T>): Promise<T> {
    if (this.store) return fn(this.store);
    const preimageKey = readSecret(this.config.preimageKeyFile, 'preimage key');
    const store = await openStore({ url: this.config.databaseUrl, preimageKey });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  /** What a command may change (once a running agent is quiet): every task's state and version, every hold's and payout's state, the outbox. */
  /** Waits until the running agent's outbox has delivered everything to every relay (nothing pending). */
  async delivered(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.agent!.settle();
      if ((await this.store!.read((reader) => reader.outbox.pendingCount())) === 0) return;
      await sleep(100);
    }
    throw new Error('the outbox still has pending deliveries');
  }

  /** Moves the running agent's clock forward (relays and people keep real time). */
  advanceClock(seconds: number): void {
    this.clockOffset += seconds;
  }

  async snapshot(): Promise<string> {
    // A running agent first finishes what it is doing (its publisher empties the outbox of what is due).
    await this.agent?.settle();
    return this.read(async (store) =>
      store.read(async (reader) => {
        const tasks = await reader.tasks.listByState(TASK_STATES);
        const fundings = await reader.fundings.listByState(['open', 'accepted', 'settled', 'cancelled']);
        const payouts = [];
        for (const task of tasks) payouts.push(...(await reader.payouts.forTask(task.id)));
        const pending = await reader.outbox.due(Number.MAX_SAFE_INTEGER, 100_000);
        return JSON.stringify(
          {
            tasks: tasks.map((task) => `${task.id}:${task.state}@${task.version}`),
            fundings: fundings.map((funding) => `${funding.paymentHash}:${funding.state}`),
            payouts: payouts.map((payout) => `${payout.id}:${payout.state}`),
            pending: pending.map((delivery) => `${delivery.eventId}@${delivery.relay}`).sort(),
          },
          null,
          1,
        );
      }),
    );
  }

  async taskState(taskId: string): Promise<string | undefined> {
    return this.read(async (store) => (await store.read((reader) => reader.tasks.get(taskId)))?.state);
  }

  /** `escrow-agent ARGV…` on this folder (src/cli/cli.ts main with the folder's environment). */
  async cli(...argv: string[]): Promise<CommandRun> {
    const saved = { ...process.env };
    Object.assign(process.env, this.env);
    delete process.env.AGENT_SECRET_KEY;
    delete process.env.DATABASE_URL;
    const out: string[] = [];
    const err: string[] = [];
    try {
      const code = await main(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  }

  // ---- people acting on the relay ----

  private async relayClient(): Promise<Relay> {
    this.client ??= await connectNostrTools(this.url);
    return this.client;
  }

  async postTask(amountMsat: bigint, windows: Partial<Record<WindowName, number>> = {}): Promise<NostrEvent> {
    const template = buildListing({
      d: `task-${Math.random().toString(16).slice(2, 10)}`,
      title: 'Fix the stuck hold',
      amountMsat,
      agent: this.identity!.pubkey,
      windows,
      content: 'A task for the runbook tests.',
      createdAt: Math.floor(Date.now() / 1000),
    });
    const event = finalizeEvent(template, this.poster.secretKey);
    await (await this.relayClient()).publish(event);
    return event;
  }

  async act(by: Person, name: string, taskId: string, extra: { tags?: string[][]; content?: string } = {}) {
    const event = finalizeEvent(
      actionTemplate({
        name,
        taskId,
        agent: this.identity!.pubkey,
        createdAt: Math.floor(Date.now() / 1000),
        extraTags: extra.tags ?? [],
        content: extra.content ?? '',
      }),
      by.secretKey,
    );
    await (await this.relayClient()).publish(event);
    return event;
  }

  async agentEvents(taskId: string): Promise<NostrEvent[]> {
    const events = await collect(await this.relayClient(), {
      kinds: [KINDS.label],
      authors: [this.identity!.pubkey],
      '#e': [taskId],
    });
    return events.sort((a, b) => a.created_at - b.created_at);
  }

  /** Waits for the agent's transition of the task into `state`, on the relay. */
  async waitForState(taskId: string, state: string, timeoutMs = 30_000): Promise<NostrEvent> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = (await this.agentEvents(taskId)).find((event) =>
        event.tags.some((tag) => tag[0] === 'l' && tag[1] === state),
      );
      if (found) return found;
      await sleep(100);
    }
    const seen = (await this.agentEvents(taskId)).map(
      (event) => `${event.tags.find((tag) => tag[0] === 'l')?.[1]}: ${event.content.slice(0, 200)}`,
    );
    throw new Error(
      `task ${taskId.slice(0, 8)} never published "${state}" (store: ${await this.taskState(taskId)}; agent said: ${seen.join(' | ') || 'nothing'})`,
    );
  }

  /** Waits until the store has the task in `state` (a state the agent does not publish, or before it does). */
  async waitForStored(taskId: string, state: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.taskState(taskId)) === state) return;
      await sleep(50);
    }
    throw new Error(
      `task ${taskId.slice(0, 8)} never reached "${state}" (store: ${await this.taskState(taskId)})`,
    );
  }

  /** Pays the offer from the payer node (in the background: a hold stays in flight). */
  pay(offered: NostrEvent): Promise<PaymentResult> {
    const payment = this.sandbox!.payer.pay({
      bolt11: tagValue(offered, 'bolt11')!,
      maxFeeMsat: 10_000n,
      timeoutSeconds: 120,
    });
    payment.catch(() => undefined);
    this.payments.push(payment);
    return payment;
  }

  /** Posts a task and pays it; resolves once it is funded. */
  async fundTask(amountMsat: bigint, windows: Partial<Record<WindowName, number>> = {}) {
    const listing = await this.postTask(amountMsat, windows);
    const offered = await this.waitForState(listing.id, 'offered');
    const payment = this.pay(offered);
    await this.waitForState(listing.id, 'funded');
    return { listing, offered, payment };
  }

  /** The worker claims and submits an invoice of the worker node for amount - fee. */
  async submitWork(taskId: string, amountMsat: bigint): Promise<CreatedHoldInvoice> {
    await this.act(this.worker, 'claim', taskId);
    await this.waitForState(taskId, 'claimed');
    const invoice = await this.sandbox!.worker.createInvoice({
      amountMsat: amountMsat - this.feeFor(amountMsat),
      description: 'the work',
      expirySeconds: 3600,
    });
    await this.act(this.worker, 'submit', taskId, { tags: [['bolt11', invoice.bolt11]], content: 'done' });
    await this.waitForState(taskId, 'submitted');
    return invoice;
  }

  feeFor(amountMsat: bigint): bigint {
    return feeFor(amountMsat, this.config.policy.fee);
  }

  async stop(): Promise<void> {
    this.client?.close();
    await this.stopAgent().catch(() => undefined);
    await this.stopSandbox().catch(() => undefined);
    for (const relay of this.embedded) await relay.stop().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A command's report, for an assertion message. */
export function shown(run: CommandRun): string {
  return `exit ${run.code}\n${run.out}\n${run.err}`;
}
