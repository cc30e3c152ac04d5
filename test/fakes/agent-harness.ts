// A whole agent for end-to-end tests, from real parts: an embedded relay on 127.0.0.1, the LDK sandbox (three real
// LDK nodes), a SQLite file, and nostr-tools clients for the poster, the worker and an arbitrator.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalizeEvent, generateSecretKey, getPublicKey, type NostrEvent } from 'nostr-tools/pure';
import type { Relay } from 'nostr-tools/relay';
import { identityFrom } from '../../src/agent/identity.ts';
import { type RunAgentOptions, type RunningAgent, runAgent } from '../../src/agent/run-agent.ts';
import { feeFor } from '../../src/domain/money.ts';
import type { Policy } from '../../src/domain/types.ts';
import type { CreatedHoldInvoice, PaymentResult, PayRequest } from '../../src/ldk/port.ts';
import { Sandbox } from '../../src/ldk/sandbox/sandbox.ts';
import { actionTemplate } from '../../src/protocol/build-action.ts';
import { buildListing } from '../../src/protocol/build-listing.ts';
import { KINDS, type WindowName } from '../../src/protocol/constants.ts';
import { type EscrowStore, openStore } from '../../src/store/index.ts';
import { connectNostrTools, startTestRelay, type TestRelay } from './relay.ts';

export interface Person {
  secretKey: Uint8Array;
  pubkey: string;
}

export function person(): Person {
  const secretKey = generateSecretKey();
  return { secretKey, pubkey: getPublicKey(secretKey) };
}

export function harnessPolicy(overrides: Partial<Policy> = {}): Policy {
  return {
    minAmountMsat: 10_000n,
    maxAmountMsat: 1_000_000_000n,
    fee: { baseMsat: 1000n, ppm: 10_000 },
    windows: { claimSeconds: 3600, workSeconds: 3600, reviewSeconds: 3600, disputeSeconds: 3600 },
    safetyMarginBlocks: 6,
    backendAutoCancelBlocks: 21,
    maxFinalCltvDelta: 1001,
    invoiceExpirySeconds: 3600,
    arbitrators: [],
    disputeDeadlineRule: 'refund',
    maxHoldSeconds: 24 * 3600,
    maxStatementLength: 4000,
    custodyMaxSeconds: 7 * 86_400,
    maxPayoutAttempts: 3,
    maxTitleLength: 200,
    ...overrides,
  };
}

export interface Harness {
  relay: TestRelay;
  relays: TestRelay[];
  /** Publishes a signed event to one relay only (by index), over a fresh connection. */
  publishTo(index: number, event: NostrEvent): Promise<string>;
  sandbox: Sandbox;
  store: EscrowStore;
  /** The store's URL (`sqlite:<file>` unless a databaseUrl was given). */
  storeUrl: string;
  agent: RunningAgent;
  agentKey: Person;
  client: Relay;
  poster: Person;
  worker: Person;
  arbitrator: Person;
  /** Signs and publishes a poster's listing tagging the agent; returns the signed event. */
  postTask(input: {
    amountMsat: bigint;
    title?: string;
    by?: Person;
    windows?: Record<string, number>;
    /** Tags added as they are after the built listing's own (e.g. arbitrator p tags and a threshold), unchecked. */
    extraTags?: string[][];
  }): Promise<NostrEvent>;
  /** Signs and publishes an action (kind 1985 label) on a task. */
  act(
    by: Person,
    name: string,
    taskId: string,
    extra?: { tags?: string[][]; content?: string },
  ): Promise<NostrEvent>;
  publish(event: NostrEvent): Promise<string>;
  /** Waits for the agent's transition of a task into `state`, from the relay. */
  waitForState(taskId: string, state: string, timeoutMs?: number): Promise<NostrEvent>;
  /** Posts a task, pays its hold invoice from the payer node (in the background) and waits until it is funded. */
  fundTask(amountMsat: bigint): Promise<{
    listing: NostrEvent;
    offered: NostrEvent;
    funded: NostrEvent;
    payment: Promise<PaymentResult>;
  }>;
  /** The worker claims and submits with an invoice from the worker node for amount - fee; waits for `submitted`. */
  submitWork(taskId: string, amountMsat: bigint): Promise<CreatedHoldInvoice>;
  /** The agent's fee for an amount, under the harness policy. */
  feeFor(amountMsat: bigint): bigint;
  /** Every agent event about a task, oldest first, from the relay. */
  agentEvents(taskId: string): Promise<NostrEvent[]>;
  /** Moves the agent's clock forward (the relay and clients keep real time). */
  advanceClock(seconds: number): void;
  restartAgent(options?: Partial<RunAgentOptions>): Promise<void>;
  /** A second agent process on the same database, node, key and relays (a replica); stopped by stop(). */
  startReplica(): Promise<RunningAgent>;
  stopAgent(): Promise<void>;
  startAgent(options?: Partial<RunAgentOptions>): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(
  options: {
    policy?: Partial<Policy>;
    agent?: Partial<RunAgentOptions>;
    relays?: number;
    /** The harness's relays on worker threads of their own, as `escrow-agent start` runs its embedded relay. */
    relayThreads?: boolean;
    /** More relays for the agent only (e.g. a hostile relay), after the harness's own; the clients never use them. */
    extraRelays?: Array<{ url: string; read?: boolean; write?: boolean }>;
    /** A database to use instead of a fresh SQLite file (e.g. a PostgreSQL test database). */
    databaseUrl?: string;
    /**
     * Who pays the holds and makes the payout invoices, instead of the sandbox's payer and worker nodes (e.g.
     * real LND nodes, with the agent's own backend given as agent.lightning).
     */
    wallets?: {
      payer: { pay(request: PayRequest): Promise<PaymentResult> };
      worker: {
        createInvoice(request: {
          amountMsat: bigint;
          description: string;
          expirySeconds: number;
        }): Promise<CreatedHoldInvoice>;
      };
    };
    /** The store's preimage key (random by default), for an agent run in another process on the same store. */
    preimageKey?: Buffer;
  } = {},
): Promise<Harness> {
  const relays: TestRelay[] = [];
  for (let index = 0; index < (options.relays ?? 1); index++)
    relays.push(await startTestRelay(options.relayThreads ? { thread: true } : {}));
  const relay = relays[0]!;
  const folder = await mkdtemp(join(tmpdir(), 'escrow-e2e-'));
  const sandbox = await Sandbox.start({ directory: join(folder, 'sandbox') });
  const preimageKey = options.preimageKey ?? randomBytes(32);
  const storeUrl = options.databaseUrl ?? `sqlite:${join(folder, 'escrow.db')}`;
  let store = await openStore({ url: storeUrl, preimageKey });
  const agentKey = person();
  const policy = harnessPolicy(options.policy);
  let clockOffset = 0;
  const now = () => Math.floor(Date.now() / 1000) + clockOffset;
  const agentOptions = (extra: Partial<RunAgentOptions> = {}): RunAgentOptions => ({
    store,
    lightning: sandbox.agent,
    identity: identityFrom(agentKey.secretKey),
    policy,
    relays: [
      ...relays.map((one) => ({ url: one.url, read: true, write: true })),
      ...(options.extraRelays ?? []).map((one) => ({
        url: one.url,
        read: one.read ?? true,
        write: one.write ?? true,
      })),
    ],
    reconcileIntervalMs: 300,
    outboxIntervalMs: 100,
    outboxMaxBackoffSeconds: 1,
    // Tests and benches act much faster than people: the per-pubkey rate gate is tested on its own (intake.test.ts).
    rate: { perMinute: 60_000, burst: 10_000 },
    pool: { backoff: { initialMs: 100, maxMs: 500, jitter: 0.1 } },
    payTimeoutSeconds: 20,
    now,
    ...options.agent,
    ...extra,
  });
  let agent: RunningAgent | null = await runAgent(agentOptions());
  const replicas: Array<{ agent: RunningAgent; store: EscrowStore }> = [];
  const client = await connectNostrTools(relay.url);

  const harness: Harness = {
    relay,
    relays,
    storeUrl,
    async publishTo(index, event) {
      const other = await connectNostrTools(relays[index]!.url);
      try {
        return await other.publish(event);
      } finally {
        other.close();
      }
    },
    sandbox,
    store,
    get agent() {
      if (!agent) throw new Error('the agent is stopped');
      return agent;
    },
    agentKey,
    client,
    poster: person(),
    worker: person(),
    arbitrator: person(),
    async publish(event) {
      return client.publish(event);
    },
    async postTask({ amountMsat, title = 'Write a haiku about escrow', by, windows = {}, extraTags = [] }) {
      const author = by ?? harness.poster;
      const template = buildListing({
        d: `task-${randomBytes(4).toString('hex')}`,
        title,
        amountMsat,
        agent: agentKey.pubkey,
        windows: windows as Partial<Record<WindowName, number>>,
        content: 'Five, seven, five syllables.',
        createdAt: Math.floor(Date.now() / 1000),
      });
      const event = finalizeEvent(
        { ...template, tags: [...template.tags, ...extraTags.map((tag) => [...tag])] },
        author.secretKey,
      );
      await client.publish(event);
      return event;
    },
    async act(by, name, taskId, extra = {}) {
      // Unchecked on purpose: tests also send actions the agent must refuse.
      const event = finalizeEvent(
        actionTemplate({
          name,
          taskId,
          agent: agentKey.pubkey,
          createdAt: Math.floor(Date.now() / 1000),
          extraTags: extra.tags ?? [],
          content: extra.content ?? '',
        }),
        by.secretKey,
      );
      await client.publish(event);
      return event;
    },
    async fundTask(amountMsat) {
      const listing = await harness.postTask({ amountMsat });
      const offered = await harness.waitForState(listing.id, 'offered');
      const payment = (options.wallets?.payer ?? sandbox.payer).pay({
        bolt11: tagValue(offered, 'bolt11')!,
        maxFeeMsat: 10_000n,
        timeoutSeconds: 120,
      });
      const funded = await harness.waitForState(listing.id, 'funded');
      return { listing, offered, funded, payment };
    },
    async submitWork(taskId, amountMsat) {
      await harness.act(harness.worker, 'claim', taskId);
      await harness.waitForState(taskId, 'claimed');
      const invoice = await (options.wallets?.worker ?? sandbox.worker).createInvoice({
        amountMsat: amountMsat - harness.feeFor(amountMsat),
        description: 'the work',
        expirySeconds: 3600,
      });
      await harness.act(harness.worker, 'submit', taskId, {
        tags: [['bolt11', invoice.bolt11]],
        content: 'done',
      });
      await harness.waitForState(taskId, 'submitted');
      return invoice;
    },
    feeFor: (amountMsat) => feeFor(amountMsat, policy.fee),
    async agentEvents(taskId) {
      const events = await collect(client, {
        kinds: [KINDS.label],
        authors: [agentKey.pubkey],
        '#e': [taskId],
      });
      return events.sort((a, b) => a.created_at - b.created_at);
    },
    async waitForState(taskId, state, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const events = await harness.agentEvents(taskId);
        const found = events.find((event) => event.tags.some((tag) => tag[0] === 'l' && tag[1] === state));
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const task = await store.read((reader) => reader.tasks.get(taskId));
      throw new Error(
        `task ${taskId.slice(0, 8)} never published "${state}" (store says ${task?.state ?? 'unknown'})`,
      );
    },
    advanceClock(seconds) {
      clockOffset += seconds;
    },
    async startReplica() {
      const replicaStore = await openStore({ url: storeUrl, preimageKey });
      const replica = await runAgent({ ...agentOptions(), store: replicaStore });
      replicas.push({ agent: replica, store: replicaStore });
      return replica;
    },
    async stopAgent() {
      await agent?.stop();
      agent = null;
    },
    async startAgent(extra) {
      store = await openStore({ url: storeUrl, preimageKey });
      harness.store = store;
      agent = await runAgent(agentOptions(extra));
    },
    async restartAgent(extra) {
      await harness.stopAgent();
      await store.close();
      await harness.startAgent(extra);
    },
    async stop() {
      client.close();
      for (const replica of replicas) {
        await replica.agent.stop();
        await replica.store.close();
      }
      await agent?.stop();
      await store.close();
      await sandbox.stop();
      for (const one of relays) await one.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Every stored event matching the filter (until EOSE). */
export function collect(client: Relay, filter: Record<string, unknown>): Promise<NostrEvent[]> {
  return new Promise((resolve) => {
    const events: NostrEvent[] = [];
    const sub = client.subscribe([filter as never], {
      onevent: (event) => events.push(event),
      oneose: () => {
        sub.close();
        resolve(events);
      },
    });
  });
}

export function tagValue(event: NostrEvent, name: string): string | undefined {
  return event.tags.find((tag) => tag[0] === name)?.[1];
}
