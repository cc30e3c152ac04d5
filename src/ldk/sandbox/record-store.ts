// A tiny durable map: one JSON file per record, written atomically before the in-memory copy changes, so a
// record read back after a crash is one that was fully written. Bigint fields are stored as decimal strings.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';

export class RecordStore<T extends object> {
  private readonly records = new Map<string, T>();

  constructor(
    private readonly directory: string,
    private readonly bigintFields: readonly (keyof T & string)[],
  ) {
    mkdirSync(directory, { recursive: true });
    for (const name of readdirSync(directory)) {
      if (!name.endsWith('.json')) continue;
      const raw = JSON.parse(readFileSync(join(directory, name), 'utf8')) as Record<string, unknown>;
      for (const field of bigintFields) raw[field] = BigInt(raw[field] as string);
      this.records.set(name.slice(0, -'.json'.length), raw as T);
    }
  }

  get(key: string): T | undefined {
    return this.records.get(key);
  }

  has(key: string): boolean {
    return this.records.has(key);
  }

  values(): T[] {
    return [...this.records.values()];
  }

  /** Durable first, visible second: a reader never sees a record that a crash could take back. */
  put(key: string, record: T): void {
    const encoded: Record<string, unknown> = { ...(record as Record<string, unknown>) };
    for (const field of this.bigintFields) encoded[field] = String(record[field]);
    writeFileAtomic(join(this.directory, `${key}.json`), `${JSON.stringify(encoded, null, 1)}\n`);
    this.records.set(key, record);
  }
}
