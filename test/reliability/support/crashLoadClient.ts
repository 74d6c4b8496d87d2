// The crash suite's load: a separate process (`node --import tsx crashLoadClient.ts CONFIG_JSON`) whose
// workers send mixed enc_keys (sizes, numbers, GET and POST, every master and slave, both KMEs) and
// dec_keys by the slave for the keys it was given, and append every request with its outcome to a JSON
// Lines file. When a request gets no answer (the server was killed), the worker re-reads the endpoints
// file the test rewrites after each start. It stops when its stdin ends, waits for the requests in flight,
// and prints a line when it starts and a one-line summary when it stops.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import seedrandom from 'seedrandom';
import {
  decRequest,
  encRequest,
  keysInAnswer,
  sendCrashRequest,
  statusRequest,
  type CrashEndpoints,
  type CrashOutcome,
  type CrashRecord,
  type CrashRequest,
} from './crashHistory.js';

export interface CrashLoadConfig {
  readonly endpointsFile: string;
  readonly historyFile: string;
  readonly seed: number;
  readonly workers: number;
  readonly saes: ReadonlyArray<{ readonly id: string; readonly kme: string }>;
  readonly timeoutMs: number;
}

interface HeldKey {
  readonly keyId: string;
  readonly master: string;
  readonly slave: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as CrashLoadConfig;
const random = seedrandom(`crash-load:${config.seed}`);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const kmeOf = new Map(config.saes.map((sae) => [sae.id, sae.kme]));
const saeIds = config.saes.map((sae) => sae.id);

let endpoints = JSON.parse(readFileSync(config.endpointsFile, 'utf8')) as CrashEndpoints;
const fd = openSync(config.historyFile, 'a');
let seq = 0;
let stopping = false;
/** Keys received and not yet asked for. */
const clean: HeldKey[] = [];
/** Keys whose dec_keys got no answer: consumed or not, nobody knows; asked for again, one at a time. */
const doubtful: HeldKey[] = [];
const counts = { requests: 0, answered: 0, unanswered: 0, refused: 0, keysReceived: 0, keysRetrieved: 0 };

function reloadEndpoints(): void {
  try {
    endpoints = JSON.parse(readFileSync(config.endpointsFile, 'utf8')) as CrashEndpoints;
  } catch {
    // Rewritten by rename, so a read never sees half a file; an error here only means try again later.
  }
}

async function send(request: CrashRequest): Promise<CrashOutcome> {
  const gen = endpoints.gen;
  const url = endpoints.kmes[request.kme] as string;
  const outcome = await sendCrashRequest(url, request, config.timeoutMs);
  const record: CrashRecord = { seq: ++seq, phase: 'load', gen, request, outcome };
  writeSync(fd, `${JSON.stringify(record)}\n`);
  counts.requests += 1;
  if (outcome.answered) counts.answered += 1;
  else if (outcome.refused) counts.refused += 1;
  else counts.unanswered += 1;
  return outcome;
}

function takeRandom<T>(items: T[]): T {
  const index = Math.floor(random() * items.length);
  const [item] = items.splice(index, 1);
  return item as T;
}

async function encOnce(): Promise<CrashOutcome> {
  const master = pick(saeIds);
  const slave = pick(saeIds.filter((id) => id !== master));
  const number = random() < 0.8 ? 1 + Math.floor(random() * 8) : 9 + Math.floor(random() * 24);
  const sizeBits = pick([undefined, undefined, 64, 128, 256, 512, 1024, 4096]);
  const request = encRequest(kmeOf.get(master) as string, master, slave, { method: random() < 0.5 ? 'GET' : 'POST', ...(number === 1 && random() < 0.5 ? {} : { number }), ...(sizeBits === undefined ? {} : { sizeBits }) });
  const outcome = await send(request);
  const keys = keysInAnswer(outcome);
  for (const key of keys) clean.push({ keyId: key.key_ID, master, slave });
  counts.keysReceived += keys.length;
  return outcome;
}

/** The slave asks for keys it was given: one, or a few of the same master, through either KME of the link. */
async function decOnce(fromDoubtful: boolean): Promise<CrashOutcome> {
  const first = takeRandom(fromDoubtful ? doubtful : clean);
  const batch = [first];
  if (!fromDoubtful) {
    const extra = Math.floor(random() * 4);
    for (let i = clean.length - 1; i >= 0 && batch.length <= extra; i--) {
      const other = clean[i] as HeldKey;
      if (other.master === first.master && other.slave === first.slave) batch.push(...clean.splice(i, 1));
    }
  }
  const slaveKme = kmeOf.get(first.slave) as string;
  const kme = random() < 0.3 ? (kmeOf.get(first.master) as string) : slaveKme;
  const outcome = await send(decRequest(kme, first.slave, first.master, batch.map((key) => key.keyId), random() < 0.5 ? 'GET' : 'POST'));
  if (!outcome.answered && !outcome.refused) {
    doubtful.push(...batch);
  } else if (!outcome.answered || outcome.status === 503) {
    // Never arrived, or refused by a KME that changed nothing: the keys are as they were.
    (fromDoubtful ? doubtful : clean).push(...batch);
  } else if (outcome.status === 200) {
    counts.keysRetrieved += batch.length;
  }
  return outcome;
}

async function statusOnce(): Promise<CrashOutcome> {
  const master = pick(saeIds);
  const slave = pick(saeIds.filter((id) => id !== master));
  return send(statusRequest(kmeOf.get(master) as string, master, slave));
}

async function worker(): Promise<void> {
  while (!stopping) {
    const roll = random();
    const outcome =
      doubtful.length > 0 && roll < 0.05
        ? await decOnce(true)
        : clean.length > 0 && roll < (clean.length > 400 ? 0.8 : 0.45)
          ? await decOnce(false)
          : roll < 0.9
            ? await encOnce()
            : await statusOnce();
    if (!outcome.answered) {
      reloadEndpoints();
      await new Promise((resolve) => setTimeout(resolve, outcome.refused ? 20 : 5));
    }
  }
}

// With the same ports after a restart a worker may not notice it: the generation is read often anyway.
const refresh = setInterval(reloadEndpoints, 50);
process.stdin.on('data', () => undefined);
const stopped = new Promise<void>((resolve) => process.stdin.once('end', resolve));
const workers = Array.from({ length: config.workers }, () => worker());
process.stdout.write(`${JSON.stringify({ started: config.workers })}\n`);
await stopped;
stopping = true;
await Promise.all(workers);
clearInterval(refresh);
closeSync(fd);
process.stdout.write(`${JSON.stringify({ ...counts, clean: clean.length, doubtful: doubtful.length })}\n`);
