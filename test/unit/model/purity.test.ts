// src/model and src/engine must stay pure: they import no IO module and read no ambient time or
// randomness. src/sim reads no clock either (not even performance.now: a run's wall time is its caller's
// to measure) and draws no randomness of its own: its entropy comes from the seeded tree. This scans the
// sources, so a violation fails here before it can make a run irreproducible.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const SRC_DIR = new URL('../../../src/', import.meta.url).pathname;

interface Source {
  readonly name: string;
  readonly text: string;
}

function readSources(folder: string): Source[] {
  const dir = join(SRC_DIR, folder);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .sort()
    .map((name) => ({ name: relative(SRC_DIR, join(dir, name)), text: readFileSync(join(dir, name), 'utf8') }));
}

const model = readSources('model');
const engine = readSources('engine');
const sim = readSources('sim');

const MODEL_PACKAGES = new Set(['node:crypto', 'xstate', 'zod']);

/** Pure code reads neither clock, nor entropy, nor the process's environment. */
const PURE_AMBIENT = /Date\.now\(|new Date\(|Math\.random\(|randomUUID\(|randomBytes\(|performance\.now\(|process\./;
/** What the simulator may never call: its time is virtual and its randomness comes from the seeded tree. */
const SIM_AMBIENT = /Date\.now\(|new Date\(\)|Math\.random\(|randomUUID\(|randomBytes\(|performance\.now\(/;

function importsBeyond(sources: readonly Source[], allowed: (specifier: string) => boolean): string[] {
  return sources.flatMap(({ name, text }) =>
    [...text.matchAll(/(?:from|import\(?)\s*'([^']+)'/g)]
      .map((match) => match[1] as string)
      .filter((specifier) => !allowed(specifier))
      .map((specifier) => `${name}: ${specifier}`),
  );
}

function sourcesMatching(sources: readonly Source[], pattern: RegExp): string[] {
  return sources.filter(({ text }) => pattern.test(text)).map(({ name }) => name);
}

it('finds the sources it scans', () => {
  expect(model.length).toBeGreaterThan(10);
  expect(engine.length).toBeGreaterThan(2);
  expect(sim.length).toBeGreaterThan(10);
  expect(sim.some(({ name }) => name.startsWith('sim/report/'))).toBe(true);
});

it('src/model imports only pure modules: its own files, node:crypto, xstate and zod', () => {
  expect(importsBeyond(model, (specifier) => specifier.startsWith('./') || MODEL_PACKAGES.has(specifier))).toEqual([]);
});

it('src/engine imports only pure modules: its own files, src/model and zod', () => {
  expect(importsBeyond(engine, (specifier) => specifier.startsWith('./') || specifier.startsWith('../model/') || specifier === 'zod')).toEqual([]);
});

it('src/model reads no ambient time or randomness', () => {
  expect(sourcesMatching(model, PURE_AMBIENT)).toEqual([]);
});

it('src/engine reads no ambient time or randomness', () => {
  expect(sourcesMatching(engine, PURE_AMBIENT)).toEqual([]);
});

it('src/sim calls no Date.now, new Date(), performance.now, Math.random, crypto.randomUUID or crypto.randomBytes', () => {
  expect(sourcesMatching(sim, SIM_AMBIENT)).toEqual([]);
});

it('catches ambient time and randomness in a planted source', () => {
  const planted: Source[] = [
    { name: 'engine/a.ts', text: 'const t = Date.now();' },
    { name: 'engine/b.ts', text: 'const r = Math.random();' },
    { name: 'engine/c.ts', text: "import { randomUUID } from 'node:crypto';\nconst id = randomUUID();" },
    { name: 'engine/d.ts', text: 'const t = performance.now();' },
    { name: 'engine/e.ts', text: 'const ms = 1_000;' },
  ];
  expect(sourcesMatching(planted, PURE_AMBIENT)).toEqual(['engine/a.ts', 'engine/b.ts', 'engine/c.ts', 'engine/d.ts']);
  expect(sourcesMatching(planted, SIM_AMBIENT)).toEqual(['engine/a.ts', 'engine/b.ts', 'engine/c.ts', 'engine/d.ts']);
  expect(importsBeyond(planted, (specifier) => specifier.startsWith('./'))).toEqual(['engine/c.ts: node:crypto']);
});
