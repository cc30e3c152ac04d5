// The torture's processes: children that print one JSON line when ready (the relay, the wallet), and the agent's
// replicas, each the built command `node bin/escrow-agent.js start --config FILE` in a process of its own, killed
// with SIGKILL and started again on the same folder, database and port. Each child's output goes to its log file.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'escrow-agent.js');

export interface JsonChild {
  child: ChildProcess;
  /** The first JSON line the child printed. */
  ready: Record<string, unknown>;
  /** A JSON-line request on stdin, answered by {"id", "result" | "error"} on stdout. */
  request(command: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  stop(): Promise<void>;
}

/** Runs a TypeScript script of this folder with tsx; resolves with its first JSON line (`ready` or any object). */
export async function startJsonChild(
  script: string,
  args: string[],
  logFile: string,
  timeoutMs = 120_000,
): Promise<JsonChild> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts', 'torture', script), ...args],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  child.stderr!.pipe(log);
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start within ${timeoutMs / 1000} s (see ${logFile})`)),
      timeoutMs,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready (see ${logFile})`));
    });
    let first = true;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch {
        log.write(`${line}\n`);
        return;
      }
      if (first) {
        first = false;
        clearTimeout(timer);
        resolve(value);
        return; // the ready line may carry secrets (NWC URIs): it is not logged
      }
      log.write(`${line}\n`);
      const id = value.id as number | undefined;
      const pending = id === undefined ? undefined : waiting.get(id);
      if (!pending) return;
      waiting.delete(id!);
      if ('error' in value) pending.reject(new Error(String(value.error)));
      else pending.resolve(value.result);
    });
  });
  child.removeAllListeners('exit');
  return {
    child,
    ready,
    request(command, requestTimeoutMs = 30_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(
            new Error(`${script}: no answer to ${String(command.command)} within ${requestTimeoutMs} ms`),
          );
        }, requestTimeoutMs);
        waiting.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
      });
    },
    stop: () => stopChild(child, 20_000).then(() => void log.end()),
  };
}

/** SIGTERM, then SIGKILL if it is still there after graceMs; resolves once it exited. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface RestartRecord {
  replica: number;
  /** Why it was down: `kill` (random moment), `kill-after-approval`, or `exited` (it ended by itself). */
  cause: string;
  /** Milliseconds from the restart's spawn to its first /health 200; null when it never answered 200 in time. */
  caughtUpMs: number | null;
}

/** One agent replica: its configuration file, environment and HTTP port stay the same across restarts. */
export class AgentReplica {
  private child: ChildProcess | null = null;
  private log: WriteStream;
  /** Exits nobody asked for (not a kill, not a stop), with their code. */
  readonly unexpectedExits: string[] = [];
  private expectingExit = false;

  constructor(
    readonly index: number,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    readonly httpPort: number,
    logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): void {
    if (this.child) return;
    this.expectingExit = false;
    const child = spawn(process.execPath, [BIN, ...this.args], {
      cwd: ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.log.write(
      `--- torture: replica ${this.index} started, pid ${child.pid}, ${new Date().toISOString()}\n`,
    );
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    child.once('exit', (code, signal) => {
      this.log.write(`--- torture: replica ${this.index} pid ${child.pid} exited (${code ?? signal})\n`);
      if (!this.expectingExit) this.unexpectedExits.push(`pid ${child.pid}: ${code ?? signal}`);
      if (this.child === child) this.child = null;
    });
    this.child = child;
  }

  /** SIGKILL, as a crash: resolves once the process is gone (its data-folder lock with it). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
    this.child = null;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    await stopChild(child, 30_000);
    this.child = null;
  }

  /** Polls /health until 200; the milliseconds it took, or null after timeoutMs (or if the process ended). */
  async waitHealthy(timeoutMs: number): Promise<number | null> {
    const started = Date.now();
    const child = this.child;
    while (Date.now() - started < timeoutMs) {
      if (!child || this.child !== child) return null;
      try {
        const response = await fetch(`http://127.0.0.1:${this.httpPort}/health`, {
          signal: AbortSignal.timeout(2000),
        });
        await response.arrayBuffer();
        if (response.status === 200) return Date.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return null;
  }

  close(): void {
    this.log.end();
  }
}

/** A port the OS says is free now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Runs the built command to its end; its exit code and output. */
export function runCommand(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 300_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
