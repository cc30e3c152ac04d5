// The Lightning port's conformance suite on REAL LND (issue #17): the LND adapter against LND v0.21.6-beta on
// a btcd regtest chain (test/fakes/lnd-regtest.ts). The agent's backend is an LndBackend on the agent node;
// the payer and the worker are LndBackends on their nodes too (so the adapter's pay() is exercised as a payer
// as well), the worker's plain invoices made with `lightning`'s createInvoice. The backend's facts come from
// the network: LND cancels a held invoice invoices.holdexpirydelta (18) blocks before the HTLC expires, and
// the adapter accepts final CLTV deltas up to 2012 (the most an LND payer can route), and the payer, which
// opened its channel, pays the commitment fee of each HTLC in flight (its balance drops by that too). No case
// is skipped.
//
// The agent's backend connects with a macaroon baked (lncli bakemacaroon) with exactly the permissions
// docs/lightning-lnd.md lists, so every call the port makes is checked against them; two more cases refuse a
// macaroon lacking any one of them, and a certificate that is not this LND's.
//
// Without the binaries (no Go to build them, or not built) the suite prints one SKIP line.

import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MAX_FINAL_CLTV_DELTA, LndBackend, LndConnectionError } from '../../../src/ldk/lnd/index.ts';
import { BAKE_MACAROON } from '../../../src/ldk/lnd/lnd-errors.ts';
import { thrown } from '../../fakes/ldk-wait.ts';
import {
  buildScriptBinDir,
  forwardingFeeMsat,
  HOLD_EXPIRY_DELTA,
  LndRegtest,
  lndBinDir,
  lndRegtestUnavailable,
} from '../../fakes/lnd-regtest.ts';
import { registerDeadlineCases } from '../conformance/deadline-cases.ts';
import { registerHoldCases } from '../conformance/hold-cases.ts';
import { registerIdempotencyCases } from '../conformance/idempotency-cases.ts';
import { registerPaymentCases } from '../conformance/payment-cases.ts';
import { registerRefusalCases } from '../conformance/refusal-cases.ts';
import { registerRestartCases } from '../conformance/restart-cases.ts';
import type { ConformanceHarness, ConformanceTest, HarnessAccess, ReceivingWallet } from '../conformance.ts';

const SUITE = 'Lightning port conformance: LND adapter against real LND v0.21.6-beta on regtest';

/** The permissions docs/lightning-lnd.md tells operators to bake (BAKE_MACAROON). */
const AGENT_PERMISSIONS = BAKE_MACAROON.split(' ').filter((word) => word.includes(':'));

type RealHarness = ConformanceHarness & { readonly net: LndRegtest };

async function startRealLndHarness(): Promise<RealHarness> {
  const net = await LndRegtest.start();
  // The agent's backend holds a macaroon with exactly the documented permissions, not admin.macaroon.
  const agentConfig = net.adapterConfig('agent', { macaroon: net.bakeMacaroon('agent', AGENT_PERMISSIONS) });
  let agent = await LndBackend.connect(agentConfig);
  const payer = await LndBackend.connect(net.adapterConfig('payer'));
  const workerBackend = await LndBackend.connect(net.adapterConfig('worker'));
  const worker: ReceivingWallet = {
    pay: (request) => workerBackend.pay(request),
    paymentStatus: (hash) => workerBackend.paymentStatus(hash),
    getInfo: () => workerBackend.getInfo(),
    createInvoice: net.plainInvoices('worker'),
  };
  const htlcCommitFeeMsat = await net.htlcCommitFeeMsat('payer');
  return {
    net,
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

const GROUPS = {
  Hold: registerHoldCases,
  Idempotency: registerIdempotencyCases,
  Refusal: registerRefusalCases,
  Payment: registerPaymentCases,
  Deadline: registerDeadlineCases,
  Restart: registerRestartCases,
};

/** The suite's groups as conformance.ts registers them, so a group added there cannot be missed here. */
function checkEveryGroupRuns(): void {
  const source = readFileSync(new URL('../conformance.ts', import.meta.url), 'utf8');
  const groups = [...source.matchAll(/register(\w+)Cases\(cases, access\)/g)].map((match) => match[1]);
  const missing = groups.filter((group) => !(group! in GROUPS));
  if (missing.length > 0) throw new Error(`real-conformance.test.ts does not run: ${missing.join(', ')}`);
}

const unavailable = lndRegtestUnavailable();
if (unavailable === null) {
  checkEveryGroupRuns();
  const cases = suite(SUITE) as ConformanceTest;
  let harness: RealHarness | null = null;
  const access: HarnessAccess = () => {
    if (!harness) throw new Error('the harness is not started');
    return harness;
  };
  cases.before(async () => {
    harness = await startRealLndHarness();
  });
  cases.after(async () => {
    await harness?.close();
  });
  for (const registerGroup of Object.values(GROUPS)) registerGroup(cases, access);

  // Connecting to real LND: the agent above runs on a macaroon baked with exactly the documented permissions;
  // these check that each one is needed and that a wrong certificate is named.
  cases('a macaroon lacking any one documented permission is refused at connect, naming it', async () => {
    const net = harness!.net;
    for (const missing of AGENT_PERMISSIONS) {
      const macaroon = net.bakeMacaroon(
        'agent',
        AGENT_PERMISSIONS.filter((permission) => permission !== missing),
      );
      const error = await thrown(() => LndBackend.connect(net.adapterConfig('agent', { macaroon })));
      assert.instance(error, LndConnectionError);
      assert.is((error as LndConnectionError).problem, 'permission', `${missing}: ${String(error)}`);
      assert.match(String(error), missing);
    }
  });

  cases("a certificate that is not this LND's is refused at connect, naming LND_CERT", async () => {
    const net = harness!.net;
    const error = await thrown(() =>
      LndBackend.connect(net.adapterConfig('agent', { cert: net.node('worker').cert, callTimeoutMs: 5000 })),
    );
    assert.instance(error, LndConnectionError);
    assert.is((error as LndConnectionError).problem, 'tls', String(error));
    assert.match(String(error), 'LND_CERT');
  });
  cases.run();
} else {
  console.log(`SKIP ${SUITE}: ${unavailable}`);
  const skipped = suite(SUITE);
  skipped.skip('every conformance case', () => {});
  skipped('scripts/build-lnd.mjs builds into the folder this suite looks in', () => {
    assert.is(buildScriptBinDir(), lndBinDir());
  });
  skipped.run();
}
