// One event in one line, for the relay reports: its id, kind (and the transition's state label), time and task.
import { KINDS } from '../protocol/constants.ts';
import { isoTime } from './format.ts';

const KIND_NAMES: Record<number, string> = {
  [KINDS.profile]: 'profile',
  [KINDS.label]: 'label',
  [KINDS.jobFeedback]: 'payment prompt',
  [KINDS.relayList]: 'relay list',
  [KINDS.trustedAssertion]: 'reputation',
  [KINDS.handler]: 'announcement',
};

export function formatEventLine(
  event: { id: string; kind: number; created_at: number; tags: string[][] },
  taskId: string | null,
): string {
  const label = event.kind === 1985 ? event.tags.find((tag) => tag[0] === 'l')?.[1] : undefined;
  const kind = `${KIND_NAMES[event.kind] ?? 'kind'} ${event.kind}${label ? ` "${label}"` : ''}`;
  return `${event.id} (${kind}, ${isoTime(event.created_at)}${taskId ? `, task ${taskId}` : ''})`;
}
