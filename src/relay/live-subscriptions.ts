// Delivery of newly accepted events to open subscriptions. The filters live where @nostr-relay/core keeps them
// (ClientContext.subscriptions, so its CLOSE handling still applies); the matching is ours (filter-match.ts).
import { type Client, type ClientContext, createOutgoingEventMessage, type Event } from '@nostr-relay/common';
import { matchesAnyFilter } from './filter-match.ts';

export class LiveSubscriptions {
  private readonly contexts = new Map<Client, ClientContext>();

  /** Called for every context that opens a subscription. */
  track(context: ClientContext): void {
    this.contexts.set(context.client, context);
  }

  forget(client: Client): void {
    this.contexts.delete(client);
  }

  deliver(event: Event): number {
    let sent = 0;
    for (const context of this.contexts.values()) {
      if (!context.isOpen) continue;
      for (const [subscriptionId, filters] of context.subscriptions.entries()) {
        if (matchesAnyFilter(event, filters)) {
          context.sendMessage(createOutgoingEventMessage(subscriptionId, event));
          sent += 1;
        }
      }
    }
    return sent;
  }
}
