// Loads LDK's WASM once per process. Every node in the process shares the one instance.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as ldk from 'lightningdevkit';

let loading: Promise<void> | null = null;

export function loadLdk(): Promise<void> {
  loading ??= initialise();
  return loading;
}

async function initialise(): Promise<void> {
  const require = createRequire(import.meta.url);
  const binary = readFileSync(require.resolve('lightningdevkit/liblightningjs.wasm'));
  // The bindings print a version banner with console.log, and stdout carries the service's JSON logs: only
  // that one line is held back while the module initialises.
  const print = console.log;
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Loaded LDK-Java Bindings')) return;
    print(...args);
  };
  try {
    await ldk.initializeWasmFromBinary(binary);
  } finally {
    console.log = print;
  }
}
