// What every LND port method shares: the authenticated gRPC client, the settings, the node's identity, the
// hashes this adapter canceled (LND does not record why an invoice was canceled), the listeners, and a
// guard that bounds every call in time (the `lightning` package sets no gRPC deadlines, so a hung LND would
// otherwise hang the agent).
import { type AuthenticatedLnd, getWalletInfo } from 'lightning';
import { LightningError } from '../lightning-error.ts';
import type { LightningEvent, LightningListener, Network } from '../port.ts';
import type { LndSettings } from './lnd-config.ts';
import { type LndOperation, toLightningError } from './lnd-errors.ts';

export class LndContext {
  readonly canceledByUs = new Set<string>();
  private readonly listeners = new Set<LightningListener>();
  private closed = false;
  /** The last height seen by any call; the block poller keeps it fresh while someone listens. */
  lastHeight: number | null = null;

  constructor(
    readonly lnd: AuthenticatedLnd,
    readonly settings: LndSettings,
    readonly nodeId: string,
    readonly network: Network,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  addListener(listener: LightningListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  emit(event: LightningEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's own failure must not stop the others from hearing the event.
      }
    }
  }

  /** Runs one LND call; a call that takes longer than callTimeoutMs is reported as Timeout (state unknown). */
  async call<T>(operation: LndOperation, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new LightningError('NodeUnavailable', 'the LND backend is closed');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LightningError(
              'Timeout',
              `LND did not answer ${operation} within ${this.settings.callTimeoutMs} ms; state unknown`,
            ),
          ),
        this.settings.callTimeoutMs,
      );
    });
    try {
      return await Promise.race([run(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Like call(), with LND's errors mapped onto the port's codes. */
  async request<T>(operation: LndOperation, run: () => Promise<T>): Promise<T> {
    try {
      return await this.call(operation, run);
    } catch (error) {
      throw toLightningError(operation, error);
    }
  }

  /** The chain height LND reports now. */
  async height(): Promise<number> {
    const info = await this.request('info', () => getWalletInfo({ lnd: this.lnd }));
    this.lastHeight = info.current_block_height;
    return info.current_block_height;
  }
}
