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
    default: {
      const { type: _type, ...rest } = command;
      return rest;
    }
  }
}
