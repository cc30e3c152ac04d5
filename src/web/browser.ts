// The few browser APIs the verification page uses, typed here by hand. The repository's tsconfig has no DOM
// library (everything else is Node code), and adding one for the whole program would let Node code use
// `document` unnoticed; so src/web reads the browser's globals through these structural types instead.

export interface PageNode {
  textContent: string | null;
}

export interface PageElement extends PageNode {
  className: string;
  hidden: boolean;
  id: string;
  append(...children: Array<PageElement | string>): void;
  replaceChildren(...children: Array<PageElement | string>): void;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (event: PageEvent) => void): void;
  focus(): void;
}

export interface PageInput extends PageElement {
  value: string;
  disabled: boolean;
}

export interface PageEvent {
  preventDefault(): void;
}

export interface PageDocument {
  getElementById(id: string): PageElement | null;
  createElement(tag: string): PageElement;
}

/** The part of the browser's WebSocket (and of the `ws` package's) that fetching from a relay needs. */
export interface SocketLike {
  readonly readyState: number;
  send(text: string): void;
  close(): void;
  onopen: (() => void) | null;
  onmessage: ((message: { data: unknown }) => void) | null;
  onerror: (() => void) | null;
  onclose: (() => void) | null;
}

export type OpenSocket = (url: string) => SocketLike;

interface BrowserGlobals {
  document: PageDocument;
  WebSocket: new (url: string) => SocketLike;
  location: { hash: string };
  performance: { now(): number };
}

/** The page's globals, only ever read in a browser (never at import time). */
export function browser(): BrowserGlobals {
  return globalThis as unknown as BrowserGlobals;
}
