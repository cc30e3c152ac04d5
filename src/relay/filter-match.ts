// NIP-01 filter semantics, shared by live delivery and by the stored-event query so the two cannot disagree:
// within a filter every condition present must hold (AND); within one condition any listed value may match (OR);
// the filters of one REQ are alternatives (OR). `limit` only shapes the initial query and is ignored here.
// (@nostr-relay/common's EventUtils.isMatchingFilter skips the `#x` tag conditions, so live subscribers got
// events their tag filters exclude.)
import type { Event, Filter } from '@nostr-relay/common';

const TAG_FILTER_KEY = /^#[a-zA-Z]$/;

/** The `#x` conditions of a filter as [tag letter, accepted values]. */
export function tagConditions(filter: Filter): Array<[string, string[]]> {
  const conditions: Array<[string, string[]]> = [];
  for (const [key, values] of Object.entries(filter)) {
    if (TAG_FILTER_KEY.test(key) && Array.isArray(values)) conditions.push([key.slice(1), values]);
  }
  return conditions;
}

function hasTagValue(event: Event, letter: string, values: readonly string[]): boolean {
  return event.tags.some((tag) => tag[0] === letter && tag[1] !== undefined && values.includes(tag[1]));
}

export function matchesFilter(event: Event, filter: Filter): boolean {
  if (filter.ids !== undefined && !filter.ids.includes(event.id)) return false;
  if (filter.authors !== undefined && !filter.authors.includes(event.pubkey)) return false;
  if (filter.kinds !== undefined && !filter.kinds.includes(event.kind)) return false;
  if (filter.since !== undefined && event.created_at < filter.since) return false;
  if (filter.until !== undefined && event.created_at > filter.until) return false;
  return tagConditions(filter).every(([letter, values]) => hasTagValue(event, letter, values));
}

export function matchesAnyFilter(event: Event, filters: readonly Filter[]): boolean {
  return filters.some((filter) => matchesFilter(event, filter));
}
