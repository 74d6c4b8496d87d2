// src/model must stay pure: it imports no IO module and reads no ambient time or randomness. This scans
// the sources, so a violation fails here before it can make a run irreproducible.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const MODEL_DIR = new URL('../../../src/model/', import.meta.url).pathname;
const sources = readdirSync(MODEL_DIR)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => ({ name, text: readFileSync(join(MODEL_DIR, name), 'utf8') }));

const ALLOWED_IMPORTS = new Set(['node:crypto', 'xstate', 'zod']);

it('finds the model sources it scans', () => {
  expect(sources.length).toBeGreaterThan(10);
});

it('src/model imports only pure modules: its own files, node:crypto, xstate and zod', () => {
  const offending = sources.flatMap(({ name, text }) =>
    [...text.matchAll(/from '([^']+)'/g)]
      .map((match) => match[1] as string)
      .filter((specifier) => !specifier.startsWith('./') && !ALLOWED_IMPORTS.has(specifier))
      .map((specifier) => `${name}: ${specifier}`),
  );
  expect(offending).toEqual([]);
});

it('src/model reads no ambient time or randomness', () => {
  const ambient = /Date\.now\(|new Date\(|Math\.random\(|randomUUID\(|randomBytes\(|performance\.now\(|process\./;
  const offending = sources.filter(({ text }) => ambient.test(text)).map(({ name }) => name);
  expect(offending).toEqual([]);
});
