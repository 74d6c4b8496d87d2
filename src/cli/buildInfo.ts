// What a report records of the command and the build behind it: the command line as typed (quoted where a
// shell needs it), and the version with the git commit when kmesim runs from its own checkout.
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `kmesim run scenarios --seed 3 --out 'my reports'`: each argument as a POSIX shell would read it back. */
export function formatCommandLine(argv: readonly string[]): string {
  return ['kmesim', ...argv].map(quoteForShell).join(' ');
}

function quoteForShell(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

let described: string | undefined;

/** `kmesim 0.1.0 (commit 0a823a0f1c2d, uncommitted changes)`, or `kmesim 0.1.0` outside a git checkout of it. */
export function describeBuild(): string {
  if (described !== undefined) return described;
  const { version } = JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, 'utf8')) as { version: string };
  described = `kmesim ${version}${describeCommit()}`;
  return described;
}

function describeCommit(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', ['-C', PACKAGE_ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
    // Only kmesim's own checkout: installed inside another project's repository, git would name that one.
    if (realpathSync(git('rev-parse', '--show-toplevel')) !== realpathSync(PACKAGE_ROOT)) return '';
    const commit = git('rev-parse', '--short=12', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return ` (commit ${commit}${dirty ? ', uncommitted changes' : ''})`;
  } catch {
    return '';
  }
}
