// Finds the one label of ours on a kind 1985 event: the first thing both the action and transition parsers do.

import { KINDS, LABEL_NAMESPACE } from './constants.ts';
import type { NostrEvent } from './schemas.ts';

export type ReadLabelResult = { ok: true; label: string } | { ok: false; text: string };

export function readLabel(event: Pick<NostrEvent, 'kind' | 'tags'>): ReadLabelResult {
  if (event.kind !== KINDS.label)
    return { ok: false, text: `kind ${event.kind} is not a NIP-32 label (1985)` };
  const labels = event.tags.filter((tag) => tag[0] === 'l' && tag[2] === LABEL_NAMESPACE);
  if (labels.length === 0) return { ok: false, text: `no label in namespace ${LABEL_NAMESPACE}` };
  if (labels.length > 1) return { ok: false, text: `more than one label in namespace ${LABEL_NAMESPACE}` };
  if (!event.tags.some((tag) => tag[0] === 'L' && tag[1] === LABEL_NAMESPACE)) {
    return { ok: false, text: `missing ["L", "${LABEL_NAMESPACE}"] tag` };
  }
  return { ok: true, label: labels[0]![1]! };
}
