// The Lightning port's conformance suite on REAL LND (issue #17): the LND adapter against LND v0.21.6-beta on
// a btcd regtest chain (test/fakes/lnd-regtest.ts). The agent's backend is an LndBackend on the agent node;
// the payer and the worker are LndBackends on their nodes too (so the adapter's pay() is exercised as a payer
// as well), the worker's plain invoices made with `lightning`'s createInvoice. The backend's facts come from
// the network: LND cancels a held invoice invoices.holdexpirydelta (18) blocks before the HTLC expires, and
// the adapter accepts final CLTV deltas up to 2012 (the most an LND payer can route), and the payer, which
// opened its channel, pays the commitment fee of each HTLC in flight (its balance drops by that too). No case
// is skipped.
//
// Without the binaries (no Go to build them, or not built) the suite prints one SKIP line.
import { createInvoice } from 'lightning';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MAX_FINAL_CLTV_DELTA, LndBackend } from '../../../src/ldk/lnd/index.ts';
import {
  buildScriptBinDir,
  forwardingFeeMsat,
  HOLD_EXPIRY_DELTA,
  LndRegtest,
  lndBinDir,
  lndRegtestUnavailable,
} from '../../fakes/lnd-regtest.ts';
import { type ConformanceHarness, type ReceivingWallet, runConformanceSuite } from '../conformance.ts';

const SUITE = 'Lightning port conformance: LND adapter against real LND v0.21.6-beta on regtest';

async function startRealLndHarness(): Promise<ConformanceHarness> {
  const net = await LndRegtest.start();
  const agentConfig = net.adapterConfig('agent');
  let agent = await LndBackend.connect(agentConfig);
  const payer = await LndBackend.connect(net.adapterConfig('payer'));
  const workerBackend = await LndBackend.connect(net.adapterConfig('worker'));
  const worker: ReceivingWallet = {
    pay: (request) => workerBackend.pay(request),
    paymentStatus: (hash) => workerBackend.paymentStatus(hash),
    getInfo: () => workerBackend.getInfo(),
    createInvoice: async ({ amountMsat, description, expirySeconds }) => {
      const created = await createInvoice({
        lnd: net.node('worker').lnd,
        mtokens: amountMsat.toString(),
        description,
        expires_at: new Date(Date.now() + expirySeconds * 1000).toISOString(),
      });
      return {
        bolt11: created.request,
        paymentHash: created.id,
        expiresAt: Math.floor(Date.now() / 1000) + expirySeconds,
      };
    },
  };
  const htlcCommitFeeMsat = await net.htlcCommitFeeMsat('payer');
  return {
    get agent() {
      return agent;
    },
    payer,
    worker,
    mine: (blocks) => net.mine(blocks),
    // The agent's LND is killed (SIGKILL, as a crash) and started on its data; the agent reconnects.
    restart: async () => {
      agent.close();
      await net.restart('agent');
      agent = await LndBackend.connect(agentConfig);
    },
    forwardingFeeMsat,
    failBackBufferBlocks: HOLD_EXPIRY_DELTA,
    maxFinalCltvDelta: DEFAULT_MAX_FINAL_CLTV_DELTA,
    htlcCommitFeeMsat,
    close: async () => {
      agent.close();
      payer.close();
      workerBackend.close();
      await net.stop();
    },
  };
}

const unavailable = lndRegtestUnavailable();
if (unavailable === null) {
  runConformanceSuite('LND adapter against real LND v0.21.6-beta on regtest', startRealLndHarness);
} else {
  console.log(`SKIP ${SUITE}: ${unavailable}`);
  const skipped = suite(SUITE);
  skipped.skip('every conformance case', () => {});
  skipped('scripts/build-lnd.mjs builds into the folder this suite looks in', () => {
    assert.is(buildScriptBinDir(), lndBinDir());
  });
  skipped.run();
}
