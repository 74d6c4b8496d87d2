// A command as one flat record for trace lines (the simulator's and the mock KME's): who called which KME
// about whom, and what was asked. Never key material: commands carry none. What a caller chose freely is
// summarized, so a hostile request cannot make a trace line large or deep: strings past 128 characters
// are cut, lists past 64 entries keep their first 64 and a count, and extensions show their option names
// only (a request's extensions are the only free-form JSON it carries).
import type { KmeCommand } from './kmeCore.js';
import type { KeyRequest } from './wireSchema.js';

const STRING_MAX = 128;
const LIST_MAX = 64;

function cut(value: string): string {
  return value.length <= STRING_MAX ? value : `${value.slice(0, STRING_MAX)}…(${value.length} chars)`;
}

function fits(values: readonly unknown[]): boolean {
  return values.length <= LIST_MAX && values.every((value) => typeof value === 'string' && value.length <= STRING_MAX);
}

function cutList(values: readonly string[]): readonly string[] {
  // Most lists need no cutting: kept as they are, with nothing allocated (the simulator's hot path).
  if (fits(values)) return values;
  const kept = values.slice(0, LIST_MAX).map(cut);
  if (values.length > LIST_MAX) kept.push(`…(${values.length} in all)`);
  return kept;
}

function optionNames(extensions: unknown): readonly string[] {
  const objects: unknown[] = Array.isArray(extensions) ? extensions : [extensions];
  return cutList(objects.flatMap((extension) => (typeof extension === 'object' && extension !== null ? Object.keys(extension) : [])));
}

/** A key request as the trace shows it: number and size as asked, the rest bounded. */
export function describeRequest(request: KeyRequest): Readonly<Record<string, unknown>> {
  if (request.extension_mandatory === undefined && request.extension_optional === undefined && (request.additional_slave_SAE_IDs === undefined || fits(request.additional_slave_SAE_IDs))) {
    return request;
  }
  const described: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request)) {
    if (value === undefined) continue;
    if (name === 'extension_mandatory' || name === 'extension_optional') described[name] = optionNames(value);
    else if (Array.isArray(value)) described[name] = cutList(value.map(String));
    else described[name] = typeof value === 'string' ? cut(value) : value;
  }
  return described;
}

export function describeCommand(command: KmeCommand): Record<string, unknown> {
  switch (command.type) {
    case 'keys.enc':
      return { kme: cut(command.kmeId), master: cut(command.callerSaeId), slave: cut(command.slaveSaeId), req: describeRequest(command.request) };
    case 'keys.dec':
      return { kme: cut(command.kmeId), slave: cut(command.callerSaeId), master: cut(command.masterSaeId), ids: cutList(command.keyIds) };
    case 'keys.status':
      return { kme: cut(command.kmeId), master: cut(command.callerSaeId), slave: cut(command.slaveSaeId) };
    case 'sae.register':
    case 'sae.delete':
    case 'sync.start':
    case 'sync.complete':
    case 'sync.fail':
    case 'sync.retry':
    case 'remote.down':
    case 'remote.up':
    case 'clock.tick':
    case 'kme.restart':
    case 'supply.rate': {
      const { type: _type, ...rest } = command;
      return rest;
    }
  }
}
