// The 8042 PS/2 controller as far as a kernel needs it: self-test, configuration byte, the output
// port (A20 gate in bit 1, reset line in bit 0), pulse reset (0xFE), and port 0x92 (system control
// port A: fast A20 in bit 1, fast reset in bit 0). No keyboard or mouse is attached: keyboard
// commands are acknowledged (0xFA) and a keyboard reset answers 0xAA.

import type { AccessSize } from "../bus.js";
import type { IoBus, PortDevice } from "../io.js";

const STATUS_OBF = 0x01;
const STATUS_SYS = 0x04;
const STATUS_CMD = 0x08;

interface Ps2State {
  out: number[];
  config: number;
  /** Output port: bit 0 = system reset (active low), bit 1 = A20 gate. */
  outputPort: number;
  /** Controller command waiting for its data byte. */
  pendingCommand: number | null;
  lastWasCommand: boolean;
  selfTested: boolean;
  port92: number;
}

export interface Ps2Wiring {
  /** The A20 gate changed (output port bit 1 OR port 0x92 bit 1). */
  setA20(enabled: boolean): void;
  /** The guest pulsed the reset line. */
  reset(): void;
}

export class Ps2Controller implements PortDevice {
  private s: Ps2State = {
    out: [],
    config: 0x45, // keyboard interrupt on, system flag, translation
    outputPort: 0x03, // not in reset, A20 enabled (a multiboot loader leaves it on)
    pendingCommand: null,
    lastWasCommand: false,
    selfTested: true,
    port92: 0x00,
  };

  constructor(private readonly wiring: Ps2Wiring) {}

  attach(io: IoBus): void {
    io.register(0x60, 1, this);
    io.register(0x64, 1, this);
    io.register(0x92, 1, this);
  }

  get a20(): boolean {
    return ((this.s.outputPort | this.s.port92) & 0x02) !== 0;
  }

  private withA20(change: () => void): void {
    const before = this.a20;
    change();
    if (this.a20 !== before) this.wiring.setA20(this.a20);
  }

  read(port: number, _size: AccessSize): number {
    const s = this.s;
    if (port === 0x64) {
      return (s.out.length ? STATUS_OBF : 0) | (s.selfTested ? STATUS_SYS : 0) | (s.lastWasCommand ? STATUS_CMD : 0);
    }
    if (port === 0x92) return s.port92;
    return s.out.length ? s.out.shift()! : 0;
  }

  write(port: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    const s = this.s;
    if (port === 0x92) {
      const old = s.port92;
      this.withA20(() => (s.port92 = value & 0x03));
      if (value & 1 && !(old & 1)) this.wiring.reset();
      return;
    }
    if (port === 0x64) {
      s.lastWasCommand = true;
      this.command(value);
      return;
    }
    s.lastWasCommand = false;
    const cmd = s.pendingCommand;
    s.pendingCommand = null;
    switch (cmd) {
      case 0x60:
        s.config = value;
        return;
      case 0xd1:
        this.withA20(() => (s.outputPort = value));
        if ((value & 1) === 0) this.wiring.reset();
        return;
      case 0xd2: // write keyboard output buffer (echo as if from the keyboard)
      case 0xd3:
        s.out.push(value);
        return;
      case 0xd4: // to the mouse: none attached
        s.out.push(0xfe);
        return;
      default:
        // A byte for the keyboard: acknowledge; reset also reports a passed self-test.
        s.out.push(0xfa);
        if (value === 0xff) s.out.push(0xaa);
        else if (value === 0xf2) s.out.push(0xab, 0x83);
    }
  }

  private command(c: number): void {
    const s = this.s;
    if (c >= 0x20 && c <= 0x3f) {
      s.out.push(c === 0x20 ? s.config : 0);
      return;
    }
    if (c >= 0x40 && c <= 0x7f) {
      s.pendingCommand = c === 0x60 ? 0x60 : c;
      return;
    }
    switch (c) {
      case 0xaa:
        s.selfTested = true;
        s.out.push(0x55);
        return;
      case 0xab:
      case 0xa9:
        s.out.push(0x00);
        return;
      case 0xad:
        s.config |= 0x10;
        return;
      case 0xae:
        s.config &= ~0x10;
        return;
      case 0xa7:
        s.config |= 0x20;
        return;
      case 0xa8:
        s.config &= ~0x20;
        return;
      case 0xc0:
        s.out.push(0x80); // input port: keyboard not inhibited
        return;
      case 0xd0:
        s.out.push(s.outputPort);
        return;
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4:
        s.pendingCommand = c;
        return;
      case 0xdd:
        this.withA20(() => (s.outputPort &= ~0x02));
        return;
      case 0xdf:
        this.withA20(() => (s.outputPort |= 0x02));
        return;
      default:
        // 0xF0–0xFF pulse output-port lines whose bits are 0 in the low nibble: bit 0 is reset.
        if (c >= 0xf0 && (c & 1) === 0) this.wiring.reset();
    }
  }

  snapshot(): Ps2State {
    return { ...this.s, out: [...this.s.out] };
  }

  restore(s: Ps2State): void {
    this.s = { ...s, out: [...s.out] };
  }
}
