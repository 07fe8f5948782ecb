// The bundled PC: CPU + physical memory + devices on one virtual clock, and the run loop.
//
// Time: a time unit is one retired instruction; the clock also counts time skipped while halted.
// The run loop runs the CPU in slices that end at the next timer event, so device interrupts land
// at exact instruction counts; on `hlt` it fast-forwards to the next event. `maxInstructions`
// bounds the virtual time a run may take (instructions executed plus halted time skipped), so a
// guest that idles forever waiting for a masked timer also ends with reason "budget".

import type { AccessSize } from "./bus.js";
import { Reg, type CpuSnapshot } from "./cpu/api.js";
import { Cpu } from "./cpu/cpu.js";
import { PhysicalMemory, type RamSnapshot } from "./memory.js";
import { IoBus } from "./io.js";
import { TimerQueue, VirtualClock } from "./devices/clock.js";
import { Pic8259Pair } from "./devices/pic8259.js";
import { Pit8254 } from "./devices/pit8254.js";
import { CmosRtc } from "./devices/cmos-rtc.js";
import { Uart16550 } from "./devices/uart16550.js";
import { Ps2Controller } from "./devices/ps2-controller.js";
import { CgaText, type CaptureOptions } from "./devices/cga-text.js";
import { LAPIC_BASE, LocalApic } from "./devices/local-apic.js";
import { IOAPIC_BASE, IoApic } from "./devices/io-apic.js";
import { DebugExit } from "./devices/debug-exit.js";
import { IsaIrqLines, PlatformInterrupts } from "./devices/interrupt-router.js";
import { MULTIBOOT_BOOTLOADER_MAGIC, writeMultibootInfo, type LoadSegment } from "./boot/multiboot.js";
import { writeMpTables } from "./boot/mp-table.js";
import { mapFirmware } from "./boot/rom.js";

export const DEFAULT_MEMORY_MIB = 256;
/** Guest RAM the machine takes, in MiB (below 3 GiB: the top GiB holds the APICs, the wedge's window and the firmware). */
export const MIN_MEMORY_MIB = 2;
export const MAX_MEMORY_MIB = 3072;
export const DEFAULT_CLOCK_HZ = 100_000_000;
export const COM1_BASE = 0x3f8;
export const COM1_IRQ = 4;

const EFLAGS_IF = 0x200;

export interface MachineOptions {
  memoryMiB?: number;
  /** Guest instructions per virtual second (the time base of every device). */
  clockHz?: number;
  /** Each byte the guest writes to COM1's THR. */
  onSerial?(byte: number): void;
  /** Bytes available to the guest on COM1's receiver from the start. */
  serialInput?: string | Uint8Array;
  /** Ports whose written bytes are captured (POST codes such as 0x80, debug output such as 0xE9). */
  postPorts?: number[];
  onPost?(port: number, byte: number): void;
  /** RTC time at virtual time 0, in Unix seconds (default 2024-01-01T00:00:00Z). */
  rtcEpoch?: number;
}

export type StopReason = "exit" | "halt" | "triple-fault" | "budget" | "breakpoint" | "hook" | "requested" | "reset" | "error";

export interface CpuReport {
  eip: number;
  eflags: number;
  regs: Record<string, number>;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  segments: Record<string, { selector: number; base: number; limit: number }>;
  /** Vectors of the faults that led to the shutdown. */
  vectors: number[];
}

export interface RunResult {
  reason: StopReason;
  /** Exit status (reason "exit"). */
  exitCode?: number;
  /** Breakpoint address (reason "breakpoint"). */
  eip?: number;
  /** CPU state at the shutdown (reason "triple-fault"). */
  tripleFault?: CpuReport;
  /** Human-readable account of why the run stopped. */
  message: string;
  /** Instructions retired during this run. */
  instructions: number;
  /** Instructions retired since the machine started. */
  totalInstructions: number;
  /** Virtual time at the end of the run, in instruction units (retired + halted time skipped). */
  virtualTime: number;
}

export interface RunOptions {
  maxInstructions: number;
}

export interface MachineDevices {
  io: IoBus;
  pic: Pic8259Pair;
  pit: Pit8254;
  rtc: CmosRtc;
  uart: Uart16550;
  ps2: Ps2Controller;
  cga: CgaText;
  lapic: LocalApic;
  ioapic: IoApic;
  debugExit: DebugExit;
  irqs: IsaIrqLines;
  interrupts: PlatformInterrupts;
  clock: VirtualClock;
  timers: TimerQueue;
}

interface DeviceStates {
  pic: ReturnType<Pic8259Pair["snapshot"]>;
  pit: ReturnType<Pit8254["snapshot"]>;
  rtc: ReturnType<CmosRtc["snapshot"]>;
  uart: ReturnType<Uart16550["snapshot"]>;
  ps2: ReturnType<Ps2Controller["snapshot"]>;
  cga: ReturnType<CgaText["snapshot"]>;
  lapic: ReturnType<LocalApic["snapshot"]>;
  ioapic: ReturnType<IoApic["snapshot"]>;
  timers: [string, number][];
}

/** Everything needed to put the machine back (RAM is a copy-on-write handle of PhysicalMemory). */
export interface MachineSnapshot {
  cpu: CpuSnapshot;
  ram: RamSnapshot;
  devices: DeviceStates;
  idle: number;
  a20: boolean;
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

export class Machine {
  readonly memory: PhysicalMemory;
  readonly cpu: Cpu;
  readonly devices: MachineDevices;
  private readonly postCapture = new Map<number, number[]>();
  private readonly initialDevices: DeviceStates;
  private a20 = true;
  private exitCode: number | null = null;
  private resetRequested = false;
  private hostStop = false;
  /** Virtual time at which the running CPU slice ends (-1 outside a slice). */
  private sliceEnd = -1;

  constructor(options: MachineOptions = {}) {
    const mib = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
    if (!Number.isInteger(mib) || mib < MIN_MEMORY_MIB || mib > MAX_MEMORY_MIB) {
      throw new RangeError(`memoryMiB must be an integer from ${MIN_MEMORY_MIB} to ${MAX_MEMORY_MIB}, got ${mib}`);
    }
    const clockHz = options.clockHz ?? DEFAULT_CLOCK_HZ;
    this.memory = new PhysicalMemory(mib * 1024 * 1024);
    this.cpu = new Cpu(this.memory);
    const cpu = this.cpu;
    const clock = new VirtualClock(clockHz, () => cpu.instructionCount);
    const timers = new TimerQueue();
    timers.onSchedule = (t) => {
      // A device armed an event inside the running slice: end the slice so it fires on time.
      if (this.sliceEnd >= 0 && t < this.sliceEnd) cpu.requestStop();
    };
    const io = new IoBus();
    const pic = new Pic8259Pair();
    const lapic = new LocalApic(clock, timers);
    const ioapic = new IoApic(lapic);
    const irqs = new IsaIrqLines(pic, ioapic);
    const notify = () => cpu.notifyInterrupt();
    pic.onIntr = notify;
    lapic.onInterrupt = notify;
    lapic.onLevelEoi = (v) => ioapic.endOfInterrupt(v);
    lapic.onNmi = () => cpu.raiseNmi();
    const pit = new Pit8254(clock, timers, () => irqs.pulse(0));
    const rtc = new CmosRtc(clock, timers, () => irqs.pulse(8), { memoryBytes: this.memory.size, epoch: options.rtcEpoch });
    const onSerial = options.onSerial ?? (() => {});
    const uart = new Uart16550(COM1_BASE, (b) => onSerial(b), (level) => irqs.set(COM1_IRQ, level));
    const ps2 = new Ps2Controller({ setA20: (on) => this.setA20(on), reset: () => this.requestReset() });
    const cga = new CgaText((addr, len) => this.memory.readBytes(addr, len));
    const debugExit = new DebugExit((code) => {
      this.exitCode = code;
      cpu.requestStop();
    });
    for (const d of [pic, pit, rtc, uart, ps2, cga, debugExit]) d.attach(io);
    this.memory.mapMmio(LAPIC_BASE, 0x1000, lapic);
    this.memory.mapMmio(IOAPIC_BASE, 0x20, ioapic);
    const interrupts = new PlatformInterrupts(pic, lapic);
    cpu.io = io;
    cpu.interrupts = interrupts;
    for (const port of options.postPorts ?? []) {
      this.postCapture.set(port & 0xffff, []);
      io.watchWrites(port, (p, byte) => {
        this.postCapture.get(p)?.push(byte);
        options.onPost?.(p, byte);
      });
    }
    if (options.serialInput !== undefined) uart.enqueueInput(options.serialInput);
    this.devices = { io, pic, pit, rtc, uart, ps2, cga, lapic, ioapic, debugExit, irqs, interrupts, clock, timers };
    this.initialDevices = this.deviceStates();
  }

  /** Bytes written so far to a port named in `postPorts`. */
  postBytes(port: number): Uint8Array {
    return Uint8Array.from(this.postCapture.get(port & 0xffff) ?? []);
  }

  /**
   * Pulse the NMI line (as a chipset error or a front-panel button would). Masked while the guest
   * has set bit 7 of CMOS port 0x70; returns whether the NMI was latched for delivery.
   */
  nmi(): boolean {
    if (this.devices.rtc.nmiMasked) return false;
    this.cpu.raiseNmi();
    return true;
  }

  /** Offer more bytes to the guest on COM1. */
  sendSerial(bytes: string | Uint8Array): void {
    this.devices.uart.enqueueInput(bytes);
  }

  /** A20 gate state (PS/2 controller output port bit 1 OR port 0x92 bit 1); memory wraps at 1 MiB while it is off. */
  get a20Enabled(): boolean {
    return this.a20;
  }

  private setA20(on: boolean): void {
    this.a20 = on;
    this.memory.setA20(on);
  }

  private requestReset(): void {
    this.resetRequested = true;
    this.cpu.requestStop();
  }

  /** Load already-parsed ELF segments, write the multiboot info and MP tables, enter flat protected mode. */
  loadElfSegments(segments: readonly LoadSegment[], entry: number, options: { cmdline?: string } = {}): { infoAddr: number } {
    for (const s of segments) {
      if (s.memsz < s.bytes.length) throw new RangeError(`segment at ${hex(s.paddr)}: memsz ${s.memsz} is smaller than its ${s.bytes.length} file bytes`);
      if (s.paddr < 0 || s.paddr + s.memsz > this.memory.size) {
        throw new RangeError(`segment ${hex(s.paddr)}–${hex(s.paddr + s.memsz)} does not fit in ${this.memory.size / 1048576} MiB of RAM`);
      }
    }
    for (const s of segments) {
      this.memory.writeBytes(s.paddr, s.bytes);
      if (s.memsz > s.bytes.length) this.memory.writeBytes(s.paddr + s.bytes.length, new Uint8Array(s.memsz - s.bytes.length));
    }
    const infoAddr = writeMultibootInfo(this.memory, { cmdline: options.cmdline });
    writeMpTables(this.memory, this.devices.lapic.id);
    this.cpu.enterFlatProtectedMode(entry >>> 0);
    this.cpu.regs[Reg.EAX] = MULTIBOOT_BOOTLOADER_MAGIC | 0;
    this.cpu.regs[Reg.EBX] = infoAddr;
    return { infoAddr };
  }

  /** Map a raw firmware image at the top of 4 GiB and at 0xF0000, and reset the CPU to F000:FFF0. */
  loadRom(bytes: Uint8Array): void {
    mapFirmware(this.memory, bytes);
    this.cpu.reset();
  }

  /** Power-on reset of the CPU and the devices (RAM keeps its contents, as on a warm reset). */
  reset(): void {
    this.restoreDevices(this.initialDevices);
    this.devices.clock.idle = 0;
    this.exitCode = null;
    this.resetRequested = false;
    this.setA20(true);
    this.cpu.reset();
  }

  /** Stop a run in progress (from a callback such as onSerial); the run returns "requested". */
  stop(): void {
    this.hostStop = true;
    this.cpu.requestStop();
  }

  captureText(options?: CaptureOptions): string {
    return this.devices.cga.captureText(options);
  }

  private result(reason: StopReason, startRetired: number, message: string, extra: Partial<RunResult> = {}): RunResult {
    return {
      reason,
      message,
      instructions: this.cpu.instructionCount - startRetired,
      totalInstructions: this.cpu.instructionCount,
      virtualTime: this.devices.clock.now(),
      ...extra,
    };
  }

  cpuReport(vectors: number[] = []): CpuReport {
    const c = this.cpu;
    const names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
    const regs: Record<string, number> = {};
    names.forEach((n, i) => (regs[n] = c.regs[i] >>> 0));
    const segments: CpuReport["segments"] = {};
    ["es", "cs", "ss", "ds", "fs", "gs"].forEach((n, i) => {
      const s = c.segs[i];
      segments[n] = { selector: s.selector, base: s.base >>> 0, limit: s.limit >>> 0 };
    });
    return { eip: c.eip >>> 0, eflags: c.getEflags() >>> 0, regs, cr0: c.cr[0], cr2: c.cr[2], cr3: c.cr[3], cr4: c.cr[4], segments, vectors };
  }

  /** Run until the guest exits, halts for good, faults thrice, resets, or the budget of virtual time is spent. */
  run(options: RunOptions): RunResult {
    // NaN (a budget computed from garbage) runs nothing rather than forever: `used >= NaN` never holds.
    const max = Number.isNaN(options.maxInstructions) ? 0 : Math.max(0, Math.floor(options.maxInstructions));
    const { clock, timers } = this.devices;
    const cpu = this.cpu;
    const startRetired = cpu.instructionCount;
    const startTime = clock.now();
    this.hostStop = false;
    for (;;) {
      const pending = this.pendingStop(startRetired);
      if (pending) return pending;
      try {
        timers.runDue(clock.now());
      } catch (e) {
        return this.result("error", startRetired, `device error: ${(e as Error).message}`);
      }
      const now = clock.now();
      const used = now - startTime;
      if (used >= max) return this.result("budget", startRetired, `budget of ${max} instructions spent`);
      let slice = max - used;
      const next = timers.nextTime();
      if (next !== undefined) slice = Math.min(slice, Math.max(1, next - now));
      this.sliceEnd = now + slice;
      let stop;
      try {
        stop = cpu.run(slice);
      } catch (e) {
        this.sliceEnd = -1;
        return this.result("error", startRetired, `emulator error at eip ${hex(cpu.eip)}: ${(e as Error).stack ?? e}`);
      } finally {
        this.sliceEnd = -1;
      }
      const after = this.pendingStop(startRetired);
      if (after) return after;
      switch (stop.kind) {
        case "budget":
        case "requested": // a slice cut short for an earlier timer event
          continue;
        case "halt": {
          // A shutdown raised outside the CPU's fault path can surface as a halt: report it as what it is.
          if (cpu.shutdown) return this.tripleFaultResult(startRetired, cpu.shutdown.eip, cpu.shutdown.vectors);
          if ((cpu.getEflags() & EFLAGS_IF) === 0) return this.result("halt", startRetired, `halted with interrupts disabled at eip ${hex(cpu.eip)}`);
          if (this.devices.interrupts.hasPending()) {
            cpu.notifyInterrupt();
            continue;
          }
          const t = timers.nextTime();
          const at = clock.now();
          if (t === undefined) return this.result("halt", startRetired, `halted at eip ${hex(cpu.eip)} with no timer event to come`);
          const left = max - (at - startTime);
          if (t - at > left) {
            clock.idle += Math.max(0, left);
            return this.result("budget", startRetired, `budget of ${max} instructions spent (halted, waiting for a timer)`);
          }
          clock.idle += Math.max(0, t - at);
          continue;
        }
        case "breakpoint":
          return this.result("breakpoint", startRetired, `breakpoint at ${hex(stop.eip)}`, { eip: stop.eip });
        case "hook":
          return this.result("hook", startRetired, `stopped by a hook at eip ${hex(cpu.eip)}`);
        case "triple-fault":
          return this.tripleFaultResult(startRetired, stop.eip, stop.vectors);
      }
    }
  }

  private tripleFaultResult(startRetired: number, eip: number, vectors: number[]): RunResult {
    return this.result("triple-fault", startRetired, `triple fault at eip ${hex(eip)} (vectors ${vectors.join(", ")})`, {
      tripleFault: this.cpuReport(vectors),
      eip,
    });
  }

  /** Stops decided by devices or the host: exit port, reset line, stop(). */
  private pendingStop(startRetired: number): RunResult | null {
    if (this.exitCode !== null) {
      const code = this.exitCode;
      this.exitCode = null;
      return this.result("exit", startRetired, `guest exited with status ${code}`, { exitCode: code });
    }
    if (this.resetRequested) {
      this.resetRequested = false;
      return this.result("reset", startRetired, "guest reset the machine");
    }
    if (this.hostStop) {
      this.hostStop = false;
      return this.result("requested", startRetired, "stop requested by the host");
    }
    return null;
  }

  private deviceStates(): DeviceStates {
    const d = this.devices;
    return {
      pic: d.pic.snapshot(),
      pit: d.pit.snapshot(),
      rtc: d.rtc.snapshot(),
      uart: d.uart.snapshot(),
      ps2: d.ps2.snapshot(),
      cga: d.cga.snapshot(),
      lapic: d.lapic.snapshot(),
      ioapic: d.ioapic.snapshot(),
      timers: d.timers.snapshot(),
    };
  }

  private restoreDevices(s: DeviceStates): void {
    const d = this.devices;
    d.pic.restore(s.pic);
    d.pit.restore(s.pit);
    d.rtc.restore(s.rtc);
    d.uart.restore(s.uart);
    d.ps2.restore(s.ps2);
    d.cga.restore(s.cga);
    d.lapic.restore(s.lapic);
    d.ioapic.restore(s.ioapic);
    d.timers.restore(s.timers);
  }

  /** Capture the whole machine (CPU, RAM copy-on-write, devices, timer queue, clock). */
  snapshot(): MachineSnapshot {
    return {
      cpu: this.cpu.snapshot(),
      ram: this.memory.takeSnapshot(),
      devices: structuredClone(this.deviceStates()),
      idle: this.devices.clock.idle,
      a20: this.a20,
    };
  }

  /** Put the machine back as it was at `s` (snapshots taken after `s` become invalid). */
  restore(s: MachineSnapshot): void {
    this.memory.restoreSnapshot(s.ram);
    this.cpu.restore(s.cpu);
    this.restoreDevices(structuredClone(s.devices));
    this.devices.clock.idle = s.idle;
    this.setA20(s.a20);
    this.exitCode = null;
    this.resetRequested = false;
    this.cpu.notifyInterrupt();
  }

  /** Forget a snapshot (frees its saved pages). */
  releaseSnapshot(s: MachineSnapshot): void {
    this.memory.releaseSnapshot(s.ram);
  }

  /** Port access from the host (debugger console, tests). */
  portRead(port: number, size: AccessSize = 1): number {
    return this.devices.io.read(port, size);
  }

  portWrite(port: number, value: number, size: AccessSize = 1): void {
    this.devices.io.write(port, size, value);
  }
}
