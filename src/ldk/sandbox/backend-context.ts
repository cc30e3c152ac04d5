// What every sandbox operation needs: the LDK node, the adapter's records, a way to tell subscribers, and a
// way to wait for the node to confirm a change (settle waits for PaymentClaimed, pay for PaymentSent/Failed).
import type { LightningEvent, LightningListener } from '../port.ts';
import type { InvoiceRecords } from './invoice-records.ts';
import type { LdkNode } from './ldk-node.ts';
import type { NodeLog } from './node-options.ts';
import type { PaymentRecords } from './payment-records.ts';

const POLL_MS = 50;

export class BackendContext {
  private readonly listeners = new Set<LightningListener>();
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(
    readonly node: LdkNode,
    readonly invoices: InvoiceRecords,
    readonly payments: PaymentRecords,
    readonly log: NodeLog,
  ) {}

  subscribe(listener: LightningListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Delivered outside LDK's call stack, so a listener that throws or blocks cannot break event handling. */
  emit(event: LightningEvent): void {
    for (const listener of this.listeners) this.deliver(listener, event);
  }

  deliver(listener: LightningListener, event: LightningEvent): void {
    setImmediate(() => {
      try {
        listener(event);
      } catch (error) {
        this.log({
          node: this.node.name,
          level: 'error',
          message: `a listener threw on ${event.type}: ${String(error)}`,
        });
      }
    });
  }

  /** Call after any record change: wakes every waitFor() to re-check its condition. */
  changed(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Resolves with check()'s first defined value, or undefined after timeoutMs. Re-checked on every change()
   * and on a short poll, for conditions no event announces (a peer connecting, a channel becoming usable).
   */
  waitFor<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = (value: T | undefined) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(wake);
        resolve(value);
      };
      const wake = () => {
        const value = this.closed ? undefined : check();
        if (value !== undefined || this.closed) finish(value);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const poll = setInterval(wake, POLL_MS);
      this.waiters.add(wake);
    });
  }

  /** The node stopped: every waitFor() gives up now instead of holding the process open until its timeout. */
  close(): void {
    this.closed = true;
    this.changed();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  nowSeconds(): number {
    return Math.floor(Date.now() / 1000);
  }
}
