// The agent in a process of its own, on a real LND (test/fakes/lnd-regtest.ts), for the SIGKILL case of
// test/ldk/lnd/real-agent.test.ts: the same options as agent-harness.ts gives an agent, its backend an
// LndBackend whose settle() kills this process with SIGKILL right after LND settled the hold, before the agent
// could record it. Configured by one JSON argument (see ChildConfig); prints "ready" once the agent runs.
import { identityFrom } from '../../src/agent/identity.ts';
import { runAgent } from '../../src/agent/run-agent.ts';
import { LndBackend, type LndConfig } from '../../src/ldk/lnd/index.ts';
import type { HoldInvoiceBackend } from '../../src/ldk/port.ts';
import { openStore } from '../../src/store/index.ts';
import { harnessPolicy } from './agent-harness.ts';

export interface ChildConfig {
  storeUrl: string;
  preimageKeyHex: string;
  agentSecretHex: string;
  relayUrl: string;
  lnd: LndConfig;
  backendAutoCancelBlocks: number;
  payTimeoutSeconds: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const real = await LndBackend.connect(config.lnd);
const killedMidSettle: HoldInvoiceBackend = {
  createHoldInvoice: (request) => real.createHoldInvoice(request),
  settle: async (preimage, hash) => {
    await real.settle(preimage, hash);
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {});
  },
  cancel: (hash) => real.cancel(hash),
  lookup: (hash) => real.lookup(hash),
  list: (state) => real.list(state),
  pay: (request) => real.pay(request),
  paymentStatus: (hash) => real.paymentStatus(hash),
  getInfo: () => real.getInfo(),
  subscribe: (listener) => real.subscribe(listener),
};
const store = await openStore({
  url: config.storeUrl,
  preimageKey: Buffer.from(config.preimageKeyHex, 'hex'),
});
await runAgent({
  store,
  lightning: killedMidSettle,
  identity: identityFrom(Uint8Array.from(Buffer.from(config.agentSecretHex, 'hex'))),
  policy: harnessPolicy({ backendAutoCancelBlocks: config.backendAutoCancelBlocks }),
  relays: [{ url: config.relayUrl, read: true, write: true }],
  reconcileIntervalMs: 300,
  outboxIntervalMs: 100,
  outboxMaxBackoffSeconds: 1,
  rate: { perMinute: 60_000, burst: 10_000 },
  pool: { backoff: { initialMs: 100, maxMs: 500, jitter: 0.1 } },
  payTimeoutSeconds: config.payTimeoutSeconds,
});
console.log('ready');
