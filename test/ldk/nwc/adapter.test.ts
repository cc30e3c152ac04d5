// What the NWC adapter adds to the conformance suite: its start-up checks, notifications as hints (a dropped
// hold_invoice_accepted is made up for by polling), answers it must not believe (wrongly encrypted, malformed,
// forged, for another request), the wallet service's refusal of unknown keys and forged requests, a plain
// NIP-47 wallet (NIP-04 only, no extension fields), pay outcomes that are never 'failed' unless the wallet said
// so, and a relay restart. Real relay on 127.0.0.1 (behind the fault proxy for the client side), real LDK nodes.
import * as nip44 from 'nostr-tools/nip44';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isLightningError } from '../../../src/ldk/lightning-error.ts';
import { NwcBackend, type NwcBackendOptions, NwcStartupError } from '../../../src/ldk/nwc/index.ts';
import { Nip47Client } from '../../../src/ldk/nwc/nip47-client.ts';
import { parseNwcUri } from '../../../src/ldk/nwc/nwc-uri.ts';
import {
  NwcWalletService,
  type NwcWalletServiceOptions,
  SERVED_METHODS,
} from '../../../src/ldk/nwc-service/nwc-wallet-service.ts';
import type { LightningEvent } from '../../../src/ldk/port.ts';
import { eventually, newPreimage, thrown } from '../../fakes/ldk-wait.ts';
import { type NwcSandbox, startNwcSandbox, TEST_BACKEND_OPTIONS } from '../../fakes/nwc-sandbox.ts';
import {
  type ScriptedRequest,
  type ScriptTools,
  startScriptedWallet,
  type WalletScript,
} from '../../fakes/nwc-scripted-wallet.ts';
import { eventOf } from '../../fakes/relay-proxy.ts';

const test = suite('NWC adapter');
const AMOUNT_MSAT = 20_000_000n;
let setup: NwcSandbox;
const cleanups: (() => unknown)[] = [];

test.before(async () => {
  setup = await startNwcSandbox({ proxy: true });
});

test.after.each(async () => {
  setup.proxy!.clearFaults();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test.after(async () => {
  await setup.close();
});

async function connect(uri: string, options: Partial<NwcBackendOptions> = {}): Promise<NwcBackend> {
  const backend = await NwcBackend.connect({ ...TEST_BACKEND_OPTIONS, ...options, uri });
  cleanups.push(() => backend.close());
  return backend;
}

/** Another wallet service (its own key) in front of the same agent node. */
async function startService(options: Partial<NwcWalletServiceOptions> = {}, relay = setup.relay.url) {
  const clientSecret = generateSecretKey();
  const service = await NwcWalletService.start({
    backend: setup.wallet.sandbox.agent,
    relays: [relay],
    walletSecretKey: generateSecretKey(),
    clientPubkeys: [getPublicKey(clientSecret)],
    ...options,
  });
  cleanups.push(() => service.stop());
  return { service, clientSecret, uri: service.connectionUri(clientSecret) };
}

async function scriptedWallet(script: WalletScript) {
  const wallet = await startScriptedWallet({ relayUrl: setup.relay.url, script });
  cleanups.push(() => wallet.stop());
  return wallet;
}

function collect(backend: NwcBackend): LightningEvent[] {
  const events: LightningEvent[] = [];
  cleanups.push(backend.subscribe((event) => events.push(event)));
  return events;
}

/** A hold the payer pays; resolves once the agent's node holds it. */
async function payHold(backend: NwcBackend) {
  const { preimage, paymentHash } = newPreimage();
  const { bolt11 } = await backend.createHoldInvoice({
    paymentHash,
    amountMsat: AMOUNT_MSAT,
    description: 'nwc adapter test',
    expirySeconds: 600,
    finalCltvDelta: 144,
  });
  const paying = setup.wallet.sandbox.payer.pay({ bolt11, maxFeeMsat: 10_000n, timeoutSeconds: 120 });
  paying.catch(() => {});
  await eventually('the node holds the payment', async () => {
    const hold = await setup.wallet.sandbox.agent.lookup(paymentHash);
    return hold?.state === 'ACCEPTED';
  });
  return { preimage, paymentHash, paying };
}

// ------------------------------------------------------------------------------------------ start-up checks

test('a wallet service without settle_hold_invoice makes the adapter refuse to start, naming the method', async () => {
  const { uri } = await startService({
    methods: SERVED_METHODS.filter((method) => method !== 'settle_hold_invoice'),
  });

  const error = await thrown(() => NwcBackend.connect({ ...TEST_BACKEND_OPTIONS, uri }));

  assert.instance(error, NwcStartupError);
  const startup = error as NwcStartupError;
  assert.equal(startup.missingMethods, ['settle_hold_invoice']);
  assert.equal(startup.missingNotifications, []);
  assert.match(startup.message, 'settle_hold_invoice (not in the info event (kind 13194) nor the get_info');
  assert.not.match(startup.message, /secret/);
});

test('a wallet service without the hold_invoice_accepted notification and two methods is refused with all three named', async () => {
  const { uri } = await startService({
    methods: SERVED_METHODS.filter((method) => method !== 'cancel_hold_invoice' && method !== 'pay_invoice'),
    notifications: ['payment_received'],
  });

  const error = (await thrown(() => NwcBackend.connect({ ...TEST_BACKEND_OPTIONS, uri }))) as NwcStartupError;

  assert.instance(error, NwcStartupError);
  assert.equal(error.missingMethods, ['cancel_hold_invoice', 'pay_invoice']);
  assert.equal(error.missingNotifications, ['hold_invoice_accepted']);
  assert.match(error.message, 'methods cancel_hold_invoice');
  assert.match(error.message, 'notification hold_invoice_accepted');
});

test('a wallet key with no info event on the relay makes the adapter refuse to start, naming kind 13194', async () => {
  const { clientSecret } = { clientSecret: generateSecretKey() };
  const uri = `nostr+walletconnect://${getPublicKey(generateSecretKey())}?relay=${encodeURIComponent(setup.relay.url)}&secret=${Buffer.from(clientSecret).toString('hex')}`;

  const error = await thrown(() =>
    NwcBackend.connect({ ...TEST_BACKEND_OPTIONS, uri, startupTimeoutMs: 2000 }),
  );

  assert.instance(error, NwcStartupError);
  assert.match((error as Error).message, 'has no info event (kind 13194)');
});

test('a connection the wallet does not know is refused at start-up: get_info answers UNAUTHORIZED', async () => {
  const stranger = setup.uri.replace(
    /secret=[0-9a-f]+/,
    `secret=${Buffer.from(generateSecretKey()).toString('hex')}`,
  );
  const before = setup.wallet.service.counters.unauthorized;

  const error = await thrown(() => NwcBackend.connect({ ...TEST_BACKEND_OPTIONS, uri: stranger }));

  assert.instance(error, NwcStartupError);
  assert.match((error as Error).message, 'refused get_info');
  assert.match((error as Error).message, 'UNAUTHORIZED');
  assert.is(setup.wallet.service.counters.unauthorized, before + 1);
});

// ------------------------------------------------------------------------------------ notifications are hints

test('a hold_invoice_accepted notification is reported as hold_accepted, with the node deadline, without any poll', async () => {
  const backend = await connect(setup.uri, { pollIntervalMs: 3_600_000 });
  const events = collect(backend);
  const { paymentHash } = await payHold(backend);

  const accepted = await eventually(
    'hold_accepted is reported',
    async () => events.find((event) => event.type === 'hold_accepted' && event.paymentHash === paymentHash),
    10_000,
  );

  const hold = await setup.wallet.sandbox.agent.lookup(paymentHash);
  assert.equal(accepted, {
    type: 'hold_accepted',
    paymentHash,
    amountMsat: AMOUNT_MSAT,
    htlcExpiryHeight: hold!.htlcExpiryHeight!,
    claimDeadlineHeight: hold!.claimDeadlineHeight!,
  });
  await backend.cancel(paymentHash);
});

test('a hold_invoice_accepted that a relay drops is recovered by lookup polling', async () => {
  const dropped = setup.proxy!.drop({
    direction: 'to-client',
    when: (frame) => eventOf(frame)?.kind === 23197,
  });
  const backend = await connect(setup.uri, { pollIntervalMs: 200 });
  const events = collect(backend);
  const { paymentHash } = await payHold(backend);

  await eventually('the notification was sent and dropped', async () => dropped.hits > 0, 10_000);
  const accepted = await eventually('hold_accepted is reported anyway', async () =>
    events.find((event) => event.type === 'hold_accepted' && event.paymentHash === paymentHash),
  );
  assert.is(accepted.type === 'hold_accepted' && accepted.amountMsat, AMOUNT_MSAT);
  assert.is((await backend.lookup(paymentHash))?.state, 'ACCEPTED');

  await backend.cancel(paymentHash);
  await eventually('hold_cancelled is reported', async () =>
    events.some((event) => event.type === 'hold_cancelled' && event.paymentHash === paymentHash),
  );
});

// ------------------------------------------------------------------------------ answers the adapter ignores

function acceptedTransaction(paymentHash: string) {
  const now = Math.floor(Date.now() / 1000);
  return {
    type: 'incoming',
    state: 'accepted',
    invoice: '',
    payment_hash: paymentHash,
    amount: 1000,
    created_at: now,
    expires_at: now + 600,
    settle_deadline: 640,
  };
}

/** Publishes (or, past the relay's own checks, injects) every kind of answer the adapter must ignore. */
async function answerBadly(
  request: ScriptedRequest,
  tools: ScriptTools,
): Promise<ReturnType<ScriptTools['response']>> {
  const good = {
    result_type: 'lookup_invoice',
    error: null,
    result: acceptedTransaction(String(request.params.payment_hash)),
  };
  const genuine = tools.response(request, good);
  const stranger = generateSecretKey();
  for (const bad of [
    tools.response(request, good, { encryptFor: getPublicKey(stranger) }),
    tools.response(request, null, { content: 'not a NIP-44 payload' }),
    tools.response(request, null, { plaintext: '{"result_type": "lookup_invoice", "result": ' }),
    tools.response(request, { result_type: 'lookup_invoice', error: null, result: { unexpected: true } }),
    tools.response(request, { result_type: 'get_balance', error: null, result: { balance: 1 } }),
    tools.response(request, good, { requestId: '00'.repeat(32) }),
  ]) {
    await tools.publish(bad);
  }
  // Past the relay (it would refuse them): copies of the genuine answer that do not verify, and the genuine
  // answer signed by someone else.
  setup.proxy!.injectForgery(genuine, 'bad-signature');
  setup.proxy!.injectForgery(genuine, 'altered-content');
  setup.proxy!.injectToClients(['EVENT', 'nwc-replies', tools.response(request, good, { signer: stranger })]);
  return genuine;
}

test('malformed, wrongly encrypted, forged and misaddressed answers are ignored: the request times out with Timeout', async () => {
  const wallet = await scriptedWallet(async (request, tools) => {
    if (request.method === 'lookup_invoice') await answerBadly(request, tools);
  });
  const backend = await connect(wallet.uri(setup.proxy!.url), { requestTimeoutMs: 1500 });

  const error = await thrown(() => backend.lookup(newPreimage().paymentHash));

  assert.ok(isLightningError(error, 'Timeout'), String(error));
  assert.ok(wallet.requests.some((request) => request.method === 'lookup_invoice'));
});

test('after answers it ignores, the genuine answer is taken (a forged copy does not censor it)', async () => {
  const wallet = await scriptedWallet(async (request, tools) => {
    if (request.method !== 'lookup_invoice') return;
    const genuine = await answerBadly(request, tools);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await tools.publish(genuine);
  });
  const backend = await connect(wallet.uri(setup.proxy!.url), { requestTimeoutMs: 5000 });
  const { paymentHash } = newPreimage();

  const hold = await backend.lookup(paymentHash);

  assert.is(hold?.state, 'ACCEPTED');
  assert.is(hold?.claimDeadlineHeight, 640);
  // No extension field: the deadline stands in for the HTLC expiry (earlier than the truth, never later).
  assert.is(hold?.htlcExpiryHeight, 640);
});

// ------------------------------------------------------------------------------------ the wallet service

test('a request signed by a key the wallet does not know is answered UNAUTHORIZED and never reaches the node', async () => {
  const stranger = generateSecretKey();
  const connection = parseNwcUri(
    setup.uri.replace(/secret=[0-9a-f]+/, `secret=${Buffer.from(stranger).toString('hex')}`),
  );
  const client = new Nip47Client({ connection, log: { debug() {}, info() {}, warn() {}, error() {} } });
  cleanups.push(() => client.close());
  assert.ok(await client.connect(5000));
  assert.ok(await client.listen('nip44_v2', 5000));
  const { paymentHash } = newPreimage();
  const before = setup.wallet.service.counters.unauthorized;

  const reply = await client.request(
    'make_hold_invoice',
    {
      amount: 1000,
      payment_hash: paymentHash,
      description: 'not yours',
      expiry: 600,
      min_cltv_expiry_delta: 144,
    },
    (result) => result,
    5000,
  );

  assert.equal(reply, {
    ok: false,
    error: { code: 'UNAUTHORIZED', message: 'this public key has no wallet connected' },
  });
  assert.is(setup.wallet.service.counters.unauthorized, before + 1);
  assert.is(await setup.wallet.sandbox.agent.lookup(paymentHash), null);
});

test('a forged copy of a client request (bad signature, altered content) is dropped unanswered; the genuine one is served', async () => {
  // This service reads its requests through the proxy, which can hand it what a relay would never pass on.
  const { service, clientSecret } = await startService({}, setup.proxy!.url);
  const { paymentHash } = newPreimage();
  const params = {
    amount: 1000,
    payment_hash: paymentHash,
    description: 'forged?',
    expiry: 600,
    min_cltv_expiry_delta: 144,
  };
  const request = finalizeEvent(
    {
      kind: 23194,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['p', service.walletPubkey],
        ['encryption', 'nip44_v2'],
      ],
      content: nip44.encrypt(
        JSON.stringify({ method: 'make_hold_invoice', params }),
        nip44.getConversationKey(clientSecret, service.walletPubkey),
      ),
    },
    clientSecret,
  );
  const answeredBefore = service.counters.answered;

  assert.ok(setup.proxy!.injectForgery(request, 'bad-signature') > 0);
  assert.ok(setup.proxy!.injectForgery(request, 'altered-content') > 0);
  await eventually('both forgeries are dropped', async () => service.counters.dropped >= 2, 5000);
  assert.is(service.counters.answered, answeredBefore);
  assert.is(await setup.wallet.sandbox.agent.lookup(paymentHash), null);

  const relay = await import('../../fakes/relay.ts').then((module) =>
    module.connectNostrTools(setup.relay.url),
  );
  cleanups.push(() => relay.close());
  await relay.publish(request);
  await eventually(
    'the genuine request is served',
    async () => (await setup.wallet.sandbox.agent.lookup(paymentHash)) !== null,
  );
  assert.is(service.counters.answered, answeredBefore + 1);
  await setup.wallet.sandbox.agent.cancel(paymentHash);
});

test('a plain NIP-47 wallet (NIP-04 only, no extension fields) still serves the port, with the documented fallbacks', async () => {
  const { uri } = await startService({ encryptions: ['nip04'], extensions: false });
  const backend = await connect(uri, { pollIntervalMs: 3_600_000 });
  assert.is(backend.wallet.encryption, 'nip04');
  const events = collect(backend);
  const { paymentHash } = await payHold(backend);

  // The notification (kind 23196 for NIP-04) arrives without a poll.
  await eventually(
    'hold_accepted is reported',
    async () => events.some((event) => event.type === 'hold_accepted' && event.paymentHash === paymentHash),
    10_000,
  );
  const hold = await backend.lookup(paymentHash);
  assert.is(hold?.state, 'ACCEPTED');
  assert.is(hold?.receivedMsat, AMOUNT_MSAT);
  assert.is(hold?.htlcExpiryHeight, hold?.claimDeadlineHeight);
  assert.is((await backend.getInfo()).remoteBalanceMsat, 0n);

  await backend.cancel(paymentHash);
  const canceled = await backend.lookup(paymentHash);
  assert.is(canceled?.state, 'CANCELED');
  assert.is(canceled?.cancelReason, 'requested');
});

// -------------------------------------------------------------------------------------------- pay outcomes

function payScript(mode: {
  lookup: 'none' | 'pending';
  pay: 'silence' | 'internal' | 'failed';
}): WalletScript {
  return async (request, tools) => {
    const hash = String(request.params.payment_hash ?? '');
    if (request.method === 'lookup_invoice') {
      const now = Math.floor(Date.now() / 1000);
      const body =
        mode.lookup === 'pending'
          ? {
              result_type: 'lookup_invoice',
              error: null,
              result: {
                type: 'outgoing',
                state: 'pending',
                payment_hash: hash,
                amount: 1000,
                created_at: now,
              },
            }
          : {
              result_type: 'lookup_invoice',
              error: { code: 'NOT_FOUND', message: 'not found' },
              result: null,
            };
      await tools.publish(tools.response(request, body));
    } else if (request.method === 'pay_invoice' && mode.pay !== 'silence') {
      const error =
        mode.pay === 'internal'
          ? { code: 'INTERNAL', message: 'the node restarted' }
          : { code: 'PAYMENT_FAILED', message: 'no_route: no path to the payee' };
      await tools.publish(tools.response(request, { result_type: 'pay_invoice', error, result: null }));
    }
  };
}

test('a pay whose outcome the wallet does not tell is pending, never failed; only PAYMENT_FAILED is a failure', async () => {
  const invoice = await setup.wallet.sandbox.worker.createInvoice({
    amountMsat: 5_000_000n,
    description: 'outcome',
    expirySeconds: 600,
  });
  const pay = async (mode: Parameters<typeof payScript>[0]) => {
    const wallet = await scriptedWallet(payScript(mode));
    const backend = await connect(wallet.uri(setup.relay.url), { requestTimeoutMs: 1000 });
    const result = await backend.pay({ bolt11: invoice.bolt11, maxFeeMsat: 1000n, timeoutSeconds: 1 });
    return { result, methods: wallet.requests.map((request) => request.method) };
  };

  const silence = await pay({ lookup: 'none', pay: 'silence' });
  assert.equal(silence.result, { status: 'pending', paymentHash: invoice.paymentHash });
  const internal = await pay({ lookup: 'none', pay: 'internal' });
  assert.equal(internal.result, { status: 'pending', paymentHash: invoice.paymentHash });
  const failed = await pay({ lookup: 'none', pay: 'failed' });
  assert.is(failed.result.status === 'failed' && failed.result.reason, 'no_route');
  // A payment the wallet already shows in flight is not sent again.
  const inFlight = await pay({ lookup: 'pending', pay: 'failed' });
  assert.equal(inFlight.result, { status: 'pending', paymentHash: invoice.paymentHash });
  assert.not.ok(inFlight.methods.includes('pay_invoice'));
});

// ------------------------------------------------------------------------------------------------ relays

test('after the relay restarts, the adapter and the wallet service reconnect and requests are answered again', async () => {
  const backend = await connect(setup.uri, { requestTimeoutMs: 10_000 });
  const before = await backend.getInfo();

  await setup.relay.restart();

  // Sent while the connections are down or coming back: re-sent on reconnect, answered once the service is back.
  const after = await backend.getInfo();
  assert.is(after.nodeId, before.nodeId);
});

test.run();
