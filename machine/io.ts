// The I/O port space: devices claim port ranges; unclaimed ports read as all ones and ignore writes.
// Byte-wide devices see wider accesses split into byte accesses on consecutive ports (as on an
// 8-bit ISA bus); devices registered `wide` receive the access whole.

import type { AccessSize, PortBus } from "./bus.js";

export interface PortDevice {
  read(port: number, size: AccessSize): number;
  write(port: number, size: AccessSize, value: number): void;
}

export interface PortAccess {
  write: boolean;
  port: number;
  size: AccessSize;
  value: number;
}

interface Claim {
  device: PortDevice;
  wide: boolean;
}

export class IoBus implements PortBus {
  private readonly claims: (Claim | undefined)[] = new Array(0x10000);
  private readonly watched = new Map<number, (port: number, byte: number) => void>();
  /** Observers of every access (the wedge's ledger, the debugger). */
  readonly observers: ((a: PortAccess) => void)[] = [];

  register(first: number, count: number, device: PortDevice, options: { wide?: boolean } = {}): void {
    for (let p = first; p < first + count; p++) {
      if (this.claims[p & 0xffff]) throw new Error(`port 0x${p.toString(16)} claimed twice`);
      this.claims[p & 0xffff] = { device, wide: options.wide ?? false };
    }
  }

  /** Report the low byte of every write to `port` (POST codes, debug console ports) without claiming it. */
  watchWrites(port: number, sink: (port: number, byte: number) => void): void {
    this.watched.set(port & 0xffff, sink);
  }

  read(port: number, size: AccessSize): number {
    port &= 0xffff;
    const c = this.claims[port];
    let v: number;
    if (c?.wide) v = c.device.read(port, size);
    else if (size === 1) v = c ? c.device.read(port, 1) & 0xff : 0xff;
    else {
      v = 0;
      for (let i = 0; i < size; i++) {
        const p = (port + i) & 0xffff;
        const ci = this.claims[p];
        v |= (ci ? ci.device.read(p, 1) & 0xff : 0xff) << (8 * i);
      }
    }
    v = size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
    if (this.observers.length) for (const o of this.observers) o({ write: false, port, size, value: v });
    return v;
  }

  write(port: number, size: AccessSize, value: number): void {
    port &= 0xffff;
    value = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
    if (this.observers.length) for (const o of this.observers) o({ write: true, port, size, value });
    const sink = this.watched.get(port);
    if (sink) sink(port, value & 0xff);
    const c = this.claims[port];
    if (c?.wide) {
      c.device.write(port, size, value);
      return;
    }
    if (size === 1) {
      c?.device.write(port, 1, value);
      return;
    }
    for (let i = 0; i < size; i++) {
      const p = (port + i) & 0xffff;
      this.claims[p]?.device.write(p, 1, (value >>> (8 * i)) & 0xff);
    }
  }
}
