// Bounds (issue #15): how many Nostr events one core can verify and sign, per Schnorr implementation, side by side
// in one run. The intake cannot take forged events faster than `verifyPerSecond`, nor answer actions faster than
// `verifySignPerSecond` (one event verified and one signed per action): the intake figures in bench/agent.ts are
// read against these.
//
// Every candidate verifies whole events: the id recomputed (sha256 of the NIP-01 serialisation, nostr-tools'
// getEventHash for all but nostr-wasm, which hashes inside its WebAssembly) and compared, then the signature.
//   - nostr-tools/pure: verifyEvent and finalizeEvent (@noble/curves in pure JS), what the agent used before;
//     verified on a fresh copy each time (it caches its verdict on the object).
//   - @noble/curves: schnorr directly, under src/protocol/verify-event.ts's portable default (the browser pages).
//   - tiny-secp256k1: libsecp256k1 in WebAssembly (bitcoinjs), through src/crypto/schnorr.ts, what the agent uses.
//   - nostr-wasm: libsecp256k1 in WebAssembly (nostr-tools' optional backend), through nostr-tools/wasm's
//     setNostrWasm hook.
//   - @noble/secp256k1: the small pure-JS sibling of @noble/curves; measured only when installed (it is not a
//     dependency: `npm i --no-save @noble/secp256k1` to include it).
// Before any timing, every candidate must accept each good event and reject forged ones (another key's
// signature, a changed id, a changed content): a fast wrong verifier is an error here, not a figure.
// Rounds are interleaved (candidate by candidate, three times) and each figure is the median of its rounds, so a
// burst of load on the shared machine weighs on every candidate alike. Nothing here is asserted.
//
//   npx tsx bench/bounds.ts [--events N]   (or `npm run bench -- --only bounds`)
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { EventTemplate, NostrEvent } from 'nostr-tools/pure';
import * as pure from 'nostr-tools/pure';
import { libsecp256k1InvoiceCurve } from '../src/crypto/ecdsa.ts';
import * as agentSchnorr from '../src/crypto/schnorr.ts';
import { tryDecodeBolt11 } from '../src/ldk/bolt11/index.ts';
import { nobleInvoiceCurve, useInvoiceCurve } from '../src/ldk/bolt11/signature.ts';
import { KINDS, LABEL_NAMESPACE } from '../src/protocol/constants.ts';
import { verifyEvent as portableVerifyEvent } from '../src/protocol/verify-event.ts';

interface Candidate {
  name: string;
  version: string;
  how: string;
  verify(event: NostrEvent): boolean;
  sign(template: EventTemplate, secretKey: Uint8Array): NostrEvent;
}

interface Figures {
  verifyPerSecond: number;
  signPerSecond: number;
  verifySignPerSecond: number;
}

function versionOf(name: string): string {
  const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

const copy = (event: NostrEvent): NostrEvent => ({
  id: event.id,
  pubkey: event.pubkey,
  created_at: event.created_at,
  kind: event.kind,
  tags: event.tags,
  content: event.content,
  sig: event.sig,
});

async function candidates(): Promise<{ used: Candidate[]; skipped: Record<string, string> }> {
  const skipped: Record<string, string> = {};
  const used: Candidate[] = [
    {
      name: 'nostr-tools/pure',
      version: versionOf('nostr-tools'),
      how: 'verifyEvent / finalizeEvent (@noble/curves in JS)',
      verify: (event) => pure.verifyEvent(copy(event)),
      sign: (template, secretKey) => pure.finalizeEvent({ ...template }, secretKey),
    },
    {
      name: '@noble/curves',
      version: versionOf('@noble/curves'),
      how: "schnorr.verify / sign under src/protocol/verify-event.ts's portable default",
      verify: (event) => portableVerifyEvent(event).ok,
      sign: (template, secretKey) => {
        const pubkey = bytesToHex(schnorr.getPublicKey(secretKey));
        const id = pure.getEventHash({ ...template, pubkey });
        const sig = bytesToHex(schnorr.sign(hexToBytes(id), secretKey, randomBytes(32)));
        return { ...template, pubkey, id, sig };
      },
    },
    {
      name: 'tiny-secp256k1',
      version: versionOf('tiny-secp256k1'),
      how: 'libsecp256k1 in WebAssembly, through src/crypto/schnorr.ts (the agent)',
      verify: (event) => portableVerifyEvent(event, agentSchnorr.verifySchnorr).ok,
      sign: (template, secretKey) => agentSchnorr.finalizeEvent(template, secretKey),
    },
  ];
  try {
    const { initNostrWasm } = await import('nostr-wasm');
    const wasm = await import('nostr-tools/wasm');
    wasm.setNostrWasm(await initNostrWasm());
    used.push({
      name: 'nostr-wasm',
      version: versionOf('nostr-wasm'),
      how: "libsecp256k1 in WebAssembly, through nostr-tools/wasm's setNostrWasm hook (id hashed in WebAssembly)",
      verify: (event) => wasm.verifyEvent(copy(event)),
      sign: (template, secretKey) => wasm.finalizeEvent({ ...template } as never, secretKey),
    });
  } catch (error) {
    skipped['nostr-wasm'] = `not loadable: ${(error as Error).message}`;
  }
  try {
    // Not a dependency: the name goes through a variable so that tsc and the import rules do not require it.
    const name = '@noble/secp256k1';
    const noble = (await import(name)) as typeof import('@noble/curves/secp256k1.js') & {
      hashes: Record<string, unknown>;
    };
    const { sha256 } = await import('@noble/hashes/sha2.js');
    const { hmac } = await import('@noble/hashes/hmac.js');
    noble.hashes.sha256 = sha256;
    noble.hashes.hmacSha256 = (key: Uint8Array, message: Uint8Array) => hmac(sha256, key, message);
    used.push({
      name,
      version: versionOf(name),
      how: 'schnorr.verify / sign in JS (the 5 KB sibling of @noble/curves)',
      verify: (event) => {
        try {
          const hash = pure.getEventHash(event);
          return (
            hash === event.id &&
            noble.schnorr.verify(hexToBytes(event.sig), hexToBytes(hash), hexToBytes(event.pubkey))
          );
        } catch {
          return false;
        }
      },
      sign: (template, secretKey) => {
        const pubkey = bytesToHex(noble.schnorr.getPublicKey(secretKey));
        const id = pure.getEventHash({ ...template, pubkey });
        const sig = bytesToHex(noble.schnorr.sign(hexToBytes(id), secretKey, randomBytes(32)));
        return { ...template, pubkey, id, sig };
      },
    });
  } catch {
    skipped['@noble/secp256k1'] =
      'not installed (not a dependency): npm i --no-save @noble/secp256k1 to measure it';
  }
  skipped.secp256k1 =
    'native libsecp256k1 bindings (secp256k1 5.x): ECDSA only, no BIP-340 Schnorr in its API';
  skipped['node:crypto'] = "Node's crypto has secp256k1 ECDSA but no BIP-340 Schnorr";
  return { used, skipped };
}

/** Action-sized events (a claim, a submit with an invoice, a listing) from many keys, signed by nostr-tools/pure. */
function workload(count: number) {
  const keys = Array.from({ length: 64 }, () => pure.generateSecretKey());
  const agent = 'b'.repeat(64);
  const templates: EventTemplate[] = Array.from({ length: count }, (_, index) => {
    const kind = index % 3 === 2 ? KINDS.listing : KINDS.label;
    const tags =
      kind === KINDS.listing
        ? [
            ['d', `bench-${index}`],
            ['title', `Bench task ${index}`],
            ['amount', '21000000'],
            ['p', agent],
            ['t', 'escrow'],
          ]
        : [
            ['L', LABEL_NAMESPACE],
            ['l', index % 3 === 0 ? 'claim' : 'submit', LABEL_NAMESPACE],
            ['e', randomBytes(32).toString('hex'), '', 'task'],
            ['p', agent],
            ...(index % 3 === 1 ? [['bolt11', `lnbcrt210u1${'q'.repeat(300)}`]] : []),
          ];
    return {
      kind,
      created_at: 1_750_000_000 + index,
      tags,
      content: index % 3 === 2 ? 'bench '.repeat(30) : '',
    };
  });
  const events = templates.map((template, index) =>
    pure.finalizeEvent({ ...template }, keys[index % keys.length]!),
  );
  return { keys, templates, events };
}

function forgeries(events: NostrEvent[]): NostrEvent[] {
  const [a, b, c] = events;
  if (!a || !b || !c) throw new Error('bench: too few events');
  return [
    { ...a, sig: b.sig }, // another event's signature
    { ...a, pubkey: b.pubkey, id: pure.getEventHash({ ...a, pubkey: b.pubkey }) }, // valid id, another key
    { ...b, content: `${b.content}!` }, // content changed, id kept
    { ...c, id: c.id.replace(/.$/, (last) => (last === '0' ? '1' : '0')) }, // id changed
    { ...c, sig: `${c.sig.slice(0, 64)}${'f'.repeat(64)}` }, // s out of range
  ];
}

function checkCorrect(candidate: Candidate, events: NostrEvent[], keys: Uint8Array[]): void {
  for (const event of events.slice(0, 50)) {
    if (!candidate.verify(event)) throw new Error(`bench: ${candidate.name} rejected a good event`);
  }
  for (const forged of forgeries(events)) {
    if (candidate.verify(forged)) throw new Error(`bench: ${candidate.name} accepted a forged event`);
  }
  const template = { kind: 1, created_at: 1_750_000_000, tags: [['p', 'b'.repeat(64)]], content: 'check' };
  const signed = candidate.sign(template, keys[0]!);
  if (!pure.verifyEvent(copy(signed)) || signed.pubkey !== pure.getPublicKey(keys[0]!)) {
    throw new Error(`bench: ${candidate.name} signed an event nostr-tools/pure does not verify`);
  }
}

function perSecond(count: number, run: () => void): number {
  const started = performance.now();
  run();
  return Math.round(count / ((performance.now() - started) / 1000));
}

function measure(candidate: Candidate, work: ReturnType<typeof workload>): Figures {
  const { keys, templates, events } = work;
  const n = events.length;
  const key = (index: number) => keys[index % keys.length]!;
  let accepted = 0;
  const verifyPerSecond = perSecond(n, () => {
    for (const event of events) if (candidate.verify(event)) accepted++;
  });
  const signPerSecond = perSecond(n, () => {
    for (let index = 0; index < n; index++) candidate.sign(templates[index]!, key(index));
  });
  const verifySignPerSecond = perSecond(n, () => {
    for (let index = 0; index < n; index++) {
      if (candidate.verify(events[index]!)) accepted++;
      candidate.sign(templates[index]!, key(index));
    }
  });
  if (accepted !== 2 * n) throw new Error(`bench: ${candidate.name} rejected good events while timed`);
  return { verifyPerSecond, signPerSecond, verifySignPerSecond };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchBounds(options: { events: number; rounds?: number }) {
  const { used, skipped } = await candidates();
  const work = workload(options.events);
  for (const candidate of used) checkCorrect(candidate, work.events, work.keys);
  // Warm-up: the JIT and the WebAssembly tiers.
  const warm = workload(100);
  for (const candidate of used) measure(candidate, warm);

  const rounds: Record<string, Figures[]> = Object.fromEntries(used.map((candidate) => [candidate.name, []]));
  for (let round = 0; round < (options.rounds ?? 3); round++) {
    for (const candidate of used) rounds[candidate.name]!.push(measure(candidate, work));
  }
  const idHashPerSecond = perSecond(work.events.length, () => {
    for (const event of work.events) pure.getEventHash(event);
  });
  const invoiceDecodeMicroseconds = invoiceDecodes();

  const figures: Record<string, Figures & { version: string; how: string }> = {};
  for (const candidate of used) {
    const all = rounds[candidate.name]!;
    figures[candidate.name] = {
      version: candidate.version,
      how: candidate.how,
      verifyPerSecond: median(all.map((one) => one.verifyPerSecond)),
      signPerSecond: median(all.map((one) => one.signPerSecond)),
      verifySignPerSecond: median(all.map((one) => one.verifySignPerSecond)),
    };
  }
  const best = (figure: keyof Figures) =>
    Object.entries(figures).sort((a, b) => b[1][figure] - a[1][figure])[0]!;
  const [fastestVerify, verifying] = best('verifyPerSecond');
  const [fastestVerifySign, verifySigning] = best('verifySignPerSecond');
  const agent = figures['tiny-secp256k1']!;
  const baseline = figures['nostr-tools/pure']!;
  return {
    verifyPerSecond: verifying.verifyPerSecond,
    verifySignPerSecond: verifySigning.verifySignPerSecond,
    fastestVerify,
    fastestVerifySign,
    agentUses: 'tiny-secp256k1 (src/crypto/schnorr.ts)',
    agentVerifyPerSecond: agent.verifyPerSecond,
    agentVerifySignPerSecond: agent.verifySignPerSecond,
    agentOverNostrToolsPure: {
      verify: Math.round((agent.verifyPerSecond / baseline.verifyPerSecond) * 10) / 10,
      sign: Math.round((agent.signPerSecond / baseline.signPerSecond) * 10) / 10,
    },
    idHashPerSecond,
    invoiceDecodeMicroseconds,
    events: work.events.length,
    rounds: options.rounds ?? 3,
    candidates: figures,
    skipped,
    note: 'one core (this thread), whole events: id recomputed and compared, then the BIP-340 signature; verifySign = one event verified and one signed; each figure the median of interleaved rounds',
  };
}

/**
 * One BOLT11 decode (the spec's valid examples, test/fixtures/bolt11-vectors.json), its payee key recovered by
 * each invoice curve: the pure-JS default and libsecp256k1 (src/crypto/ecdsa.ts, what the agent installs). The
 * agent decodes a payout invoice at submit and again before paying it.
 */
function invoiceDecodes(): { pureJs: number; libsecp256k1: number } {
  const { valid } = JSON.parse(
    readFileSync(new URL('../test/fixtures/bolt11-vectors.json', import.meta.url), 'utf8'),
  ) as { valid: Array<{ invoice: string }> };
  const invoices = valid.map((vector) => vector.invoice);
  const perDecode = () => {
    for (const invoice of invoices) tryDecodeBolt11(invoice); // warm-up
    const rounds = 20;
    const started = performance.now();
    for (let round = 0; round < rounds; round++) for (const invoice of invoices) tryDecodeBolt11(invoice);
    return Math.round(((performance.now() - started) * 1000) / (rounds * invoices.length));
  };
  const previous = useInvoiceCurve(nobleInvoiceCurve);
  try {
    const pureJs = perDecode();
    useInvoiceCurve(libsecp256k1InvoiceCurve);
    return { pureJs, libsecp256k1: perDecode() };
  } finally {
    useInvoiceCurve(previous);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--events');
  const events = at > 0 ? Number(process.argv[at + 1]) : 1000;
  console.log(JSON.stringify(await benchBounds({ events }), null, 2));
}
