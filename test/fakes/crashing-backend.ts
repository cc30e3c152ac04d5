// A fault-injecting wrapper around a REAL Lightning backend (not a mock: every call it lets through reaches the
// real LDK node). It simulates the agent process dying at one side-effect boundary: when the chosen call is made,
// the wrapper "dies" (before or after forwarding it) and every later call fails as if the node had gone away.
import { LightningError } from '../../src/ldk/lightning-error.ts';
import type { HoldInvoiceBackend } from '../../src/ldk/port.ts';

export type CrashPoint = { method: 'pay' | 'settle' | 'cancel'; when: 'before' | 'after' };

export function crashingBackend(real: HoldInvoiceBackend, crash: CrashPoint) {
  let dead = false;
  let reached: () => void = () => {};
  const crashed = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const die = (): never => {
    dead = true;
    reached();
    throw new LightningError('NodeUnavailable', 'simulated crash');
  };
  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (dead) return Promise.reject(new LightningError('NodeUnavailable', 'simulated crash'));
    return call();
  };
  const backend: HoldInvoiceBackend = {
    createHoldInvoice: (request) => guard(() => real.createHoldInvoice(request)),
    settle: (preimage, hash) => guard(() => boundary('settle', () => real.settle(preimage, hash))),
    cancel: (hash) => guard(() => boundary('cancel', () => real.cancel(hash))),
    lookup: (hash) => guard(() => real.lookup(hash)),
    list: (state) => guard(() => real.list(state)),
    pay: (request) => guard(() => boundary('pay', () => real.pay(request))),
    paymentStatus: (hash) => guard(() => real.paymentStatus(hash)),
    getInfo: () => guard(() => real.getInfo()),
    subscribe: (listener) =>
      real.subscribe((event) => {
        if (!dead) listener(event);
      }),
  };
  async function boundary<T>(method: CrashPoint['method'], call: () => Promise<T>): Promise<T> {
    if (method !== crash.method) return call();
    if (crash.when === 'before') return die();
    await call();
    return die();
  }
  return { backend, crashed };
}
