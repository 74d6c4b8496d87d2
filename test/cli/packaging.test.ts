// What another project gets from the package: the files `npm pack` ships, published types that compile
// with the consumer's own dependencies only (no skipLibCheck), and a mock KME that runs without the
// optional SQLite package until --db asks for it. Runs against dist/, which `npm test` builds first.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

const tempDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function run(command: string, args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    execFile(command, args, { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      done({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** Every .d.ts reachable from one of the package's types entries, and the bare module names each imports. */
function publishedTypeImports(entry = 'index.d.ts'): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const pending = [join(ROOT, 'dist', entry)];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (found.has(file)) continue;
    const bare: string[] = [];
    found.set(file, bare);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.d.ts')));
      else bare.push(specifier);
    }
  }
  return found;
}

/** The package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

it('publishes types that import only node: built-ins and runtime dependencies shipping their own types', () => {
  const problems: string[] = [];
  for (const [file, imports] of publishedTypeImports()) {
    for (const specifier of imports) {
      if (specifier.startsWith('node:')) continue;
      const name = packageOf(specifier);
      const manifest = join(ROOT, 'node_modules', name, 'package.json');
      const own = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { types?: string; typings?: string; exports?: unknown }) : null;
      const shipsTypes = own !== null && (own.types !== undefined || own.typings !== undefined || JSON.stringify(own.exports ?? null).includes('"types"'));
      if (!(name in PACKAGE.dependencies) || !shipsTypes) problems.push(`${file.slice(ROOT.length)} imports ${specifier}`);
    }
  }
  expect(problems).toEqual([]);
  // node: built-ins are typed by @types/node: a peer npm installs beside kmesim (any version: one copy of
  // Node's global declarations, the consumer's own when it has one).
  const builtins = [...publishedTypeImports().values()].some((imports) => imports.some((specifier) => specifier.startsWith('node:')));
  expect(builtins).toBe(true);
  expect(PACKAGE.peerDependencies?.['@types/node']).toBe('*');
  expect(PACKAGE.peerDependenciesMeta?.['@types/node']?.optional).not.toBe(true);
  // The walk did reach the server's types, where Express once leaked in.
  expect([...publishedTypeImports().keys()].some((file) => file.endsWith(join('http', 'startServer.d.ts')))).toBe(true);
});

it('keeps the types of kmesim/testing clear of XState, whose declarations fail exactOptionalPropertyTypes', () => {
  const reached = publishedTypeImports(join('testing', 'index.d.ts'));
  // The walk reached the model's declarations (the world, the pools), where the machines' types once led to XState.
  expect([...reached.keys()].some((file) => file.endsWith(join('model', 'world.d.ts')))).toBe(true);
  const xstate = [...reached].filter(([, imports]) => imports.some((specifier) => packageOf(specifier) === 'xstate')).map(([file]) => file.slice(ROOT.length));
  expect(xstate).toEqual([]);
  // The main entry exports the machines themselves, so it reaches XState by design.
  expect([...publishedTypeImports().values()].some((imports) => imports.includes('xstate'))).toBe(true);
});

it('keeps better-sqlite3 an optional peer, so installing kmesim builds nothing', () => {
  expect(PACKAGE.dependencies).not.toHaveProperty('better-sqlite3');
  expect(PACKAGE.peerDependencies?.['better-sqlite3']).toBeDefined();
  expect(PACKAGE.peerDependenciesMeta?.['better-sqlite3']?.optional).toBe(true);
  // The repository's own tests use it.
  expect(PACKAGE.devDependencies['better-sqlite3']).toBe(PACKAGE.peerDependencies?.['better-sqlite3']);
});

it('packs the CLI, the compiled library, the scenarios, the examples and the licence, and no tests or sources', async () => {
  const { code, stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT);
  expect(code).toBe(0);
  const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((file) => file.path) ?? [];
  for (const expected of ['LICENSE', 'README.md', 'package.json', 'bin/kmesim.js', 'dist/index.js', 'dist/index.d.ts', 'scenarios/year-of-mail.yaml', 'examples/mockKme.test.ts', 'examples/README.md']) {
    expect(files).toContain(expected);
  }
  expect(files.filter((file) => file.startsWith('test/') || file.startsWith('src/') || file.startsWith('bench/'))).toEqual([]);
}, 60_000);

it('serves without better-sqlite3, and refuses --db in one line that names what to install', async () => {
  // The package as a consumer has it: dist and bin, and every dependency but the optional one.
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-nosqlite-'));
  tempDirs.push(dir);
  await Promise.all(['bin', 'dist', 'package.json'].map((entry) => cp(join(ROOT, entry), join(dir, entry), { recursive: true })));
  await mkdir(join(dir, 'node_modules'));
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (entry !== 'better-sqlite3' && entry !== '.bin') await symlink(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry));
  }
  const refused = await run(process.execPath, ['bin/kmesim.js', 'serve', '--port', '0', '--db', join(dir, 'world.db')], dir);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toBe('kmesim: --db needs the optional package better-sqlite3, which is not installed: run `npm install better-sqlite3` beside kmesim (it needs python3, make and a C++ compiler where no prebuilt binary fits), or leave out --db to keep the world in memory\n');
  expect(existsSync(join(dir, 'world.db'))).toBe(false);
  // Without --db the same install serves: the ready line comes, and the server stops on SIGTERM.
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['bin/kmesim.js', 'serve', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = await new Promise<string>((done, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) done(out.split('\n')[0] as string);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${String(code)} before its ready line`)));
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect((JSON.parse(ready) as { kmes: unknown[] }).kmes).toHaveLength(1);
}, 60_000);
