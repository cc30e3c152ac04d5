// One WebSocket connection to one relay, on `ws` directly: open (with a timeout), send, and every text frame read
// with limits (frame-reader.ts: size and nesting checked on the text before JSON.parse) and handed to the
// supervisor as a ReadFrame: an event with its raw JSON text, another message, or a drop with its reason.
//
// Oversized frames. Two limits: the event limit (`maxEventBytes`, default 256 KiB) and the socket's hard cap
// (`maxMessageBytes`, ws's maxPayload, default 4 MiB). A frame between the two is read, not parsed, and dropped on
// its own (counted; its subscription id and created_at are scanned from the text so that catch-up pages step past
// it): the connection stays up and the events around it arrive. Only a frame above the hard cap closes the
// connection (ws cannot read past it); what the catch-up had buffered by then is still delivered (live-sync.ts),
// and the relay is reconnected with backoff.
//
// Why not nostr-tools' AbstractRelay: the pool must see every frame raw, and nostr-tools' public surface does not
// give that. Its relay
//   - drops an event that does not match the subscription's filters or fails `verifyEvent` (only `oninvalidevent`
//     sees it, after a filter match that throws on malformed events), and only logs one it cannot read: the intake
//     must see every event, unverified, to verify it itself and count the forgeries per relay;
//   - fires `oneose` on its own EOSE timeout too: catch-up must know the relay really finished a page;
//   - rejects a publish with the same Error for a relay's `OK false` and for a local timeout.
// Reaching under that surface meant overriding its private `_onmessage`, which any nostr-tools release may change.
// NIP-01 needs five frame types (EVENT, EOSE, CLOSED, OK, NOTICE), and the pool already had to hold the `ws` socket
// (to bound the frame size and to terminate a silent connection at once: a close handshake with a dead peer waits
// 30 s), so the pool owns the socket layer outright. AUTH challenges are ignored (nostr-tools did the same without
// an `onauth`). No nostr-tools internal is used.
import { type RawData, WebSocket } from 'ws';
import { type FrameLimits, type ReadFrame, readFrame } from './frame-reader.ts';

/** Every text frame, read with limits. */
export type FrameHandler = (frame: ReadFrame) => void;

export interface RelayConnectionOptions {
  url: string;
  connectTimeoutMs: number;
  /** The socket's hard cap: a larger frame closes the connection. */
  maxMessageBytes: number;
  limits: FrameLimits;
  onFrame: FrameHandler;
  /** The connection closed after it had opened, and not because close() was called. */
  onClose(): void;
}

function bufferOf(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class RelayConnection {
  private socket: WebSocket | undefined;
  private lastSocketError: string | undefined;
  private opened = false;
  private closedByUs = false;
  private abortOpen: (() => void) | undefined;

  constructor(private readonly options: RelayConnectionOptions) {}

  /** Resolves when the WebSocket is open; rejects with the socket's own reason (refused, 503, timed out, ...). */
  open(): Promise<void> {
    if (this.socket) return Promise.reject(new Error('already opened'));
    if (this.closedByUs) return Promise.reject(new Error('closed while connecting'));
    const { url, connectTimeoutMs, maxMessageBytes } = this.options;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.abortOpen = undefined;
        socket.terminate();
        reject(new Error(reason));
      };
      const socket = new WebSocket(url, { maxPayload: maxMessageBytes, handshakeTimeout: connectTimeoutMs });
      this.socket = socket;
      // Also covers a TCP connect that hangs before the handshake starts.
      const timer = setTimeout(() => fail(`no connection within ${connectTimeoutMs} ms`), connectTimeoutMs);
      this.abortOpen = () => fail('closed while connecting');
      // Every 'error' is followed by 'close'; the handler keeps it from being an uncaught exception.
      socket.on('error', (error: Error) => {
        this.lastSocketError = error.message;
        fail(error.message);
      });
      socket.once('open', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.abortOpen = undefined;
        this.opened = true;
        resolve();
      });
      socket.on('message', (data: RawData, isBinary: boolean) => {
        if (!isBinary && this.socket === socket) this.onMessage(bufferOf(data));
      });
      socket.on('close', () => {
        fail(this.lastSocketError ?? 'connection closed');
        if (this.opened && !this.closedByUs) this.options.onClose();
      });
    });
  }

  /** The socket's last error (a frame over the size limit, a reset, ...), for the status. */
  get lastError(): string | undefined {
    return this.lastSocketError;
  }

  get isOpen(): boolean {
    return this.opened && !this.closedByUs && this.socket?.readyState === WebSocket.OPEN;
  }

  /** False when the connection is not open. */
  send(message: unknown[]): boolean {
    if (!this.isOpen || !this.socket) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Drops the connection at once, as a dead one; onClose follows. */
  terminate(): void {
    this.socket?.terminate();
  }

  /** Closes the connection politely, but for at most `graceMs`. onClose is not called. */
  async close(graceMs = 500): Promise<void> {
    this.closedByUs = true;
    this.abortOpen?.();
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, graceMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (socket.readyState === WebSocket.OPEN) socket.close();
      else socket.terminate();
    });
  }

  private onMessage(data: Buffer): void {
    this.options.onFrame(readFrame(data.toString('utf8'), data.length, this.options.limits));
  }
}
