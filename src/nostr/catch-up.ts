// Catch-up of one filter at one relay: every stored event from `since` on, page by page, newest first, each page
// ending where the previous one's oldest event was (`until` is inclusive, so events sharing that second are not
// lost between pages).
//
// It goes on until a page brings nothing new, not merely while pages are full: a relay may cap `limit` below
// ours, and a page it cut short looks the same as the last page. That costs one extra REQ per catch-up.
// Each filter is paged on its own: with several filters in one REQ the relay applies `limit` per filter, and one
// shared `until` would skip the older events of a filter whose page was cut short.
import type { Filter } from './pool-types.ts';

/** Sends one REQ and resolves with the events received before its EOSE; rejects if the relay CLOSEs it. */
export type PageRequest = (filter: Filter) => Promise<readonly unknown[]>;

export interface CatchUpResult {
  pages: number;
  events: number;
}

function createdAtOf(event: unknown): number | undefined {
  const createdAt = (event as { created_at?: unknown } | null)?.created_at;
  return typeof createdAt === 'number' && Number.isFinite(createdAt) ? createdAt : undefined;
}

function idOf(event: unknown): string | undefined {
  const id = (event as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

export interface CatchUpOptions {
  filter: Filter;
  since: number;
  pageLimit: number;
  request: PageRequest;
  /** Called when a full page lay within one second and the pages had to step past it. */
  onSkippedSecond?(second: number): void;
}

export async function catchUpFilter({
  filter,
  since,
  pageLimit,
  request,
  onSkippedSecond,
}: CatchUpOptions): Promise<CatchUpResult> {
  let until: number | undefined;
  // Ids of the events already seen at second `until`: the next page starts with them again.
  let atBoundary = new Set<string>();
  let pages = 0;
  let events = 0;
  for (;;) {
    const page = await request({
      ...filter,
      since,
      ...(until === undefined ? {} : { until }),
      limit: pageLimit,
    });
    pages += 1;
    events += page.length;
    let fresh = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const event of page) {
      const createdAt = createdAtOf(event);
      if (createdAt === undefined) continue;
      oldest = Math.min(oldest, createdAt);
      const id = idOf(event);
      if (until === undefined || createdAt < until || (id !== undefined && !atBoundary.has(id))) fresh += 1;
    }
    if (fresh === 0 || oldest === Number.POSITIVE_INFINITY || oldest < since) {
      // Nothing new: done, unless a full page sat entirely at the boundary second, so that more may hide there.
      if (until !== undefined && until > since && page.length >= pageLimit && oldest === until) {
        onSkippedSecond?.(until);
        until -= 1;
        atBoundary = new Set();
        continue;
      }
      return { pages, events };
    }
    const boundary = new Set(oldest === until ? atBoundary : []);
    for (const event of page) {
      const id = idOf(event);
      if (id !== undefined && createdAtOf(event) === oldest) boundary.add(id);
    }
    atBoundary = boundary;
    until = oldest;
  }
}
