// One WebSocket connection to one relay: nostr-tools' AbstractRelay (connect with a timeout, send, NOTICE, the
// AUTH challenge), with nostr-tools' own reconnect off (the supervisor owns reconnects) and with the frames the pool
// acts on (EVENT, EOSE, CLOSED, OK) taken before nostr-tools sees them, because nostr-tools
//   - drops an event that does not match the subscription's filters or fails `verifyEvent`, and only logs one it
//     cannot read: the intake must see every event, to verify it itself and count the forgeries per relay;
//   - fires `oneose` on its own EOSE timeout too: catch-up must know the relay really finished a page;
//   - rejects a publish with the same Error for a relay's `OK false` and for a local timeout.
// The pool also holds the `ws` socket itself, to bound the frame size and to terminate a silent connection at
// once (a close handshake with a dead peer waits 30 s).
import { AbstractRelay, type AbstractRelayConstructorOptions } from 'nostr-tools/abstract-relay';
import { WebSocket } from 'ws';

/** Returns true when it handled the frame; other frames (NOTICE, AUTH, ...) go to nostr-tools. */
export type FrameHandler = (message: unknown[]) => boolean;

export interface RelayConnectionOptions {
  url: string;
  connectTimeoutMs: number;
  maxMessageBytes: number;
  onFrame: FrameHandler;
  onNotice(message: string): void;
  /** The connection closed after it had opened, and not because close() was called. */
  onClose(): void;
}

type RelayMessageEvent = Parameters<AbstractRelay['_onmessage']>[0];

class FrameRelay extends AbstractRelay {
  frameHandler: FrameHandler = () => false;

  override _onmessage(messageEvent: RelayMessageEvent): void {
    const data: unknown = messageEvent.data;
    // Nostr frames are text; binary frames and text that is not a JSON array carry nothing to act on.
    if (typeof data !== 'string') return;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!Array.isArray(message)) return;
    if (this.frameHandler(message)) return;
    super._onmessage(messageEvent);
  }
}

export class RelayConnection {
  private socket: WebSocket | undefined;
  private lastSocketError: string | undefined;
  private opened = false;
  private closedByUs = false;
  private abortOpen: (() => void) | undefined;
  private readonly relay: FrameRelay;

  constructor(private readonly options: RelayConnectionOptions) {
    const connection = this;
    // nostr-tools constructs the socket (`new WebSocket(url)`); this class gives it our limits and hands it to us.
    class PoolSocket extends WebSocket {
      constructor(address: string) {
        super(address, { maxPayload: options.maxMessageBytes, handshakeTimeout: options.connectTimeoutMs });
        // Also keeps an 'error' after nostr-tools has detached its handlers from becoming an uncaught exception.
        this.on('error', (error: Error) => {
          connection.lastSocketError = error.message;
        });
        this.once('open', () => {
          connection.opened = true;
        });
        connection.socket = this;
      }
    }
    this.relay = new FrameRelay(options.url, {
      // Every event must reach the intake, which verifies it on its own parsed copy (see above).
      verifyEvent: () => true,
      websocketImplementation:
        PoolSocket as unknown as AbstractRelayConstructorOptions['websocketImplementation'],
      enablePing: false,
      enableReconnect: false,
    });
    this.relay.frameHandler = options.onFrame;
    this.relay.onnotice = options.onNotice;
    this.relay.onclose = () => {
      if (this.opened && !this.closedByUs) options.onClose();
    };
  }

  /** Resolves when the WebSocket is open; rejects with the socket's own reason (refused, 503, timed out, ...). */
  async open(): Promise<void> {
    // close() during the opening detaches nostr-tools' handlers, and its connect() would then never settle.
    const aborted = new Promise<never>((_resolve, reject) => {
      this.abortOpen = () => reject(new Error('closed while connecting'));
    });
    try {
      await Promise.race([this.relay.connect({ timeout: this.options.connectTimeoutMs }), aborted]);
    } catch (error) {
      throw new Error(this.lastSocketError ?? (error instanceof Error ? error.message : String(error)));
    } finally {
      this.abortOpen = undefined;
    }
  }

  /** The socket's last error (a frame over the size limit, a reset, ...), for the status. */
  get lastError(): string | undefined {
    return this.lastSocketError;
  }

  get isOpen(): boolean {
    return this.relay.connected && this.socket?.readyState === WebSocket.OPEN;
  }

  /** False when the connection is not open. */
  send(message: unknown[]): boolean {
    if (!this.isOpen) return false;
    this.relay.send(JSON.stringify(message)).catch(() => {});
    return true;
  }

  /** Drops the connection at once, as a dead one; onClose follows. */
  terminate(): void {
    this.socket?.terminate();
  }

  /** Closes the connection politely, but for at most `graceMs`. onClose is not called. */
  async close(graceMs = 500): Promise<void> {
    this.closedByUs = true;
    const socket = this.socket;
    this.relay.close();
    this.abortOpen?.();
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
    });
  }
}
