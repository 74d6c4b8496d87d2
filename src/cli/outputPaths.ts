// Where a command will write, checked before it starts anything: a file must be in a folder that exists
// and must not be a folder itself; a folder (made when missing) must not be a file, nor lie under one. A
// path that cannot be written is a usage error (one line naming the option and the path, exit 2), not a
// stack trace once the work is done.
import { constants, type Stats } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from './usageError.js';

/** The path's stats, or null when nothing is there (a missing entry, or a file where a folder should be). */
async function statOf(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nearest folder above `path` that exists, or the nearest entry there that is not a folder. */
async function nearestExisting(path: string): Promise<{ readonly path: string; readonly stats: Stats }> {
  let at = dirname(resolve(path));
  for (;;) {
    const stats = await statOf(at);
    if (stats !== null) return { path: at, stats };
    const up = dirname(at);
    if (up === at) throw new Error(`outputPaths: no existing folder above ${path}`);
    at = up;
  }
}

/** Throws a UsageError unless a file can be written at `path` (`option` names it: `--trace`). */
export async function checkOutputFile(option: string, path: string): Promise<void> {
  const stats = await statOf(path);
  if (stats?.isDirectory() === true) throw new UsageError(`${option} ${path}: is a directory, not a file`);
  const folder = dirname(path);
  const folderStats = await statOf(folder);
  if (folderStats === null) throw new UsageError(`${option} ${path}: no such directory ${folder}`);
  if (!folderStats.isDirectory()) throw new UsageError(`${option} ${path}: ${folder} is not a directory`);
  if (!(await writable(stats === null ? folder : path))) throw new UsageError(`${option} ${path}: not writable`);
}

/** Throws a UsageError unless a folder is, or can be made, at `path` and written in (`option` names it: `--out`). */
export async function checkOutputFolder(option: string, path: string): Promise<void> {
  const stats = await statOf(path);
  if (stats !== null && !stats.isDirectory()) throw new UsageError(`${option} ${path}: is a file, not a directory`);
  const existing = stats === null ? await nearestExisting(path) : { path, stats };
  if (!existing.stats.isDirectory()) throw new UsageError(`${option} ${path}: ${existing.path} is not a directory`);
  if (!(await writable(existing.path))) throw new UsageError(`${option} ${path}: ${existing.path} is not writable`);
}
