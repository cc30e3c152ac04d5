// What a wallet service offers, read from its info event (kind 13194: content = methods, `notifications` and
// `encryption` tags) and from get_info (the methods and notifications of this connection), and the start-up
// check: every method and notification the agent needs must be in both, or the adapter refuses to start
// with a message that names each missing one and where it is missing.
import type { NostrEvent } from 'nostr-tools/pure';
import { ENCRYPTIONS, type Nip47Encryption, REQUIRED_METHODS, REQUIRED_NOTIFICATIONS } from './nip47.ts';
import type { Nip47Info } from './nip47-schemas.ts';

export interface InfoEventCapabilities {
  methods: string[];
  notifications: string[];
  /** As advertised; NIP-47 says a wallet without the tag speaks NIP-04 only. */
  encryptions: string[];
}

export class NwcStartupError extends Error {
  override name = 'NwcStartupError';

  constructor(
    message: string,
    readonly missingMethods: readonly string[] = [],
    readonly missingNotifications: readonly string[] = [],
  ) {
    super(message);
  }
}

export function readInfoEvent(event: NostrEvent): InfoEventCapabilities {
  const words = (text: string | undefined) => (text ?? '').split(/[\s,]+/).filter((word) => word !== '');
  const tag = (name: string) => event.tags.find((candidate) => candidate[0] === name)?.[1];
  const encryption = tag('encryption');
  return {
    // Alby's first services separated methods with commas; the NIP says spaces.
    methods: words(event.content).filter((word) => word !== 'notifications'),
    notifications: words(tag('notifications')),
    encryptions: encryption === undefined ? ['nip04'] : words(encryption),
  };
}

/** NIP-44 v2 when offered; NIP-04 only when it is all the wallet speaks; null when there is nothing in common. */
export function chooseEncryption(offered: readonly string[]): Nip47Encryption | null {
  return ENCRYPTIONS.find((encryption) => offered.includes(encryption)) ?? null;
}

export interface MissingCapabilities {
  methods: { name: string; where: string[] }[];
  notifications: { name: string; where: string[] }[];
}

/** `info` may be null when the wallet does not offer get_info (it is itself required, so that is reported). */
export function findMissing(infoEvent: InfoEventCapabilities, info: Nip47Info | null): MissingCapabilities {
  const missing: MissingCapabilities = { methods: [], notifications: [] };
  for (const name of REQUIRED_METHODS) {
    const where: string[] = [];
    if (!infoEvent.methods.includes(name)) where.push('info event (kind 13194)');
    if (info?.methods && !info.methods.includes(name)) where.push('get_info of this connection');
    if (where.length > 0) missing.methods.push({ name, where });
  }
  for (const name of REQUIRED_NOTIFICATIONS) {
    const where: string[] = [];
    if (!infoEvent.notifications.includes(name)) where.push('info event (kind 13194)');
    if (info?.notifications && !info.notifications.includes(name)) where.push('get_info of this connection');
    if (where.length > 0) missing.notifications.push({ name, where });
  }
  return missing;
}

export function missingCapabilitiesError(
  walletPubkey: string,
  missing: MissingCapabilities,
): NwcStartupError {
  const describe = (items: { name: string; where: string[] }[]) =>
    items.map((item) => `${item.name} (not in the ${item.where.join(' nor the ')})`).join(', ');
  const parts: string[] = [];
  if (missing.methods.length > 0)
    parts.push(`method${missing.methods.length > 1 ? 's' : ''} ${describe(missing.methods)}`);
  if (missing.notifications.length > 0) {
    parts.push(
      `notification${missing.notifications.length > 1 ? 's' : ''} ${describe(missing.notifications)}`,
    );
  }
  return new NwcStartupError(
    `the NWC wallet service ${walletPubkey} is missing ${parts.join('; and ')}. ` +
      `The escrow agent needs the methods ${REQUIRED_METHODS.join(', ')} and the notification ` +
      `${REQUIRED_NOTIFICATIONS.join(', ')}: use a wallet service that offers hold invoices over NWC (Alby Hub does) ` +
      'and give this connection all of these permissions.',
    missing.methods.map((item) => item.name),
    missing.notifications.map((item) => item.name),
  );
}
