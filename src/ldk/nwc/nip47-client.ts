// The client side of NIP-47: signed, encrypted requests (kind 23194) to one wallet service and their responses
// (23195) matched by the request id, plus the wallet's notifications (23196 / 23197). A response that is not
// from the wallet's key, not for a request we are waiting on, not decryptable, not JSON or not the expected
// shape is ignored (and logged): the request then waits on, and ends with a typed Timeout if nothing valid
// comes. A request no relay took ends with NodeUnavailable: nobody can have acted on it. An unanswered request
// is sent again, the same signed event, until answered or timed out (see resend()). One subscription carries
// every response and notification, so relays' per-connection subscription limits are never in the way.
import { finalizeEvent, type NostrEvent } from 'nostr-tools/pure';
import { LightningError } from '../lightning-error.ts';
import {
  KIND_INFO,
  KIND_REQUEST,
  KIND_RESPONSE,
  type Nip47Encryption,
  type Nip47Error,
  type Nip47Method,
  notificationKind,
} from './nip47.ts';
import { PayloadCipher } from './nip47-encryption.ts';
import { notificationSchema, responseSchema } from './nip47-schemas.ts';
import type { NwcLogger } from './nwc-log.ts';
import type { NwcConnection } from './nwc-uri.ts';
import { RelayGroup, RelayRefusal, SeenIds } from './relay-group.ts';
import { checkEvent, hasTag, tagValue } from './verify-event.ts';

export type Nip47Reply<T> = { ok: true; result: T } | { ok: false; error: Nip47Error };

/** Reads a result; undefined means "not what this method returns", and the response is ignored. */
export type ResultParser<T> = (result: unknown) => T | undefined;

export interface Nip47Notification {
  type: string;
  payload: unknown;
}

interface PendingRequest {
  event: NostrEvent;
  resendTimer: NodeJS.Timeout | null;
  method: Nip47Method;
  encryption: Nip47Encryption;
  parse: ResultParser<unknown>;
  resolve(reply: Nip47Reply<unknown>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface Nip47ClientOptions {
  connection: NwcConnection;
  log: NwcLogger;
  connectTimeoutMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
}

const INFO_SUBSCRIPTION = 'nwc-info';
const REPLY_SUBSCRIPTION = 'nwc-replies';
/** Relays' clocks and ours differ; responses and notifications a little older than "now" still count. */
const SINCE_SLACK_SECONDS = 60;
/** A request carries a NIP-40 expiration this long after its own timeout: a wallet must not act on it later. */
const EXPIRATION_SLACK_SECONDS = 60;
const PUBLISH_OK_TIMEOUT_MS = 5000;
const RESEND_FIRST_MS = 1000;
const RESEND_MAX_MS = 15_000;

export class Nip47Client {
  private readonly relays: RelayGroup;
  private readonly cipher: PayloadCipher;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly seen = new SeenIds();
  private readonly notificationListeners = new Set<(notification: Nip47Notification) => void>();
  private readonly infoEvents: NostrEvent[] = [];
  private encryption: Nip47Encryption | null = null;
  private closed = false;

  constructor(private readonly options: Nip47ClientOptions) {
    this.cipher = new PayloadCipher(options.connection.secretKey);
    this.relays = new RelayGroup({
      urls: options.connection.relays,
      log: options.log,
      onOpen: (relay) => this.resend(relay),
      publishTimeoutMs: PUBLISH_OK_TIMEOUT_MS,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.reconnectInitialMs !== undefined ? { reconnectInitialMs: options.reconnectInitialMs } : {}),
      ...(options.reconnectMaxMs !== undefined ? { reconnectMaxMs: options.reconnectMaxMs } : {}),
    });
  }

  get walletPubkey(): string {
    return this.options.connection.walletPubkey;
  }

  get relayUrls(): readonly string[] {
    return this.options.connection.relays;
  }

  relayStatus(): { url: string; open: boolean }[] {
    return this.relays.status();
  }

  /** Connects; resolves true once one relay is connected, false after timeoutMs (it keeps trying). */
  connect(timeoutMs: number): Promise<boolean> {
    this.relays.start();
    return this.relays.whenConnected(timeoutMs);
  }

  /** The wallet's newest info event (kind 13194) on the connected relays, or null if none has one. */
  async fetchInfoEvent(timeoutMs: number): Promise<NostrEvent | null> {
    this.infoEvents.length = 0;
    this.relays.subscribe(
      INFO_SUBSCRIPTION,
      () => [{ kinds: [KIND_INFO], authors: [this.walletPubkey], limit: 1 }],
      (event) => this.onInfoEvent(event),
    );
    await this.relays.whenLiveEverywhere(INFO_SUBSCRIPTION, timeoutMs);
    this.relays.unsubscribe(INFO_SUBSCRIPTION);
    return this.infoEvents.reduce<NostrEvent | null>(
      (newest, event) => (newest === null || event.created_at > newest.created_at ? event : newest),
      null,
    );
  }

  /** Chooses the encryption and opens the reply + notification subscription; true once it is live. */
  listen(encryption: Nip47Encryption, timeoutMs: number): Promise<boolean> {
    this.encryption = encryption;
    const filters = () => {
      const since = Math.floor(Date.now() / 1000) - SINCE_SLACK_SECONDS;
      const mine = { authors: [this.walletPubkey], '#p': [this.options.connection.clientPubkey], since };
      return [
        { kinds: [KIND_RESPONSE], ...mine },
        { kinds: [notificationKind(encryption)], ...mine },
      ];
    };
    this.relays.subscribe(REPLY_SUBSCRIPTION, filters, (event) => this.onReplyEvent(event));
    return this.relays.whenLive(REPLY_SUBSCRIPTION, timeoutMs);
  }

  onNotification(listener: (notification: Nip47Notification) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  async request<T>(
    method: Nip47Method,
    params: Record<string, unknown>,
    parse: ResultParser<T>,
    timeoutMs: number,
  ): Promise<Nip47Reply<T>> {
    const encryption = this.encryption;
    if (this.closed || encryption === null) {
      throw new LightningError('NodeUnavailable', 'the NWC connection is closed');
    }
    const started = Date.now();
    if (!(await this.relays.whenLive(REPLY_SUBSCRIPTION, timeoutMs))) {
      throw new LightningError(
        'NodeUnavailable',
        `${method} not sent: no relay of the NWC connection is reachable (${this.relayUrls.join(', ')})`,
      );
    }
    const remainingMs = Math.max(1, timeoutMs - (Date.now() - started));
    const now = Math.floor(Date.now() / 1000);
    const event = finalizeEvent(
      {
        kind: KIND_REQUEST,
        created_at: now,
        tags: [
          ['p', this.walletPubkey],
          ['encryption', encryption],
          ['expiration', String(now + Math.ceil(remainingMs / 1000) + EXPIRATION_SLACK_SECONDS)],
        ],
        content: this.cipher.encrypt(encryption, this.walletPubkey, JSON.stringify({ method, params })),
      },
      this.options.connection.secretKey,
    );

    const reply = new Promise<Nip47Reply<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(event.id);
        reject(
          new LightningError(
            'Timeout',
            `${method}: no valid answer from the NWC wallet service within ${timeoutMs} ms; its outcome is unknown until the next lookup`,
          ),
        );
      }, remainingMs);
      this.pending.set(event.id, {
        event,
        resendTimer: null,
        method,
        encryption,
        parse,
        resolve: resolve as (reply: Nip47Reply<unknown>) => void,
        reject,
        timer,
      });
    });
    this.scheduleResend(event.id, RESEND_FIRST_MS);
    this.relays.publish(event).catch((error: Error) => {
      const pending = this.pending.get(event.id);
      if (!pending) return;
      if (error instanceof RelayRefusal) {
        // No relay took the request, so no wallet can have acted on it.
        this.settle(event.id);
        pending.reject(new LightningError('NodeUnavailable', `${method} not sent: ${error.message}`));
      } else {
        this.options.log.warn(
          { method, err: error.message },
          'NWC request: no OK from the relays; waiting for the answer',
        );
      }
    });
    return reply;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.pending.keys()]) {
      const pending = this.settle(id);
      pending?.reject(
        new LightningError('NodeUnavailable', `${pending.method}: the NWC connection was closed`),
      );
    }
    void this.relays.close();
  }

  /**
   * Requests are ephemeral events: a relay passes them to whoever is subscribed at that moment and keeps
   * nothing, so one sent while the wallet service was reconnecting is lost. A request still unanswered is
   * therefore sent again, the same signed event, after 1 s, 2 s, 4 s... and to a relay that just came back.
   * A wallet acts on one event id once (NIP-47 services keep the ids they handled; Alby Hub in its database),
   * so a copy that reaches a wallet that already acted changes nothing.
   */
  private resend(relay: string): void {
    for (const pending of this.pending.values()) {
      this.relays.publishOn(relay, pending.event).catch(() => {
        // The reply timer still runs; nothing else to do.
      });
    }
  }

  private scheduleResend(id: string, delayMs: number): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    pending.resendTimer = setTimeout(() => {
      if (!this.pending.has(id)) return;
      this.relays.publish(pending.event).catch(() => {
        // Not connected, or refused: the next attempt (or the reply timer) follows.
      });
      this.scheduleResend(id, Math.min(delayMs * 2, RESEND_MAX_MS));
    }, delayMs);
  }

  private settle(id: string): PendingRequest | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    if (pending.resendTimer) clearTimeout(pending.resendTimer);
    this.pending.delete(id);
    return pending;
  }

  private onInfoEvent(raw: unknown): void {
    const checked = checkEvent(raw, { kinds: [KIND_INFO], author: this.walletPubkey });
    if (checked.ok) this.infoEvents.push(checked.event);
    else this.ignore('info event', checked.reason);
  }

  private onReplyEvent(raw: unknown): void {
    if (this.encryption === null) return;
    const checked = checkEvent(raw, {
      kinds: [KIND_RESPONSE, notificationKind(this.encryption)],
      author: this.walletPubkey,
    });
    if (!checked.ok) {
      this.ignore('event', checked.reason);
      return;
    }
    const event = checked.event;
    if (!hasTag(event, 'p', this.options.connection.clientPubkey)) {
      this.ignore('event', 'not addressed to us');
      return;
    }
    if (event.kind === KIND_RESPONSE) this.onResponse(event);
    else this.onNotificationEvent(event, this.encryption);
  }

  private onResponse(event: NostrEvent): void {
    const requestId = tagValue(event, 'e');
    const pending = requestId === undefined ? undefined : this.pending.get(requestId);
    // A late answer to a request that timed out, or one for another client instance: nothing waits for it.
    if (!pending || requestId === undefined) return;
    if (!this.seen.add(event.id)) return;
    let text: string;
    try {
      text = this.cipher.decrypt(pending.encryption, this.walletPubkey, event.content);
    } catch {
      this.ignore(`${pending.method} response`, 'cannot be decrypted');
      return;
    }
    const parsed = responseSchema.safeParse(parseJson(text));
    if (!parsed.success) {
      this.ignore(`${pending.method} response`, 'not a NIP-47 response');
      return;
    }
    const response = parsed.data;
    if (response.result_type !== pending.method) {
      this.ignore(`${pending.method} response`, `result_type is ${response.result_type}`);
      return;
    }
    if (response.error) {
      this.settle(requestId);
      pending.resolve({ ok: false, error: response.error });
      return;
    }
    const result = pending.parse(response.result);
    if (result === undefined) {
      this.ignore(`${pending.method} response`, 'its result has not the expected shape');
      return;
    }
    this.settle(requestId);
    pending.resolve({ ok: true, result });
  }

  private onNotificationEvent(event: NostrEvent, encryption: Nip47Encryption): void {
    if (!this.seen.add(event.id)) return;
    let text: string;
    try {
      text = this.cipher.decrypt(encryption, this.walletPubkey, event.content);
    } catch {
      this.ignore('notification', 'cannot be decrypted');
      return;
    }
    const parsed = notificationSchema.safeParse(parseJson(text));
    if (!parsed.success) {
      this.ignore('notification', 'not a NIP-47 notification');
      return;
    }
    const notification = { type: parsed.data.notification_type, payload: parsed.data.notification };
    for (const listener of this.notificationListeners) {
      try {
        listener(notification);
      } catch (error) {
        this.options.log.error({ err: String(error) }, 'an NWC notification listener threw');
      }
    }
  }

  private ignore(what: string, reason: string): void {
    this.options.log.warn({ wallet: this.walletPubkey.slice(0, 12), reason }, `ignored an NWC ${what}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
