// The wire protocol of the Nostr Escrow Agent (docs/protocol.md) as one module a client can import: what people
// send (listings, actions), what the agent publishes (announcement, transitions, rejections, payment prompts),
// how to read and check each of them, and how to verify a task's whole history from relay events alone.
// Pure code: zod, nostr-tools' pure modules and @noble/@scure only, so a browser page bundles it as it is
// (test/protocol/browser-bundle.test.ts keeps it that way).

export * from './agent-schemas.ts';
export * from './build-action.ts';
export * from './build-announcement.ts';
export * from './build-listing.ts';
export * from './build-notices.ts';
export * from './build-transition.ts';
export * from './constants.ts';
export * from './heads.ts';
export * from './parse-action.ts';
export * from './parse-task-listing.ts';
export * from './parse-transition.ts';
export * from './private-notice.ts';
export * from './protocol-input-error.ts';
export * from './reasons.ts';
export * from './rebuild-task.ts';
export * from './reputation.ts';
export { type NostrEvent, nostrEventSchema, parseEvent, parseEventJson } from './schemas.ts';
export type * from './transition-types.ts';
export * from './verify-event.ts';
export * from './verify-history.ts';
export * from './verify-task.ts';
