// A command as one flat record for trace lines (the simulator's and the mock KME's): who called which KME
// about whom, and what was asked. Never key material: commands carry none.
import type { KmeCommand } from './kmeCore.js';

export function describeCommand(command: KmeCommand): Record<string, unknown> {
  switch (command.type) {
    case 'keys.enc':
      return { kme: command.kmeId, master: command.callerSaeId, slave: command.slaveSaeId, req: command.request };
    case 'keys.dec':
      return { kme: command.kmeId, slave: command.callerSaeId, master: command.masterSaeId, ids: command.keyIds };
    case 'keys.status':
      return { kme: command.kmeId, master: command.callerSaeId, slave: command.slaveSaeId };
    case 'sae.register':
    case 'sae.delete':
    case 'sync.start':
    case 'sync.complete':
    case 'sync.fail':
    case 'sync.retry':
    case 'remote.down':
    case 'remote.up':
    case 'clock.tick':
    case 'kme.restart': {
      const { type: _type, ...rest } = command;
      return rest;
    }
  }
}
