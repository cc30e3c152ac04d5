// A NIP-47 wallet service in front of one HoldInvoiceBackend (the sandbox's agent node): it publishes its info
// event (kind 13194: methods, `notifications`, `encryption`), answers the requests (23194) of the client keys
// it was given with responses (23195), and tells those clients when a hold is accepted (hold_invoice_accepted),
// a hold settled (payment_received) or a payment sent (payment_sent), as 23197 (NIP-44) and/or 23196 (NIP-04).
//
// Requests are checked before anything is done: id and signature (a forged request is dropped unanswered),
// addressed to this wallet, not expired (NIP-40 tag) nor stale, not seen before, and signed by a known client
// key (any other key gets UNAUTHORIZED and never reaches the backend).
import { finalizeEvent, getPublicKey, type NostrEvent } from 'nostr-tools/pure';
import {
  ENCRYPTIONS,
  KIND_INFO,
  KIND_REQUEST,
  KIND_RESPONSE,
  type Nip47Encryption,
  type Nip47Error,
  type Nip47Method,
  type Nip47NotificationType,
  notificationKind,
} from '../nwc/nip47.ts';
import { PayloadCipher } from '../nwc/nip47-encryption.ts';
import { requestSchema } from '../nwc/nip47-schemas.ts';
import { type NwcLogger, silentLogger } from '../nwc/nwc-log.ts';
import { formatNwcUri } from '../nwc/nwc-uri.ts';
import { RelayGroup, SeenIds } from '../nwc/relay-group.ts';
import { checkEvent, hasTag, tagValue } from '../nwc/verify-event.ts';
import type { HoldInvoiceBackend, LightningEvent } from '../port.ts';
import {
  type HandlerOutcome,
  handleRequest,
  type InvoiceMaker,
  type ServiceSettings,
} from './handle-request.ts';
import { holdTransaction, paymentTransaction } from './to-transaction.ts';

export const SERVED_METHODS: readonly Nip47Method[] = [
  'get_info',
  'get_balance',
  'make_hold_invoice',
  'settle_hold_invoice',
  'cancel_hold_invoice',
  'lookup_invoice',
  'list_transactions',
  'pay_invoice',
];

export const SERVED_NOTIFICATIONS: readonly Nip47NotificationType[] = [
  'hold_invoice_accepted',
  'payment_received',
  'payment_sent',
];

export interface NwcWalletServiceOptions {
  backend: HoldInvoiceBackend;
  relays: readonly string[];
  /** The wallet service's own key (it signs everything it publishes). */
  walletSecretKey: Uint8Array;
  /** Public keys of the connections this wallet serves; requests signed by any other key are refused. */
  clientPubkeys: readonly string[];
  /**
   * Plain invoices for make_invoice (offer it in `methods`): the sandbox's payer and worker wallets, which the
   * task board page pays from and is paid to. Not part of the default SERVED_METHODS.
   */
  invoiceMaker?: InvoiceMaker;
  /** What the info event and get_info offer (default: all SERVED_METHODS). Others answer NOT_IMPLEMENTED. */
  methods?: readonly Nip47Method[];
  notifications?: readonly Nip47NotificationType[];
  /** Default NIP-44 only. */
  encryptions?: readonly Nip47Encryption[];
  /** Send the extension fields of docs/lightning-nwc.md (default true); false: plain NIP-47 + settle_deadline. */
  extensions?: boolean;
  alias?: string;
  log?: NwcLogger;
  /** How long start() waits for a relay. */
  startTimeoutMs?: number;
}

export interface ServiceCounters {
  /** Requests answered (successes and errors). */
  answered: number;
  /** Requests from keys that are not a known client: answered UNAUTHORIZED, never run. */
  unauthorized: number;
  /** Events dropped unanswered: bad signature, not for us, stale, expired, undecryptable. */
  dropped: number;
  notificationsSent: number;
}

const REQUEST_SUBSCRIPTION = 'nwc-requests';
/** A request older than this is not acted on (relays that store ephemeral events could replay it). */
const MAX_REQUEST_AGE_SECONDS = 600;
const PUBLISH_TIMEOUT_MS = 5000;
/** NIP-44's limit (nostr-tools would go further, with a length prefix other implementations do not read). */
const MAX_PLAINTEXT_BYTES = 65_535;

export class NwcWalletService {
  readonly counters: ServiceCounters = { answered: 0, unauthorized: 0, dropped: 0, notificationsSent: 0 };
  readonly walletPubkey: string;
  private readonly relays: RelayGroup;
  private readonly cipher: PayloadCipher;
  private readonly seen = new SeenIds();
  private readonly clients: Set<string>;
  private readonly settings: ServiceSettings;
  private readonly encryptions: readonly Nip47Encryption[];
  private readonly log: NwcLogger;
  private unsubscribeBackend: (() => void) | null = null;
  private stopped = false;

  private constructor(private readonly options: NwcWalletServiceOptions) {
    this.walletPubkey = getPublicKey(options.walletSecretKey);
    this.cipher = new PayloadCipher(options.walletSecretKey);
    this.clients = new Set(options.clientPubkeys);
    this.encryptions = options.encryptions ?? ['nip44_v2'];
    this.log = options.log ?? silentLogger;
    this.settings = {
      backend: options.backend,
      methods: options.methods ?? SERVED_METHODS,
      notifications: options.notifications ?? SERVED_NOTIFICATIONS,
      extensions: options.extensions ?? true,
      alias: options.alias ?? 'escrow sandbox wallet',
      sent: new Map(),
      ...(options.invoiceMaker ? { invoiceMaker: options.invoiceMaker } : {}),
    };
    this.relays = new RelayGroup({
      urls: options.relays,
      log: this.log,
      publishTimeoutMs: PUBLISH_TIMEOUT_MS,
      // A relay that restarted (or lost its database) must hold the info event again.
      onOpen: () => {
        this.publishInfo().catch((error) =>
          this.log.error({ err: String(error) }, 'NWC service: info event'),
        );
      },
    });
  }

  /** Resolves once a relay carries the request subscription and holds the info event. */
  static async start(options: NwcWalletServiceOptions): Promise<NwcWalletService> {
    const service = new NwcWalletService(options);
    const timeoutMs = options.startTimeoutMs ?? 15_000;
    service.relays.subscribe(
      REQUEST_SUBSCRIPTION,
      () => [
        { kinds: [KIND_REQUEST], '#p': [service.walletPubkey], since: Math.floor(Date.now() / 1000) - 60 },
      ],
      (event) => {
        service
          .onRequest(event)
          .catch((error) => service.log.error({ err: String(error) }, 'NWC service: a request failed'));
      },
    );
    service.relays.start();
    if (!(await service.relays.whenLive(REQUEST_SUBSCRIPTION, timeoutMs))) {
      await service.relays.close();
      throw new Error(`the NWC wallet service cannot reach any of its relays (${options.relays.join(', ')})`);
    }
    await service.publishInfo();
    service.unsubscribeBackend = options.backend.subscribe((event) => void service.onBackendEvent(event));
    return service;
  }

  /** The URI a client with `clientSecretKey` connects with (the client's key must be in clientPubkeys). */
  connectionUri(clientSecretKey: Uint8Array): string {
    return formatNwcUri({
      walletPubkey: this.walletPubkey,
      relays: this.options.relays,
      secretKey: clientSecretKey,
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeBackend?.();
    await this.relays.close();
  }

  private async publishInfo(): Promise<void> {
    if (this.stopped) return;
    const { methods, notifications } = this.settings;
    const event = finalizeEvent(
      {
        kind: KIND_INFO,
        created_at: Math.floor(Date.now() / 1000),
        tags: [
          ['encryption', this.encryptions.join(' ')],
          ['notifications', notifications.join(' ')],
        ],
        content: [...methods, ...(notifications.length > 0 ? ['notifications'] : [])].join(' '),
      },
      this.options.walletSecretKey,
    );
    await this.relays
      .publish(event)
      .catch((error: Error) =>
        this.log.error({ err: error.message }, 'NWC service: the info event was not published'),
      );
  }

  private async onRequest(raw: unknown): Promise<void> {
    if (this.stopped) return;
    const checked = checkEvent(raw, { kinds: [KIND_REQUEST] });
    if (!checked.ok) return this.drop(checked.reason);
    const request = checked.event;
    if (!hasTag(request, 'p', this.walletPubkey)) return this.drop('not addressed to this wallet');
    // Only now, verified: a forged copy must not keep the genuine request out.
    if (!this.seen.add(request.id)) return;
    const now = Math.floor(Date.now() / 1000);
    const expiration = Number(tagValue(request, 'expiration') ?? Number.NaN);
    if (Number.isFinite(expiration) && expiration <= now) return this.drop('expired');
    if (request.created_at < now - MAX_REQUEST_AGE_SECONDS) return this.drop('stale');
    const encryption = encryptionOf(request);
    if (!encryption) return this.drop('unknown encryption');

    let method = 'unknown';
    let params: Record<string, unknown> = {};
    try {
      const parsed = requestSchema.safeParse(
        JSON.parse(this.cipher.decrypt(encryption, request.pubkey, request.content)),
      );
      if (parsed.success) {
        method = parsed.data.method;
        params = parsed.data.params;
      }
    } catch {
      return this.drop('cannot be decrypted');
    }

    let outcome: HandlerOutcome;
    if (!this.clients.has(request.pubkey)) {
      this.counters.unauthorized += 1;
      this.log.warn(
        { from: request.pubkey.slice(0, 12), method },
        'NWC service: request from an unknown key refused',
      );
      outcome = { error: { code: 'UNAUTHORIZED', message: 'this public key has no wallet connected' } };
    } else if (!this.encryptions.includes(encryption)) {
      outcome = {
        error: {
          code: 'UNSUPPORTED_ENCRYPTION',
          message: `this wallet speaks ${this.encryptions.join(' ')}`,
        },
      };
    } else if (method === 'unknown') {
      outcome = { error: { code: 'OTHER', message: 'InvalidArgument: not a NIP-47 request' } };
    } else {
      outcome = await handleRequest(this.settings, method, params);
    }
    await this.respond(request, encryption, method, outcome);
  }

  private async respond(
    request: NostrEvent,
    encryption: Nip47Encryption,
    method: string,
    outcome: HandlerOutcome,
  ) {
    const body =
      'error' in outcome
        ? { result_type: method, error: outcome.error satisfies Nip47Error, result: null }
        : { result_type: method, error: null, result: outcome.result };
    let text = JSON.stringify(body);
    if (Buffer.byteLength(text, 'utf8') > MAX_PLAINTEXT_BYTES) {
      // NIP-44 as specified takes at most 64 KiB: a list_transactions page too large is refused, never cut
      // short (a short page reads as the last one).
      const error = {
        code: 'INTERNAL',
        message: 'the answer is too large to encrypt; ask for fewer at a time',
      };
      text = JSON.stringify({ result_type: method, error, result: null });
    }
    const content = this.cipher.encrypt(encryption, request.pubkey, text);
    const response = finalizeEvent(
      {
        kind: KIND_RESPONSE,
        created_at: Math.floor(Date.now() / 1000),
        tags: [
          ['p', request.pubkey],
          ['e', request.id],
        ],
        content,
      },
      this.options.walletSecretKey,
    );
    this.counters.answered += 1;
    await this.relays
      .publish(response)
      .catch((error: Error) =>
        this.log.warn({ method, err: error.message }, 'NWC service: a response was not published'),
      );
  }

  private async onBackendEvent(event: LightningEvent): Promise<void> {
    if (this.stopped) return;
    try {
      switch (event.type) {
        case 'hold_accepted': {
          const hold = await this.options.backend.lookup(event.paymentHash);
          if (hold?.state === 'ACCEPTED') {
            await this.notify('hold_invoice_accepted', holdTransaction(hold, this.settings.extensions));
          }
          return;
        }
        case 'hold_settled': {
          const hold = await this.options.backend.lookup(event.paymentHash);
          if (hold?.state === 'SETTLED')
            await this.notify('payment_received', holdTransaction(hold, this.settings.extensions));
          return;
        }
        case 'payment_succeeded': {
          const result = await this.options.backend.paymentStatus(event.paymentHash);
          if (result?.status === 'succeeded') {
            const sent = this.settings.sent.get(event.paymentHash);
            await this.notify('payment_sent', paymentTransaction(result, sent, this.settings.extensions));
          }
          return;
        }
        default:
          return;
      }
    } catch (error) {
      this.log.warn({ event: event.type, err: String(error) }, 'NWC service: a notification was not sent');
    }
  }

  private async notify(type: Nip47NotificationType, notification: unknown): Promise<void> {
    if (!this.settings.notifications.includes(type)) return;
    const content = JSON.stringify({ notification_type: type, notification });
    const sends: Promise<void>[] = [];
    for (const client of this.clients) {
      for (const encryption of this.encryptions) {
        const event = finalizeEvent(
          {
            kind: notificationKind(encryption),
            created_at: Math.floor(Date.now() / 1000),
            tags: [['p', client]],
            content: this.cipher.encrypt(encryption, client, content),
          },
          this.options.walletSecretKey,
        );
        this.counters.notificationsSent += 1;
        sends.push(
          this.relays
            .publish(event)
            .catch((error: Error) =>
              this.log.warn({ type, err: error.message }, 'NWC service: a notification was not published'),
            ),
        );
      }
    }
    await Promise.all(sends);
  }

  private drop(reason: string): void {
    this.counters.dropped += 1;
    this.log.debug({ reason }, 'NWC service: event dropped');
  }
}

/** NIP-47: a request without the tag is NIP-04 (the first version of the NIP). */
function encryptionOf(event: NostrEvent): Nip47Encryption | null {
  const tag = tagValue(event, 'encryption');
  if (tag === undefined) return 'nip04';
  return ENCRYPTIONS.find((encryption) => encryption === tag) ?? null;
}
