// Handles EVENT and REQ in place of @nostr-relay/core (which keeps CLOSE, AUTH and the client contexts).
// Core answered REQ from a one-second result cache and EVENT from a per-id answer cache, matched live events
// without their tag filters, never stored deletion requests, and called expired events `reject:`.
//
// Invariant: both handlers run to completion without awaiting, so a publish (store + fan-out) and a REQ
// (subscribe + stored query + EOSE) are atomic with respect to each other.
import {
  type ClientContext,
  createOutgoingClosedMessage,
  createOutgoingEoseMessage,
  createOutgoingEventMessage,
  createOutgoingOkMessage,
  type Event,
  type Filter,
  type HandleMessagePlugin,
  type HandleMessageResult,
  type IncomingMessage,
} from '@nostr-relay/common';
import { admitEvent } from './admit-event.ts';
import type { LiveSubscriptions } from './live-subscriptions.ts';
import type { RelayLogger } from './relay-logger.ts';
import type { SqliteEventStore } from './sqlite-event-store.ts';

export interface RelayProtocolDeps {
  store: SqliteEventStore;
  live: LiveSubscriptions;
  /** Unix seconds. */
  now: () => number;
  logger: RelayLogger;
  maxSubscriptionsPerClient: number;
}

function newestFirst(a: Event, b: Event): number {
  return b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class RelayProtocol implements HandleMessagePlugin {
  constructor(private readonly deps: RelayProtocolDeps) {}

  handleMessage(
    context: ClientContext,
    message: IncomingMessage,
    next: () => Promise<HandleMessageResult>,
  ): Promise<HandleMessageResult> {
    switch (message[0]) {
      case 'EVENT':
        return Promise.resolve(this.publish(context, message[1]));
      case 'REQ': {
        const [, subscriptionId, ...filters] = message;
        return Promise.resolve(this.subscribe(context, subscriptionId, filters));
      }
      case 'CLOSE':
      case 'AUTH':
        return next();
      default: {
        const unreachable: never = message;
        return Promise.reject(new Error(`unhandled message ${JSON.stringify(unreachable)}`));
      }
    }
  }

  private publish(context: ClientContext, event: Event): HandleMessageResult {
    const { store, live, now, logger } = this.deps;
    let admission: ReturnType<typeof admitEvent>;
    try {
      admission = admitEvent(store, event, now());
    } catch (error) {
      logger.error({ err: error, eventId: event.id }, 'relay could not store an event');
      admission = { accepted: false, message: 'error: could not store the event', deliver: false };
    }
    if (!admission.accepted)
      logger.debug({ eventId: event.id, reason: admission.message }, 'relay refused an event');
    context.sendMessage(createOutgoingOkMessage(event.id, admission.accepted, admission.message));
    if (admission.deliver) live.deliver(event);
    return { messageType: 'EVENT', success: admission.accepted, message: admission.message };
  }

  private subscribe(context: ClientContext, subscriptionId: string, filters: Filter[]): HandleMessageResult {
    const { store, live, now, logger, maxSubscriptionsPerClient } = this.deps;
    const subscriptions = context.subscriptions;
    if (!subscriptions.has(subscriptionId) && subscriptions.size >= maxSubscriptionsPerClient) {
      const reason = `rate-limited: at most ${maxSubscriptionsPerClient} open subscriptions; close one first`;
      context.sendMessage(createOutgoingClosedMessage(subscriptionId, reason));
      return { messageType: 'REQ', events: [] };
    }
    // NIP-01: a REQ with an open subscription's id replaces it.
    subscriptions.set(subscriptionId, filters);
    live.track(context);
    let events: Event[];
    try {
      const found = new Map<string, Event>();
      const at = now();
      for (const filter of filters) for (const event of store.query(filter, at)) found.set(event.id, event);
      events = [...found.values()].sort(newestFirst);
    } catch (error) {
      logger.error({ err: error, subscriptionId }, 'relay could not query its events');
      subscriptions.delete(subscriptionId);
      context.sendMessage(createOutgoingClosedMessage(subscriptionId, 'error: could not query the events'));
      return { messageType: 'REQ', events: [] };
    }
    for (const event of events) context.sendMessage(createOutgoingEventMessage(subscriptionId, event));
    context.sendMessage(createOutgoingEoseMessage(subscriptionId));
    return { messageType: 'REQ', events };
  }
}
