// The browser APIs the task board uses beyond the verification page's (src/web/browser.ts), typed here by hand
// for the same reason: the repository's tsconfig has no DOM library, so that Node code cannot use `document`
// unnoticed. The board reads the browser's globals through these structural types only.
import type { PageDocument, PageElement, SocketLike } from '../web/browser.ts';

export interface BoardElement extends PageElement {
  value: string;
  disabled: boolean;
  checked: boolean;
  removeAttribute(name: string): void;
  select(): void;
  scrollIntoView(): void;
}

export interface BoardDocument extends PageDocument {
  body: PageElement;
  getElementById(id: string): BoardElement | null;
  createElementNS(namespace: string, tag: string): PageElement;
  /** The old way to copy a selection, where navigator.clipboard is missing (file:// in some browsers). */
  execCommand(command: string): boolean;
}

/** NIP-07: a browser extension that holds the user's key and signs on request. */
export interface Nip07 {
  getPublicKey(): Promise<string>;
  signEvent(template: {
    kind: number;
    created_at: number;
    tags: string[][];
    content: string;
  }): Promise<unknown>;
}

/** WebLN: a browser wallet. sendPayment of a hold invoice resolves only once the hold settles, if ever. */
export interface WebLn {
  enable(): Promise<void>;
  sendPayment(bolt11: string): Promise<{ preimage?: string }>;
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

interface BoardGlobals {
  document: BoardDocument;
  WebSocket: new (url: string) => SocketLike;
  location: { hash: string };
  performance: { now(): number };
  nostr?: Nip07;
  webln?: WebLn;
  navigator: { clipboard?: { writeText(text: string): Promise<void> } };
  localStorage?: KeyValueStore;
}

/** The page's globals, only ever read in a browser (never at import time). */
export function board(): BoardGlobals {
  return globalThis as unknown as BoardGlobals;
}

/** localStorage, or null where the browser refuses it (file:// with strict settings, private windows). */
export function storage(): KeyValueStore | null {
  try {
    return board().localStorage ?? null;
  } catch {
    return null;
  }
}
