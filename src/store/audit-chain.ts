// The audit log is a hash chain per task. Row n (seq n, from 1) is linked to row n-1 by prev_hash; row 1 is
// linked to GENESIS_HASH. The hashed fields, identical on every database:
//
//   hash = sha256Hex(prev_hash + canonicalJson({ task_id, seq, event_type, body, prev_hash, created_at }))
//
// where body is the stored text (the event's canonical JSON) and created_at is the event's own `at`, so a
// chain depends only on the task id and its events: a chain rebuilt from relays has the same hashes.
// The task row keeps version = last seq and audit_head = last hash, so a cut tail is detectable too.
import { canonicalJson, sha256Hex } from '../domain/canonical.ts';
import type { TaskEvent } from '../domain/types.ts';
import type { AuditProblem } from './port.ts';
import { encodeBody } from './task-codec.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditLink {
  taskId: string;
  seq: number;
  eventType: string;
  body: string;
  prevHash: string;
  hash: string;
  createdAt: number;
}

export function linkHash(link: Omit<AuditLink, 'hash'>): string {
  const hashed = {
    task_id: link.taskId,
    seq: link.seq,
    event_type: link.eventType,
    body: link.body,
    prev_hash: link.prevHash,
    created_at: link.createdAt,
  };
  return sha256Hex(link.prevHash + canonicalJson(hashed));
}

/** The links that append `events` to a chain whose last row is (afterSeq, afterHash). */
export function chainEvents(
  taskId: string,
  after: { seq: number; hash: string },
  events: readonly TaskEvent[],
): AuditLink[] {
  const links: AuditLink[] = [];
  let previous = after;
  for (const event of events) {
    const unhashed = {
      taskId,
      seq: previous.seq + 1,
      eventType: event.type,
      body: encodeBody(event),
      prevHash: previous.hash,
      createdAt: event.at,
    };
    const link = { ...unhashed, hash: linkHash(unhashed) };
    links.push(link);
    previous = link;
  }
  return links;
}

/** Every problem in one task's chain. `links` are the task's rows ordered by seq; `head` is the task row. */
export function findChainProblems(
  head: { taskId: string; version: number; auditHead: string },
  links: readonly AuditLink[],
): AuditProblem[] {
  const problems: AuditProblem[] = [];
  const report = (seq: number, kind: AuditProblem['kind'], detail: string) =>
    problems.push({ taskId: head.taskId, seq, kind, detail });
  let previous = { seq: 0, hash: GENESIS_HASH };
  for (const link of links) {
    if (link.seq !== previous.seq + 1) {
      report(link.seq, 'seq_gap', `expected seq ${previous.seq + 1}, found ${link.seq}`);
    }
    if (link.prevHash !== previous.hash) {
      report(link.seq, 'broken_link', `prev_hash does not match the hash of seq ${previous.seq}`);
    }
    if (linkHash(link) !== link.hash) {
      report(link.seq, 'hash_mismatch', 'the stored hash is not the hash of the row');
    }
    previous = link;
  }
  if (previous.seq !== head.version || previous.hash !== head.auditHead) {
    report(
      head.version,
      'head_mismatch',
      `the task row says version ${head.version}, the chain ends at seq ${previous.seq}` +
        (previous.hash === head.auditHead ? '' : ' with another hash than audit_head'),
    );
  }
  return problems;
}
