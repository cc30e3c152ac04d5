// Catch-up at one relay: every stored event from `since` on, filter by filter, page by page, newest first, each
// page ending where the previous one's oldest event was (`until` is inclusive, so events sharing that second are
// not lost between pages). Each filter is paged on its own: with several filters in one REQ the relay applies
// `limit` per filter, and one shared `until` would skip the older events of a filter whose page was cut short.
//
// The progress rule. A page counts only what it brings inside the window it asked for and has not seen: events
// older than the `until` it asked for, or at that second with an id not seen there yet. An event newer than `until`
// or older than `since`, or more events than `limit`, breaks the rules: it is recorded (`violations`) and never
// counts as progress. The filter is done when a page brings nothing new (not merely when a page is short: a relay
// may cap `limit` below ours). So a relay that ignores `until` or `limit`, or replays the same events endlessly,
// ends its catch-up after one more page instead of being paged forever.
//
// Budgets. A pass (run()) sends at most `maxPagesPerPass` REQs and takes at most `maxEventsPerPass` events; it
// also stops when the caller says so before a page (the relay's buffer is full). A pass that stops on a budget
// keeps its place (filter, `until`, the ids seen at that second): the next run() continues from there, so a long
// honest backlog is read in bounded chunks. A page cut short because the buffer filled is asked again (same
// `until`, a `limit` no larger than what fitted), not stepped past.
import type { Filter } from './pool-types.ts';

/** What a page needs of each event it brought (readable, or dropped with a readable created_at). */
export interface PageItem {
  id?: string;
  createdAt?: number;
}

export type CutReason = 'over-limit' | 'buffer-full';

export interface RequestResult {
  /** Events (and dropped events whose created_at could be read) received for it, up to its budget. */
  items: PageItem[];
  /** Every EVENT frame received for it, dropped ones and those past its budget included. */
  received: number;
  /** Ended by us before its EOSE: the relay sent more than the page's limit, or the relay's buffer was full. */
  cut: false | CutReason;
}

/** Sends one REQ (with this `limit`) and resolves at its EOSE, or when it was cut short; rejects on CLOSED. */
export type PageRequest = (filter: Filter) => Promise<RequestResult>;

export interface CatchUpLimits {
  pageLimit: number;
  maxPagesPerPass: number;
  maxEventsPerPass: number;
}

export interface PassResult {
  /** complete: every filter is done. budget: stopped on a budget; run() again to continue. */
  status: 'complete' | 'budget';
  /** Why a budget pass stopped. */
  reason?: string;
  pages: number;
  events: number;
}

export type Violation = 'ignores until' | 'ignores since' | 'ignores limit';

export class CatchUpPass {
  private filterIndex = 0;
  private until: number | undefined;
  /** Ids of the events already seen at second `until`: the next page starts with them again. */
  private atBoundary = new Set<string>();
  /** The limit of the next page, when a page cut short must be asked again smaller. */
  private nextLimit: number | undefined;
  /** Rules the relay broke in this pass (all runs). */
  readonly violations = new Set<Violation>();
  pages = 0;
  events = 0;

  constructor(
    private readonly filters: readonly Filter[],
    readonly since: number,
    private readonly limits: CatchUpLimits,
    /** Called when a full page lay within one second and the pages had to step past it. */
    private readonly onSkippedSecond?: (second: number) => void,
  ) {}

  get done(): boolean {
    return this.filterIndex >= this.filters.length;
  }

  /** Pages on from where the last run stopped. `stopBefore` is asked before each page: a reason stops the run. */
  async run(request: PageRequest, stopBefore: () => string | undefined): Promise<PassResult> {
    const { pageLimit, maxPagesPerPass, maxEventsPerPass } = this.limits;
    const since = this.since;
    let pages = 0;
    let events = 0;
    const result = (status: PassResult['status'], reason?: string): PassResult => ({
      status,
      ...(reason === undefined ? {} : { reason }),
      pages,
      events,
    });
    while (!this.done) {
      if (pages >= maxPagesPerPass) return result('budget', `${pages} pages`);
      if (events >= maxEventsPerPass) return result('budget', `${events} events`);
      const stop = stopBefore();
      if (stop !== undefined) return result('budget', stop);
      const limit = this.nextLimit ?? pageLimit;
      this.nextLimit = undefined;
      const until = this.until;
      const filter = this.filters[this.filterIndex] as Filter;
      const page = await request({ ...filter, since, ...(until === undefined ? {} : { until }), limit });
      pages += 1;
      events += page.received;
      this.pages += 1;
      this.events += page.received;
      if (page.received > limit) this.violations.add('ignores limit');
      if (page.cut === 'buffer-full') {
        // Asked again from the same place, no larger than what fitted.
        this.nextLimit = Math.max(1, Math.min(limit, page.items.length));
        return result('budget', 'buffer full');
      }
      let fresh = 0;
      let oldest = Number.POSITIVE_INFINITY;
      let oldestInWindow = Number.POSITIVE_INFINITY;
      for (const item of page.items) {
        const createdAt = item.createdAt;
        if (createdAt === undefined) continue;
        if (until !== undefined && createdAt > until) {
          this.violations.add('ignores until');
          continue;
        }
        if (createdAt < since) {
          this.violations.add('ignores since');
          continue;
        }
        oldestInWindow = Math.min(oldestInWindow, createdAt);
        const atUntil = until !== undefined && createdAt === until;
        // An event known only by its created_at (dropped, unreadable id) is progress only when strictly older.
        if (atUntil && (item.id === undefined || this.atBoundary.has(item.id))) continue;
        fresh += 1;
        oldest = Math.min(oldest, createdAt);
      }
      if (fresh === 0) {
        // Nothing new: done, unless a full page sat entirely at the boundary second, so that more may hide there.
        if (until !== undefined && until > since && page.received >= limit && oldestInWindow === until) {
          this.onSkippedSecond?.(until);
          this.until = until - 1;
          this.atBoundary = new Set();
          continue;
        }
        this.filterIndex += 1;
        this.until = undefined;
        this.atBoundary = new Set();
        continue;
      }
      const boundary = new Set(oldest === until ? this.atBoundary : []);
      for (const item of page.items) {
        if (item.id !== undefined && item.createdAt === oldest) boundary.add(item.id);
      }
      this.atBoundary = boundary;
      this.until = oldest;
    }
    return result('complete');
  }
}
