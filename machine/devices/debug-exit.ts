// The debug-exit port (0xF4, docs/guest-abi.md): a write of V ends the run with exit status V & 0xFF.
// Any access size is accepted (a 32-bit `outl` is the documented form; `outb` is common too).

import type { AccessSize } from "../bus.js";
import type { IoBus, PortDevice } from "../io.js";

export const DEBUG_EXIT_PORT = 0xf4;

export class DebugExit implements PortDevice {
  constructor(private readonly exit: (status: number) => void) {}

  attach(io: IoBus): void {
    io.register(DEBUG_EXIT_PORT, 4, this, { wide: true });
  }

  read(_port: number, _size: AccessSize): number {
    return 0xffffffff;
  }

  write(port: number, _size: AccessSize, value: number): void {
    if (port === DEBUG_EXIT_PORT) this.exit(value & 0xff);
  }
}
