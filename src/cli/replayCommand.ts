// `kmesim replay <trace.jsonl>`: re-executes the run a trace came from (its first line holds the
// scenario, the seed and the bug switches) and confirms that every line, and so the fingerprint, match.
// The scenario's file is not needed: the first line carries the parsed scenario itself (with its name
// and content hash, not its path), so a trace replays wherever it is and whether or not the file exists.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { BugName } from '../model/bugs.js';
import { runScenario } from '../sim/runScenario.js';
import { scenarioSchema } from '../sim/scenarioSchema.js';
import { UsageError } from './usageError.js';

export async function replayCommand(file: string, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const print = (line: string): void => void out.write(`${line}\n`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const recorded = text.split('\n').filter((line) => line.length > 0);
  let header: { k?: unknown; definition?: unknown; seed?: unknown; bugs?: unknown };
  try {
    header = JSON.parse(recorded[0] ?? '') as typeof header;
  } catch {
    throw new UsageError(`${file} is not a kmesim trace (its first line is not JSON)`);
  }
  const parsed = scenarioSchema.safeParse(header.definition);
  if (header.k !== 'run.start' || !parsed.success || typeof header.seed !== 'number') {
    throw new UsageError(`${file} is not a kmesim trace (no run.start line with the scenario)`);
  }
  const replayed: string[] = [];
  const report = runScenario(parsed.data, {
    seed: header.seed,
    // The trace is where this run's scenario was read from; the path only reaches the discarded report.
    file,
    bugs: Array.isArray(header.bugs) ? (header.bugs as BugName[]) : [],
    traceSink: (line) => replayed.push(line),
  });
  const expected = createHash('sha256').update(recorded.map((line) => `${line}\n`).join('')).digest('hex');
  const firstDifference = recorded.findIndex((line, i) => line !== replayed[i]);
  if (firstDifference >= 0 || recorded.length !== replayed.length || expected !== report.fingerprint) {
    const at = firstDifference >= 0 ? firstDifference : Math.min(recorded.length, replayed.length);
    print(`replay: MISMATCH at line ${at + 1} of ${file}`);
    print(`  recorded: ${recorded[at] ?? '(end of trace)'}`);
    print(`  replayed: ${replayed[at] ?? '(end of run)'}`);
    print(`  fingerprints: recorded ${expected}, replayed ${report.fingerprint}`);
    return 1;
  }
  print(`replay: ${recorded.length} lines identical; fingerprint ${report.fingerprint} confirmed (${report.scenario} seed ${report.seed}, ${report.passed ? 'passed' : 'failed'})`);
  return 0;
}
