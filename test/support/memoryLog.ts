// A pino destination in memory, for tests that read what the server logged.
import { Writable } from 'node:stream';

export interface MemoryLog {
  readonly stream: Writable;
  readonly text: () => string;
  readonly lines: () => Array<Record<string, unknown>>;
}

export function createMemoryLog(): MemoryLog {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return {
    stream,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
