// The layers of DESIGN.md, enforced: arrows only point down (model ← engine ← {sim, http}; check ← model;
// report is used by sim and check; testing, the kit for key consumers, stands on http and model; cli and
// the public index may use anything). Every .ts under src is
// parsed with the TypeScript compiler, and every relative module reference is resolved to the top folder
// it lands in: static imports and export-froms, dynamic import() calls and import() types alike, so a
// lazily loaded module cannot cross a layer unseen.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

const SRC_DIR = new URL('../../src/', import.meta.url).pathname;

type Layer = 'model' | 'engine' | 'sim' | 'http' | 'check' | 'report' | 'testing' | 'cli' | 'index';

/** What each layer may import besides itself; null: anything. */
const ALLOWED: Readonly<Record<Layer, readonly Layer[] | null>> = {
  model: [],
  engine: ['model'],
  sim: ['engine', 'model', 'report'],
  http: ['engine', 'model'],
  check: ['model', 'report'],
  report: [],
  testing: ['http', 'model'],
  cli: null,
  index: null,
};

interface SourceFile {
  /** Path under src, with forward slashes: `http/startServer.ts`. */
  readonly path: string;
  readonly text: string;
}

interface ModuleReference {
  readonly line: number;
  /** The module specifier, or null when a dynamic import() names its module by an expression. */
  readonly specifier: string | null;
}

function layerOf(path: string): Layer | null {
  if (path === 'index.ts' || path === 'index.js') return 'index';
  const top = path.split('/')[0] as string;
  return path.includes('/') && Object.hasOwn(ALLOWED, top) && top !== 'index' ? (top as Layer) : null;
}

/** Every module a source names: import and export declarations, import() calls and import() types. */
function moduleReferences(file: SourceFile): ModuleReference[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: ModuleReference[] = [];
  const add = (node: ts.Node, specifier: ts.Node | undefined): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push({ line, specifier: specifier !== undefined && ts.isStringLiteralLike(specifier) ? specifier.text : null });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      add(node, node.moduleSpecifier);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every reference that crosses the layers the wrong way, as `src/<file>:<line> from → to (specifier)`. */
function findLayerViolations(files: readonly SourceFile[]): string[] {
  const violations: string[] = [];
  for (const file of files) {
    const from = layerOf(file.path);
    const where = `src/${file.path}`;
    if (from === null) {
      violations.push(`${where}: not in any layer (model, engine, sim, http, check, report, cli, or src/index.ts)`);
      continue;
    }
    for (const { line, specifier } of moduleReferences(file)) {
      if (specifier === null) {
        violations.push(`${where}:${line} ${from} → ? (an import() whose module is not a string literal cannot be checked)`);
        continue;
      }
      // Packages and node: builtins are not layers.
      if (!specifier.startsWith('.')) continue;
      const target = posix.normalize(posix.join(posix.dirname(file.path), specifier));
      const to = target.startsWith('../') ? null : layerOf(target);
      if (to === null) {
        violations.push(`${where}:${line} ${from} → outside the layers (${specifier})`);
        continue;
      }
      const allowed = ALLOWED[from];
      if (to !== from && allowed !== null && !allowed.includes(to)) violations.push(`${where}:${line} ${from} → ${to} (${specifier})`);
    }
  }
  return violations;
}

function readSources(): SourceFile[] {
  return readdirSync(SRC_DIR, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .sort()
    .map((name) => ({ path: name.split(/[\\/]/).join('/'), text: readFileSync(join(SRC_DIR, name), 'utf8') }));
}

it('reads every layer of src', () => {
  const layers = new Set(readSources().map((file) => layerOf(file.path)));
  for (const layer of Object.keys(ALLOWED)) expect(layers).toContain(layer);
});

it('finds every kind of module reference', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b.js';",
    "import './side.js';",
    "export { c } from './c.js';",
    "export * as d from './d.js';",
    "const e = await import('./e.js');",
    "type F = import('./f.js').F;",
    'const g = await import(name);',
  ].join('\n');
  expect(moduleReferences({ path: 'sim/x.ts', text })).toEqual([
    { line: 1, specifier: './a.js' },
    { line: 2, specifier: '../b.js' },
    { line: 3, specifier: './side.js' },
    { line: 4, specifier: './c.js' },
    { line: 5, specifier: './d.js' },
    { line: 6, specifier: './e.js' },
    { line: 7, specifier: './f.js' },
    { line: 8, specifier: null },
  ]);
});

it('reports a planted import that crosses the layers, static or dynamic, and passes the allowed ones', () => {
  const planted: SourceFile[] = [
    { path: 'http/x.ts', text: "import { y } from '../sim/y.js';\nimport { q } from '../engine/q.js';" },
    { path: 'http/lazy.ts', text: "export async function load() {\n  return import('../sim/rng.js');\n}" },
    { path: 'check/report/r.ts', text: "import { f } from '../../sim/report/f.js';\nimport { g } from '../../report/g.js';" },
    { path: 'engine/e.ts', text: "import type { T } from '../model/t.js';\ntype S = import('../sim/s.js').S;" },
    { path: 'report/p.ts', text: "import { m } from '../model/m.js';" },
    { path: 'model/m.ts', text: "import { z } from 'zod';\nimport { n } from './n.js';" },
    { path: 'sim/s.ts', text: "import { e } from '../engine/e.js';\nimport { r } from '../report/r.js';\nimport { h } from '../http/h.js';" },
    { path: 'cli/c.ts', text: "import { s } from '../sim/s.js';\nimport { h } from '../http/h.js';" },
    { path: 'index.ts', text: "export { s } from './sim/s.js';" },
    { path: 'stray.ts', text: '' },
  ];
  expect(findLayerViolations(planted)).toEqual([
    'src/http/x.ts:1 http → sim (../sim/y.js)',
    'src/http/lazy.ts:2 http → sim (../sim/rng.js)',
    'src/check/report/r.ts:1 check → sim (../../sim/report/f.js)',
    'src/engine/e.ts:2 engine → sim (../sim/s.js)',
    'src/report/p.ts:1 report → model (../model/m.js)',
    'src/sim/s.ts:3 sim → http (../http/h.js)',
    'src/stray.ts: not in any layer (model, engine, sim, http, check, report, cli, or src/index.ts)',
  ]);
});

it('src imports only down the layers', () => {
  const violations = findLayerViolations(readSources());
  expect(violations, `imports that cross the layers:\n${violations.join('\n')}`).toEqual([]);
});
