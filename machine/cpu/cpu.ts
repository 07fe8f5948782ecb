// The IA-32 CPU: architectural state, linear/segmented memory access through the software TLB,
// the decoded-block cache and the run loop. Instruction semantics live in the family modules
// (alu, control, string-ops, system, segmentation, interrupts); decoding in decoder.ts.
//
// Minimal processor model offered to guests (CPUID, MSRs) — see system.ts for the full comment.

import type { CpuHooks, InstructionForm, InterruptController, PortBus } from "../bus.js";
import { PhysicalMemory, PageKind } from "../memory.js";
import type { CpuApi, CpuSnapshot, CpuStop, SegmentState, TableRegister } from "./api.js";
import { CpuFault, Vec } from "./fault.js";
import { AC, ARITH, EFLAGS_VALID, IF, IOPL, materialize, computeLazy, RF, TF, VM } from "./flags.js";
import { Insn, decodeBlock, type Block } from "./decoder.js";
import { compileBlock } from "./compile.js";
import { deliverException, deliverExternal } from "./interrupts.js";

// TLB entry bits (low 12 bits of a 4 KiB-aligned physical frame address).
export const TLB_R_SUP = 1;
export const TLB_W_SUP = 2;
export const TLB_R_USR = 4;
export const TLB_W_USR = 8;
export const TLB_GLOBAL = 0x100;
export const TLB_VALID = 0x200;

export const CR0_PE = 1;
export const CR0_MP = 2;
export const CR0_EM = 4;
export const CR0_TS = 8;
export const CR0_ET = 0x10;
export const CR0_NE = 0x20;
export const CR0_WP = 0x10000;
export const CR0_AM = 0x40000;
export const CR0_PG = 0x80000000;
/** CR0 after a power-on or hardware reset: caches off (CD, NW), ET hardwired to 1 since the 486. */
export const CR0_RESET = 0x60000010;
export const CR4_TSD = 4;
export const CR4_PSE = 0x10;
export const CR4_PGE = 0x80;

const BLOCK_CACHE_SIZE = 1 << 14;

/** Make a segment cache entry. */
function seg(selector: number, base: number, limit: number, access: number): SegmentState {
  return { selector, base, limit, access };
}

export class Cpu implements CpuApi {
  readonly regs = new Int32Array(8);
  eip = 0;
  // EFLAGS: materialised bits + lazy arithmetic state (see flags.ts)
  flags = 2;
  lazyMask = 0;
  lazyOp = 0;
  lazyA = 0;
  lazyB = 0;
  lazyRes = 0;
  lazyShift = 0;

  readonly segs: SegmentState[] = [];
  /** Mirrors of segs[i].base for the hot path. */
  readonly segBase = new Int32Array(6);
  /** Non-zero when accesses through segs[i] need limit/type checks (anything but a flat writable data segment). */
  readonly segCheck = new Uint8Array(6);
  readonly cr = new Uint32Array(5);
  readonly dr = new Uint32Array(8);
  gdtr: TableRegister = { base: 0, limit: 0xffff };
  idtr: TableRegister = { base: 0, limit: 0x3ff };
  ldtr: SegmentState = seg(0, 0, 0xffff, 0x82);
  tr: SegmentState = seg(0, 0, 0xffff, 0x8b);
  cpl = 0;
  codeSize: 16 | 32 = 16;
  /** SS.B: 32-bit stack pointer. */
  stack32 = false;
  /** Real mode or CS.D = 0: 16-bit address/operand default. */
  instructionCount = 0;
  halted = false;
  /** Triple fault happened: the CPU is shut down until reset(). */
  shutdown: { eip: number; vectors: number[] } | null = null;

  // Model-specific state (see system.ts)
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  tscOffset = 0;
  apicBase = 0xfee00900;

  io: PortBus = { read: (_p, size) => (size === 4 ? 0xffffffff : (1 << (size * 8)) - 1), write: () => {} };
  interrupts: InterruptController | null = null;
  hooks: CpuHooks = {};
  readonly breakpoints = new Set<number>();

  readonly mem: PhysicalMemory;
  readonly ram: Uint8Array;
  readonly ram32: Int32Array;
  readonly watch: Uint8Array;

  // Software TLB: one Int32 per linear 4 KiB page (frame | TLB_* bits); 0 = not cached.
  readonly tlb = new Int32Array(1 << 20);
  private tlbUsed: number[] = [];
  /** Permission bit tested by fast reads / writes at the current privilege. */
  rMask = TLB_R_SUP;
  wMask = TLB_W_SUP;

  // Block cache: physical address of the first instruction → block.
  private blocks = new Map<number, Block>();
  /** Direct-mapped front of `blocks` (index: low bits of the physical address). */
  private blockCache: (Block | undefined)[] = new Array(BLOCK_CACHE_SIZE);
  /**
   * Executions of a block before it is compiled to a JavaScript function (compile.ts). 0 compiles
   * on first execution (tests use it to exercise compiled code); Infinity never compiles.
   */
  compileThreshold = 2;
  /**
   * Decoded instructions the block cache holds at most (each costs a few hundred bytes): past it the
   * cache starts afresh. A guest running through megabytes of straight-line code (a NOP sled, a wild
   * jump into zeroed RAM) otherwise kept every block until Node ran out of memory.
   */
  maxCachedInstructions = 1 << 19;
  private cachedInstructions = 0;
  private pageBlocks = new Map<number, Block[]>();
  hookedForms: InstructionForm[] = [];
  private entryRanges: { start: number; end: number }[] = [];

  // Run-loop control
  /** Start of the instruction being executed (faults restart here). */
  curEip = 0;
  /** Set by instructions that change mode/flags/code so the block loop re-dispatches. */
  breakBlock = false;
  stopReason: CpuStop | null = null;
  private stopRequested = false;
  /** An interrupt may be deliverable: check before the next instruction. */
  irqCheck = false;
  /** Interrupts are inhibited until instructionCount reaches this (sti, mov ss). */
  inhibitUntil = 0;
  /** An NMI is latched and waits for delivery (at the next instruction boundary, regardless of IF). */
  nmiPending = false;
  /** An NMI handler is running: further NMIs wait until the next iret. */
  nmiBlocked = false;
  private skipBreakpoint = -1;
  /**
   * Linear address of a rep string instruction that ran out of its slice and will resume there
   * (string-ops.ts), or -1. Resuming is not arriving: like the RF flag hardware sets for an
   * interrupted rep, it neither stops at a breakpoint nor fires an entry hook a second time.
   */
  repResumeLin = -1;
  /** Slow per-instruction checks are needed (breakpoints or entry ranges are set). */
  private slowChecks = false;
  /** Nesting of exception delivery (for #DF / triple fault). */
  deliveryVectors: number[] = [];

  // Debug registers (DR7 enables) and EFLAGS.TF: both make the run loop go one instruction at a time.
  /** DR7 enables an instruction or data breakpoint. */
  debugRegsActive = false;
  /** DR7 enables a data breakpoint: rMask/wMask are 0 so every access takes the checked slow path. */
  dataBpActive = false;
  /** DR6 B0–B3 bits of data breakpoints hit by the current instruction (a trap after it). */
  dataBpHits = 0;
  /** Exceptions and software interrupts delivered so far (no single-step trap after one). */
  interruptsDelivered = 0;

  constructor(memory: PhysicalMemory) {
    this.mem = memory;
    this.ram = memory.ram;
    this.ram32 = memory.ram32;
    this.watch = memory.watch;
    memory.onCodeWrite = (page) => this.invalidatePage(page);
    memory.onA20Change = () => {
      // every cached translation and decoded block may name the other alias of a page
      this.flushTlb(true);
      this.flushCodeCache();
    };
    for (let i = 0; i < 6; i++) this.segs.push(seg(0, 0, 0xffff, 0x93));
    this.reset();
  }

  // ---------------------------------------------------------------- state

  reset(): void {
    this.regs.fill(0);
    this.regs[2] = 0x00000400; // EDX: family 4 (486-class) signature as at reset
    this.eip = 0xfff0;
    this.flags = 2;
    this.lazyMask = 0;
    this.cr.fill(0);
    this.cr[0] = CR0_RESET;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0;
    this.dr[7] = 0x400;
    this.debugRegsActive = this.dataBpActive = false;
    this.dataBpHits = 0;
    for (let i = 0; i < 6; i++) this.setSeg(i, 0, 0, 0xffff, i === 1 ? 0x9b : 0x93);
    this.setSeg(1, 0xf000, 0xffff0000, 0xffff, 0x9b);
    this.gdtr = { base: 0, limit: 0xffff };
    this.idtr = { base: 0, limit: 0x3ff };
    this.ldtr = seg(0, 0, 0xffff, 0x82);
    this.tr = seg(0, 0, 0xffff, 0x8b);
    this.cpl = 0;
    this.halted = false;
    this.shutdown = null;
    this.sysenterCs = this.sysenterEsp = this.sysenterEip = 0;
    this.inhibitUntil = 0;
    this.nmiPending = this.nmiBlocked = false;
    this.deliveryVectors = [];
    this.updateMode();
    this.flushTlb(true);
  }

  enterFlatProtectedMode(entry: number): void {
    // As a multiboot loader leaves it: firmware has turned the caches on, the loader set PE (ET reads 1 always).
    this.cr[0] = CR0_ET | CR0_PE;
    this.flags = 2;
    this.lazyMask = 0;
    this.setSeg(1, 0x08, 0, 0xffffffff, 0xc09b);
    for (const s of [0, 2, 3, 4, 5]) this.setSeg(s, 0x10, 0, 0xffffffff, 0xc093);
    this.gdtr = { base: 0, limit: 0 };
    this.idtr = { base: 0, limit: 0 };
    this.cpl = 0;
    this.eip = entry >>> 0;
    this.halted = false;
    this.shutdown = null;
    this.updateMode();
    this.flushTlb(true);
  }

  /** Load a segment register's cache directly (no checks). */
  setSeg(i: number, selector: number, base: number, limit: number, access: number): void {
    const s = this.segs[i];
    s.selector = selector & 0xffff;
    s.base = base >>> 0;
    s.limit = limit >>> 0;
    s.access = access & 0xf0ff;
    this.segBase[i] = base | 0;
    // flat, present, writable, expand-up data segment: no checks needed
    const flat = (access & 0x9e) === 0x92 && s.limit === 0xffffffff;
    this.segCheck[i] = flat ? 0 : 1;
    if (i === 1) this.updateMode();
    if (i === 2) this.stack32 = this.protectedMode && (access & 0x4000) !== 0;
  }

  get protectedMode(): boolean {
    return (this.cr[0] & CR0_PE) !== 0;
  }

  get vm86(): boolean {
    return (this.flags & VM) !== 0;
  }

  /** Recompute derived mode state after CS / CR0 / CPL changes. */
  updateMode(): void {
    const pm = (this.cr[0] & CR0_PE) !== 0;
    this.codeSize = pm && this.segs[1].access & 0x4000 ? 32 : 16;
    if (!pm) this.cpl = 0;
    this.stack32 = pm && (this.segs[2].access & 0x4000) !== 0;
    const user = this.cpl === 3;
    this.rMask = user ? TLB_R_USR : TLB_R_SUP;
    this.wMask = user ? TLB_W_USR : TLB_W_SUP;
    if (this.dataBpActive) this.rMask = this.wMask = 0;
    this.breakBlock = true;
  }

  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.updateMode();
  }

  getEflags(): number {
    return ((this.flags & ~this.lazyMask) | computeLazy(this) | 2) >>> 0;
  }

  setEflags(value: number): void {
    const oldIf = this.flags & IF;
    this.flags = (value & EFLAGS_VALID) | 2;
    this.lazyMask = 0;
    if (!oldIf && this.flags & IF) this.irqCheck = true;
    this.breakBlock = true;
  }

  /** Flags write with the privilege rules of popf/iret: which bits may change is `mask`. */
  writeFlagsMasked(value: number, mask: number): void {
    materialize(this);
    const oldIf = this.flags & IF;
    this.flags = ((this.flags & ~mask) | (value & mask) | 2) & EFLAGS_VALID;
    if (!oldIf && this.flags & IF) this.irqCheck = true;
    this.breakBlock = true;
  }

  /** popf/iret mask at the current privilege (IOPL only at CPL 0; IF only when CPL <= IOPL). */
  flagsWriteMask(size: number): number {
    let mask = ARITH | TF | 0x400 /* DF */ | 0x4000 /* NT */;
    if (size === 4) mask |= AC | 0x200000; // AC, ID (RF and VM are not written by popf)
    if (this.cpl === 0) mask |= IOPL;
    if (this.cpl <= (this.flags & IOPL) >> 12) mask |= IF;
    return size === 2 ? mask & 0xffff : mask;
  }

  setCr(n: number, value: number): void {
    value >>>= 0;
    if (n === 0) {
      const old = this.cr[0];
      value = (value | CR0_ET) >>> 0;
      if (value & CR0_PG && !(value & CR0_PE)) throw new CpuFault(Vec.GP, 0);
      this.cr[0] = value;
      if ((old ^ value) & (CR0_PG | CR0_WP | CR0_PE)) this.flushTlb(true);
      if ((old ^ value) & CR0_PE) {
        if (!(value & CR0_PE)) this.cpl = 0;
      }
      this.updateMode();
    } else if (n === 2) {
      this.cr[2] = value;
    } else if (n === 3) {
      this.cr[3] = value;
      this.flushTlb(false);
    } else if (n === 4) {
      const old = this.cr[4];
      // offered: VME(0) no, PVI no, TSD(2), DE(3), PSE(4), PGE(7); anything else is reserved
      if (value & ~(CR4_TSD | 8 | CR4_PSE | CR4_PGE)) throw new CpuFault(Vec.GP, 0);
      this.cr[4] = value;
      if ((old ^ value) & (CR4_PSE | CR4_PGE)) this.flushTlb(true);
    }
    this.breakBlock = true;
  }

  // ---------------------------------------------------------------- TLB and paging

  get pagingEnabled(): boolean {
    return (this.cr[0] & CR0_PG) !== 0;
  }

  flushTlb(global: boolean): void {
    const used = this.tlbUsed;
    if (global || !(this.cr[4] & CR4_PGE)) {
      for (let i = 0; i < used.length; i++) this.tlb[used[i]] = 0;
      this.tlbUsed = [];
    } else {
      const keep: number[] = [];
      for (let i = 0; i < used.length; i++) {
        const p = used[i];
        if (this.tlb[p] & TLB_GLOBAL) keep.push(p);
        else this.tlb[p] = 0;
      }
      this.tlbUsed = keep;
    }
  }

  invlpg(linear: number): void {
    this.tlb[linear >>> 12] = 0;
  }

  /**
   * Page walk. Returns the physical address; throws #PF when `fault` is set and the access is not
   * permitted, else returns -1. With `effects`, sets accessed/dirty bits and fills the TLB.
   */
  walk(lin: number, write: boolean, user: boolean, effects: boolean): number {
    lin >>>= 0;
    const page = lin >>> 12;
    const a20 = this.mem.a20Mask;
    if (!(this.cr[0] & CR0_PG)) {
      const phys = (lin & a20) >>> 0;
      if (effects) this.fillTlb(page, phys & 0xfffff000, true, true, true, true, false);
      return phys;
    }
    const mem = this.mem;
    const pdeAddr = (((this.cr[3] & 0xfffff000) + ((lin >>> 22) << 2)) & a20) >>> 0;
    const pde = mem.read32(pdeAddr);
    const wp = (this.cr[0] & CR0_WP) !== 0;
    const errBase = (write ? 2 : 0) | (user ? 4 : 0);
    if (!(pde & 1)) return this.pageFault(lin, errBase, effects);
    let phys: number;
    let rw: boolean;
    let us: boolean;
    let dirty: boolean;
    let global = false;
    if (pde & 0x80 && this.cr[4] & CR4_PSE) {
      rw = (pde & 2) !== 0;
      us = (pde & 4) !== 0;
      if (!this.permitted(rw, us, write, user, wp)) return this.pageFault(lin, errBase | 1, effects);
      phys = (((pde & 0xffc00000) | (lin & 0x3fffff)) & a20) >>> 0;
      global = (pde & 0x100) !== 0 && (this.cr[4] & CR4_PGE) !== 0;
      if (effects) {
        const n = pde | 0x20 | (write ? 0x40 : 0);
        if (n !== pde) mem.write32(pdeAddr, n);
      }
      dirty = write || (pde & 0x40) !== 0;
    } else {
      const pteAddr = (((pde & 0xfffff000) + (((lin >>> 12) & 0x3ff) << 2)) & a20) >>> 0;
      const pte = mem.read32(pteAddr);
      if (!(pte & 1)) return this.pageFault(lin, errBase, effects);
      rw = (pde & 2) !== 0 && (pte & 2) !== 0;
      us = (pde & 4) !== 0 && (pte & 4) !== 0;
      if (!this.permitted(rw, us, write, user, wp)) return this.pageFault(lin, errBase | 1, effects);
      phys = (((pte & 0xfffff000) | (lin & 0xfff)) & a20) >>> 0;
      global = (pte & 0x100) !== 0 && (this.cr[4] & CR4_PGE) !== 0;
      if (effects) {
        if (!(pde & 0x20)) mem.write32(pdeAddr, pde | 0x20);
        const n = pte | 0x20 | (write ? 0x40 : 0);
        if (n !== pte) mem.write32(pteAddr, n);
      }
      dirty = write || (pte & 0x40) !== 0;
    }
    if (effects) {
      const wSup = dirty && (rw || !wp);
      const wUsr = dirty && rw && us;
      this.fillTlb(page, phys & 0xfffff000, true, wSup, us, wUsr, global);
    }
    return phys;
  }

  private permitted(rw: boolean, us: boolean, write: boolean, user: boolean, wp: boolean): boolean {
    if (user) return us && (!write || rw);
    return !write || rw || !wp;
  }

  private pageFault(lin: number, code: number, effects: boolean): number {
    if (!effects) return -1;
    this.cr[2] = lin >>> 0;
    throw new CpuFault(Vec.PF, code, lin >>> 0);
  }

  private fillTlb(page: number, frame: number, rSup: boolean, wSup: boolean, rUsr: boolean, wUsr: boolean, global: boolean): void {
    const fp = frame >>> 12;
    const kind = this.mem.pageKind[fp];
    if (kind !== PageKind.Ram && !(kind === PageKind.Rom && fp < this.mem.size >>> 12)) return;
    const writable = kind === PageKind.Ram;
    let bits = TLB_VALID;
    if (rSup) bits |= TLB_R_SUP;
    if (rUsr) bits |= TLB_R_USR;
    if (writable && wSup) bits |= TLB_W_SUP;
    if (writable && wUsr) bits |= TLB_W_USR;
    if (global) bits |= TLB_GLOBAL;
    if (this.tlb[page] === 0) this.tlbUsed.push(page);
    this.tlb[page] = frame | bits;
  }

  /** CpuApi.translate: no side effects, null when not mapped / not permitted. */
  translate(linear: number, write: boolean, user: boolean): number | null {
    const p = this.walk(linear, write, user, false);
    return p < 0 ? null : p;
  }

  // ---------------------------------------------------------------- linear memory access

  private physFor(lin: number, write: boolean, user: boolean): number {
    return this.walk(lin, write, user, true);
  }

  readLinSlow(lin: number, size: 1 | 2 | 4, user: boolean): number {
    lin >>>= 0;
    const mem = this.mem;
    if (this.dataBpActive) this.checkDataBreakpoints(lin, size, false);
    if ((lin & 0xfff) + size <= 0x1000) {
      const p = this.physFor(lin, false, user);
      return size === 1 ? mem.read8(p) : size === 2 ? mem.read16(p) : mem.read32(p) | 0;
    }
    // crossing a page: translate both before reading
    const p0 = this.physFor(lin, false, user);
    const p1 = this.physFor((lin + size - 1) >>> 0, false, user);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const a = ((lin + i) & 0xfff) >= (lin & 0xfff) && i < 0x1000 - (lin & 0xfff) ? p0 + i : (p1 & ~0xfff) + ((lin + i) & 0xfff);
      v |= mem.read8(a) << (i * 8);
    }
    return size === 4 ? v | 0 : v;
  }

  writeLinSlow(lin: number, size: 1 | 2 | 4, value: number, user: boolean): void {
    lin >>>= 0;
    const mem = this.mem;
    if (this.dataBpActive) this.checkDataBreakpoints(lin, size, true);
    if ((lin & 0xfff) + size <= 0x1000) {
      const p = this.physFor(lin, true, user);
      if (size === 1) mem.write8(p, value & 0xff);
      else if (size === 2) mem.write16(p, value & 0xffff);
      else mem.write32(p, value);
      return;
    }
    const p0 = this.physFor(lin, true, user);
    const p1 = this.physFor((lin + size - 1) >>> 0, true, user);
    const first = 0x1000 - (lin & 0xfff);
    for (let i = 0; i < size; i++) {
      const a = i < first ? p0 + i : (p1 & ~0xfff) + ((lin + i) & 0xfff);
      mem.write8(a, (value >>> (i * 8)) & 0xff);
    }
  }

  rd8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if (e & this.rMask) return this.ram[(e & ~0xfff) | (lin & 0xfff)];
    return this.readLinSlow(lin, 1, this.cpl === 3);
  }

  rd16(lin: number): number {
    const e = this.tlb[lin >>> 12];
    const o = lin & 0xfff;
    if (e & this.rMask && o !== 0xfff) {
      const p = (e & ~0xfff) | o;
      return this.ram[p] | (this.ram[p + 1] << 8);
    }
    return this.readLinSlow(lin, 2, this.cpl === 3);
  }

  /** 32-bit read as a signed int32. */
  rd32(lin: number): number {
    const e = this.tlb[lin >>> 12];
    const o = lin & 0xfff;
    if (e & this.rMask && o <= 0xffc) {
      const p = (e & ~0xfff) | o;
      if ((p & 3) === 0) return this.ram32[p >>> 2];
      const r = this.ram;
      return r[p] | (r[p + 1] << 8) | (r[p + 2] << 16) | (r[p + 3] << 24);
    }
    return this.readLinSlow(lin, 4, this.cpl === 3);
  }

  wr8(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if (e & this.wMask) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if (this.watch[p >>> 12]) this.mem.beforeWrite(p >>> 12);
      this.ram[p] = v;
      return;
    }
    this.writeLinSlow(lin, 1, v, this.cpl === 3);
  }

  wr16(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    const o = lin & 0xfff;
    if (e & this.wMask && o !== 0xfff) {
      const p = (e & ~0xfff) | o;
      if (this.watch[p >>> 12]) this.mem.beforeWrite(p >>> 12);
      this.ram[p] = v;
      this.ram[p + 1] = v >> 8;
      return;
    }
    this.writeLinSlow(lin, 2, v, this.cpl === 3);
  }

  wr32(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    const o = lin & 0xfff;
    if (e & this.wMask && o <= 0xffc) {
      const p = (e & ~0xfff) | o;
      if (this.watch[p >>> 12]) this.mem.beforeWrite(p >>> 12);
      if ((p & 3) === 0) this.ram32[p >>> 2] = v;
      else {
        const r = this.ram;
        r[p] = v;
        r[p + 1] = v >> 8;
        r[p + 2] = v >> 16;
        r[p + 3] = v >> 24;
      }
      return;
    }
    this.writeLinSlow(lin, 4, v, this.cpl === 3);
  }

  /** Supervisor-mode (implicit system) accesses: descriptor tables, TSS, IDT. */
  sysRead32(lin: number): number {
    return this.readLinSlow(lin, 4, false);
  }
  sysRead16(lin: number): number {
    return this.readLinSlow(lin, 2, false);
  }
  sysRead8(lin: number): number {
    return this.readLinSlow(lin, 1, false);
  }
  sysWrite32(lin: number, v: number): void {
    this.writeLinSlow(lin, 4, v, false);
  }
  sysWrite16(lin: number, v: number): void {
    this.writeLinSlow(lin, 2, v, false);
  }
  sysWrite8(lin: number, v: number): void {
    this.writeLinSlow(lin, 1, v, false);
  }

  // ---------------------------------------------------------------- segmented access

  /** Limit and type checks for an access of `size` bytes at `off` through segment `s`. */
  checkSeg(s: number, off: number, size: number, write: boolean): void {
    const sg = this.segs[s];
    const vec = s === 2 ? Vec.SS : Vec.GP;
    const a = sg.access;
    off >>>= 0;
    if (this.protectedMode && !this.vm86) {
      if (!(a & 0x80)) throw new CpuFault(vec, 0); // null / not usable
      if (a & 8) {
        // code: never writable; readable only with R
        if (write || !(a & 2)) throw new CpuFault(vec, 0);
      } else if (write && !(a & 2)) throw new CpuFault(vec, 0);
    }
    const end = off + size - 1;
    if (!(a & 8) && a & 4) {
      // expand-down data
      const upper = a & 0x4000 ? 0xffffffff : 0xffff;
      if (off <= sg.limit || end > upper) throw new CpuFault(vec, 0);
    } else if (end > sg.limit) {
      if (!(sg.limit === 0xffffffff)) throw new CpuFault(vec, 0);
    }
  }

  read8(s: number, off: number): number {
    if (this.segCheck[s]) this.checkSeg(s, off, 1, false);
    return this.rd8((this.segBase[s] + off) | 0);
  }
  read16(s: number, off: number): number {
    if (this.segCheck[s]) this.checkSeg(s, off, 2, false);
    return this.rd16((this.segBase[s] + off) | 0);
  }
  read32(s: number, off: number): number {
    if (this.segCheck[s]) this.checkSeg(s, off, 4, false);
    return this.rd32((this.segBase[s] + off) | 0);
  }
  write8(s: number, off: number, v: number): void {
    if (this.segCheck[s]) this.checkSeg(s, off, 1, true);
    this.wr8((this.segBase[s] + off) | 0, v);
  }
  write16(s: number, off: number, v: number): void {
    if (this.segCheck[s]) this.checkSeg(s, off, 2, true);
    this.wr16((this.segBase[s] + off) | 0, v);
  }
  write32(s: number, off: number, v: number): void {
    if (this.segCheck[s]) this.checkSeg(s, off, 4, true);
    this.wr32((this.segBase[s] + off) | 0, v);
  }
  readSized(s: number, off: number, size: number): number {
    return size === 4 ? this.read32(s, off) : size === 2 ? this.read16(s, off) : this.read8(s, off);
  }
  writeSized(s: number, off: number, size: number, v: number): void {
    if (size === 4) this.write32(s, off, v);
    else if (size === 2) this.write16(s, off, v & 0xffff);
    else this.write8(s, off, v & 0xff);
  }
  /** Check that a write would succeed (segment and page) without writing. */
  probeWrite(s: number, off: number, size: number): void {
    if (this.segCheck[s]) this.checkSeg(s, off, size, true);
    const lin = (this.segBase[s] + off) >>> 0;
    const e = this.tlb[lin >>> 12];
    if (!(e & this.wMask)) this.physFor(lin, true, this.cpl === 3);
    if ((lin & 0xfff) + size > 0x1000) this.physFor((lin + size - 1) >>> 0, true, this.cpl === 3);
  }

  // ---------------------------------------------------------------- registers by size

  getReg8(r: number): number {
    return r < 4 ? this.regs[r] & 0xff : (this.regs[r - 4] >> 8) & 0xff;
  }
  setReg8(r: number, v: number): void {
    if (r < 4) this.regs[r] = (this.regs[r] & ~0xff) | (v & 0xff);
    else this.regs[r - 4] = (this.regs[r - 4] & ~0xff00) | ((v & 0xff) << 8);
  }
  getReg(size: number, r: number): number {
    if (size === 4) return this.regs[r];
    if (size === 2) return this.regs[r] & 0xffff;
    return r < 4 ? this.regs[r] & 0xff : (this.regs[r - 4] >> 8) & 0xff;
  }
  setReg(size: number, r: number, v: number): void {
    if (size === 4) this.regs[r] = v;
    else if (size === 2) this.regs[r] = (this.regs[r] & ~0xffff) | (v & 0xffff);
    else this.setReg8(r, v);
  }

  // ---------------------------------------------------------------- operands of a decoded instruction

  /** Effective address (offset within the segment) of the ModRM memory operand. */
  ea(i: Insn): number {
    const r = this.regs;
    if (i.asize === 4) {
      let a = i.disp;
      if (i.base >= 0) a += r[i.base];
      if (i.index >= 0) a += r[i.index] << i.scale;
      return a | 0;
    }
    let a = i.disp;
    if (i.base >= 0) a += r[i.base];
    if (i.index >= 0) a += r[i.index];
    return a & 0xffff;
  }

  readE(i: Insn): number {
    if (i.mod === 3) return this.getReg(i.size, i.rm);
    return this.readSized(i.seg, this.ea(i), i.size);
  }
  writeE(i: Insn, v: number): void {
    if (i.mod === 3) this.setReg(i.size, i.rm, v);
    else this.writeSized(i.seg, this.ea(i), i.size, v);
  }

  // ---------------------------------------------------------------- stack

  push(size: number, v: number): void {
    const r = this.regs;
    if (this.stack32) {
      const sp = (r[4] - size) | 0;
      if (size === 4) this.write32(2, sp, v);
      else this.write16(2, sp, v & 0xffff);
      r[4] = sp;
    } else {
      const sp = (r[4] - size) & 0xffff;
      if (size === 4) this.write32(2, sp, v);
      else this.write16(2, sp, v & 0xffff);
      r[4] = (r[4] & ~0xffff) | sp;
    }
  }
  push32(v: number): void {
    this.push(4, v);
  }
  /** Read the value at the top of stack + `offset` without popping. */
  peek(size: number, offset: number): number {
    const sp = this.stack32 ? (this.regs[4] + offset) | 0 : (this.regs[4] + offset) & 0xffff;
    return size === 4 ? this.read32(2, sp) : this.read16(2, sp);
  }
  pop(size: number): number {
    const r = this.regs;
    if (this.stack32) {
      const v = size === 4 ? this.read32(2, r[4]) : this.read16(2, r[4]);
      r[4] = (r[4] + size) | 0;
      return v;
    }
    const sp = r[4] & 0xffff;
    const v = size === 4 ? this.read32(2, sp) : this.read16(2, sp);
    r[4] = (r[4] & ~0xffff) | ((sp + size) & 0xffff);
    return v;
  }
  adjustSp(delta: number): void {
    const r = this.regs;
    if (this.stack32) r[4] = (r[4] + delta) | 0;
    else r[4] = (r[4] & ~0xffff) | ((r[4] + delta) & 0xffff);
  }

  // ---------------------------------------------------------------- code cache

  invalidatePage(page: number): void {
    const list = this.pageBlocks.get(page);
    if (!list) return;
    this.pageBlocks.delete(page);
    const cache = this.blockCache;
    for (const b of list) {
      if (this.blocks.get(b.phys) === b) this.blocks.delete(b.phys);
      this.cachedInstructions -= b.insns.length;
      const slot = b.phys & (BLOCK_CACHE_SIZE - 1);
      if (cache[slot] === b) cache[slot] = undefined;
      b.valid = false;
    }
    this.breakBlock = true;
  }

  /** Instructions in the block cache now (for tests of its bound). */
  get codeCacheInstructions(): number {
    return this.cachedInstructions;
  }

  flushCodeCache(): void {
    for (const list of this.pageBlocks.values()) for (const b of list) b.valid = false;
    this.cachedInstructions = 0;
    this.blocks.clear();
    this.pageBlocks.clear();
    this.blockCache.fill(undefined);
    this.breakBlock = true;
  }

  /** Fetch one code byte at linear `lin` for the decoder (supervisor/user per CPL, execute access; no data breakpoints). */
  fetchCode8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if (e & this.rMask) return this.ram[(e & ~0xfff) | (lin & 0xfff)];
    return this.mem.read8(this.physFor(lin >>> 0, false, this.cpl === 3));
  }

  // ---------------------------------------------------------------- debug registers

  /** Recompute what DR7 enables (after a write to DR7 or a restore). I/O breakpoints (R/W = 10) are not offered. */
  updateDebugRegisters(): void {
    const dr7 = this.dr[7];
    let any = false;
    let data = false;
    for (let n = 0; n < 4; n++) {
      if (!((dr7 >>> (2 * n)) & 3)) continue;
      const rw = (dr7 >>> (16 + 4 * n)) & 3;
      if (rw === 2) continue;
      any = true;
      if (rw !== 0) data = true;
    }
    this.debugRegsActive = any;
    this.dataBpActive = data;
    this.updateMode();
  }

  /** DR6 B0–B3 bits of enabled instruction breakpoints (R/W = 00) at linear `lin`. */
  private instructionBreakpoints(lin: number): number {
    const dr7 = this.dr[7];
    let hit = 0;
    for (let n = 0; n < 4; n++) {
      if ((dr7 >>> (2 * n)) & 3 && ((dr7 >>> (16 + 4 * n)) & 3) === 0 && this.dr[n] === lin) hit |= 1 << n;
    }
    return hit;
  }

  /** Record data breakpoints (R/W = 01 writes, 11 reads and writes; LEN 1, 2, 4 bytes) the access overlaps. */
  private checkDataBreakpoints(lin: number, size: number, write: boolean): void {
    const dr7 = this.dr[7];
    for (let n = 0; n < 4; n++) {
      if (!((dr7 >>> (2 * n)) & 3)) continue;
      const rw = (dr7 >>> (16 + 4 * n)) & 3;
      if (rw === 0 || rw === 2 || (rw === 1 && !write)) continue;
      const len = [1, 2, 8, 4][(dr7 >>> (18 + 4 * n)) & 3];
      const start = this.dr[n] & ~(len - 1);
      if (lin < start + len && lin + size > start) this.dataBpHits |= 1 << n;
    }
  }

  /**
   * After one instruction with TF or debug registers active: clear RF (iret loads it), then raise
   * the #DB trap for a single step (TF was set when the instruction began and it delivered no
   * interrupt) or for data breakpoints it hit. DR6 bits are set, never cleared (the handler does).
   */
  private afterDebugStep(tf: boolean, rf: boolean, delivered: number, i: Insn): void {
    if (rf && i.op !== 0xcf) this.flags &= ~RF;
    let bits = this.dataBpHits;
    this.dataBpHits = 0;
    if (tf && this.interruptsDelivered === delivered) bits |= 0x4000;
    if (bits === 0 || this.stopReason !== null) return;
    this.dr[6] = (this.dr[6] | bits) >>> 0;
    deliverException(this, Vec.DB, undefined, false);
  }

  private getBlock(): Block {
    const lin = (this.segBase[1] + this.eip) >>> 0;
    let e = this.tlb[lin >>> 12];
    if (!(e & this.rMask)) {
      this.physFor(lin, false, this.cpl === 3);
      e = this.tlb[lin >>> 12];
    }
    if (e & this.rMask) {
      const phys = ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
      const slot = phys & (BLOCK_CACHE_SIZE - 1);
      const c = this.blockCache[slot];
      if (c !== undefined && c.phys === phys && c.codeSize === this.codeSize) return c;
      const b = this.blocks.get(phys);
      if (b !== undefined && b.codeSize === this.codeSize) {
        this.blockCache[slot] = b;
        return b;
      }
      const nb = decodeBlock(this, lin, phys);
      if (nb.cacheable) {
        if (this.cachedInstructions + nb.insns.length > this.maxCachedInstructions) this.flushCodeCache();
        this.cachedInstructions += nb.insns.length;
        this.blockCache[slot] = nb;
        this.blocks.set(phys, nb);
        const page = phys >>> 12;
        let list = this.pageBlocks.get(page);
        if (!list) this.pageBlocks.set(page, (list = []));
        list.push(nb);
        this.mem.watchCode(page);
      }
      return nb;
    }
    // code from MMIO / ROM above RAM: decode every time, never cached
    return decodeBlock(this, lin, -1);
  }

  setHookedForms(forms: readonly InstructionForm[]): void {
    this.hookedForms = forms.map((f) => ({ ...f }));
    this.flushCodeCache();
  }

  setEntryRanges(ranges: readonly { start: number; end: number }[]): void {
    this.entryRanges = ranges.map((r) => ({ start: r.start >>> 0, end: r.end >>> 0 }));
    this.updateSlowChecks();
  }

  /** No breakpoint and no entry range in (lin, lin + bytes): the block may run without per-instruction checks. */
  private blockIsClear(lin: number, bytes: number): boolean {
    const endLin = lin + bytes;
    for (const bp of this.breakpoints) if (bp > lin && bp < endLin) return false;
    for (const r of this.entryRanges) if (r.start < endLin && r.end > lin + 1) return false;
    return true;
  }

  private updateSlowChecks(): void {
    this.slowChecks = this.breakpoints.size > 0 || this.entryRanges.length > 0;
  }

  // ---------------------------------------------------------------- run loop

  requestStop(): void {
    this.stopRequested = true;
  }

  notifyInterrupt(): void {
    this.irqCheck = true;
  }

  deliverInterrupt(vector: number, errorCode?: number): void {
    this.halted = false;
    this.guarded(() => deliverExternal(this, vector, errorCode));
  }

  /** Run `f`; a guest fault escaping it is delivered like an instruction fault. */
  private guarded(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      this.raise(e);
    }
  }

  /** Deliver a fault raised by the current instruction (EIP = its start). */
  raise(e: CpuFault): void {
    deliverException(this, e.vector, e.errorCode, false, e.faultAddress);
  }

  /** Checks that happen before an instruction at linear `lin`: breakpoints, entry ranges. Returns a stop or null. */
  private checkBeforeInstruction(lin: number): CpuStop | null {
    if (this.breakpoints.size > 0 && this.breakpoints.has(lin) && this.skipBreakpoint !== lin) {
      this.skipBreakpoint = lin;
      return { kind: "breakpoint", eip: lin };
    }
    this.skipBreakpoint = -1;
    for (const r of this.entryRanges) {
      if (lin >= r.start && lin < r.end) {
        const h = this.hooks.onEntry?.(lin) ?? "stop";
        if (h === "stop") return { kind: "hook" };
        this.breakBlock = true;
        return null;
      }
    }
    return null;
  }

  run(budget: number): CpuStop {
    if (this.shutdown) return { kind: "triple-fault", eip: this.shutdown.eip, vectors: this.shutdown.vectors };
    this.stopRequested = false;
    this.stopReason = null;
    this.updateSlowChecks();
    const end = this.instructionCount + budget;
    while (this.instructionCount < end) {
      if (this.irqCheck && this.instructionCount >= this.inhibitUntil) {
        this.checkInterrupts();
        if (this.shutdown) return this.tripleStop();
      }
      if (this.shutdown) return this.tripleStop();
      if (this.halted) return { kind: "halt" };
      if (this.stopRequested) return { kind: "requested" };
      this.breakBlock = false;
      try {
        let lin = 0;
        const debug = (this.flags & TF) !== 0 || this.debugRegsActive;
        if (this.slowChecks || debug) {
          lin = (this.segBase[1] + this.eip) >>> 0;
          const resuming = lin === this.repResumeLin;
          this.repResumeLin = -1;
          if (this.slowChecks && !resuming) {
            const st = this.checkBeforeInstruction(lin);
            if (st) return st;
            if (this.breakBlock) continue;
          }
          if (this.debugRegsActive && !(this.flags & RF) && !resuming) {
            const hit = this.instructionBreakpoints(lin);
            if (hit) {
              // instruction breakpoint: a fault before the instruction (the handler sets RF to go on)
              this.dr[6] = (this.dr[6] | hit) >>> 0;
              this.curEip = this.eip;
              this.raise(new CpuFault(Vec.DB, undefined));
              if (this.shutdown) return this.tripleStop();
              if (this.stopReason) return this.stopReason;
              continue;
            }
          }
        }
        const b = this.getBlock();
        const n = b.insns.length;
        const csLimit = this.segs[1].limit;
        // One instruction at a time when stepping (TF, debug registers), when a breakpoint or entry
        // range lies inside the block, or inside an interrupt shadow (sti): interrupts are taken after
        // the one instruction that follows, not after the rest of its block (sti; nop; cli has a window).
        const single = debug || this.instructionCount < this.inhibitUntil || (this.slowChecks && !this.blockIsClear(lin, b.bytes));
        if (
          !single &&
          b.cacheable &&
          end - this.instructionCount >= n &&
          this.eip + b.bytes - 1 <= csLimit &&
          (b.codeSize === 32 || this.eip + b.bytes <= 0x10000)
        ) {
          let fn = b.fn;
          if (fn === null && ++b.hits > this.compileThreshold) {
            fn = b.fn = compileBlock(this, b);
            if (fn === null) b.hits = -Infinity;
          }
          if (fn !== null && (!b.needsStack32 || this.stack32)) {
            fn(this);
            if (!this.slowChecks) this.chain(end);
            if (this.stopReason) return this.stopReason;
            continue;
          }
        }
        const insns = b.insns;
        const ipMask = this.codeSize === 32 ? -1 : 0xffff;
        for (let k = 0; k < n; k++) {
          const i = insns[k];
          const start = this.eip;
          this.curEip = start;
          const next = ((start + i.len) & ipMask) >>> 0;
          if (start + i.len - 1 > csLimit) throw new CpuFault(Vec.GP, 0);
          this.eip = next;
          if (debug) {
            const tf = (this.flags & TF) !== 0;
            const rf = (this.flags & RF) !== 0;
            const delivered = this.interruptsDelivered;
            this.dataBpHits = 0;
            i.exec(this, i);
            this.instructionCount++;
            this.afterDebugStep(tf, rf, delivered, i);
            break;
          }
          i.exec(this, i);
          this.instructionCount++;
          if (this.eip !== next || this.breakBlock || this.instructionCount >= end || !b.valid) break;
          if (single) break;
        }
      } catch (e) {
        if (!(e instanceof CpuFault)) throw e;
        // a fault after a task switch committed is reported at the new task's EIP
        if (!e.inNewTask) this.eip = this.curEip;
        this.dataBpHits = 0; // a faulting instruction reports its fault, not its data breakpoints
        this.raise(e);
        if (this.shutdown) return this.tripleStop();
      }
      if (this.stopReason) return this.stopReason;
    }
    if (this.stopRequested) return { kind: "requested" };
    return { kind: "budget" };
  }

  /**
   * Run compiled blocks back to back while nothing needs the run loop's attention (no pending
   * interrupt check, stop request, block break or per-instruction checks): the same blocks the run
   * loop would pick, without its bookkeeping. Returns to it at the first block it cannot run whole.
   */
  private chain(end: number): void {
    const tlb = this.tlb;
    const cache = this.blockCache;
    while (!this.breakBlock && !this.irqCheck && !this.stopRequested && this.stopReason === null && (this.flags & TF) === 0 && !this.debugRegsActive) {
      const eip = this.eip;
      const lin = (this.segBase[1] + eip) >>> 0;
      const e = tlb[lin >>> 12];
      if (!(e & this.rMask)) return;
      const phys = ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
      const b = cache[phys & (BLOCK_CACHE_SIZE - 1)];
      if (b === undefined || b.phys !== phys || b.codeSize !== this.codeSize) return;
      const fn = b.fn;
      if (fn === null || end - this.instructionCount < b.insns.length || eip + b.bytes - 1 > this.segs[1].limit) return;
      if ((b.codeSize === 16 && eip + b.bytes > 0x10000) || (b.needsStack32 && !this.stack32)) return;
      fn(this);
    }
  }

  private tripleStop(): CpuStop {
    const s = this.shutdown!;
    return { kind: "triple-fault", eip: s.eip, vectors: s.vectors };
  }

  /** Latch a non-maskable interrupt (the NMI pin, or a local APIC NMI): delivered through vector 2 at the next boundary. */
  raiseNmi(): void {
    this.nmiPending = true;
    this.irqCheck = true;
  }

  /** Deliver a pending NMI, else a pending maskable interrupt if IF allows. */
  private checkInterrupts(): void {
    if (this.nmiPending && !this.nmiBlocked) {
      this.nmiPending = false;
      this.nmiBlocked = true;
      this.halted = false;
      this.guarded(() => deliverExternal(this, Vec.NMI, undefined));
      return; // irqCheck stays set: a maskable interrupt is checked at the next boundary
    }
    const pic = this.interrupts;
    // With IF clear nothing more to check: sti, popf, iret and setEflags set irqCheck when IF rises,
    // iret when it unblocks a latched NMI, devices when they raise a line.
    if (!pic || !(this.flags & IF)) {
      this.irqCheck = false;
      return;
    }
    if (!pic.hasPending()) {
      this.irqCheck = false;
      return;
    }
    const vector = pic.acknowledge();
    this.halted = false;
    this.guarded(() => deliverExternal(this, vector, undefined));
  }

  // ---------------------------------------------------------------- host-side linear access

  readLinear(linear: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; ) {
      const lin = (linear + i) >>> 0;
      const n = Math.min(0x1000 - (lin & 0xfff), length - i);
      const p = this.walk(lin, false, false, false);
      if (p >= 0) for (let k = 0; k < n; k++) out[i + k] = this.mem.read8(p + k);
      i += n;
    }
    return out;
  }

  writeLinear(linear: number, bytes: Uint8Array): number {
    let written = 0;
    for (let i = 0; i < bytes.length; ) {
      const lin = (linear + i) >>> 0;
      const n = Math.min(0x1000 - (lin & 0xfff), bytes.length - i);
      const p = this.walk(lin, false, false, false);
      if (p >= 0) {
        this.mem.writeBytes(p, bytes.subarray(i, i + n));
        written += n;
      }
      i += n;
    }
    return written;
  }

  // ---------------------------------------------------------------- snapshots

  snapshot(): CpuSnapshot {
    return {
      regs: Array.from(this.regs),
      eip: this.eip,
      eflags: this.getEflags(),
      segs: this.segs.map((s) => ({ ...s })),
      cr: Array.from(this.cr),
      dr: Array.from(this.dr),
      gdtr: { ...this.gdtr },
      idtr: { ...this.idtr },
      ldtr: { ...this.ldtr },
      tr: { ...this.tr },
      cpl: this.cpl,
      halted: this.halted,
      shutdown: this.shutdown ? { eip: this.shutdown.eip, vectors: [...this.shutdown.vectors] } : null,
      instructionCount: this.instructionCount,
      inhibitUntil: this.inhibitUntil,
      nmi: [this.nmiPending, this.nmiBlocked],
      sysenter: [this.sysenterCs, this.sysenterEsp, this.sysenterEip],
      tscOffset: this.tscOffset,
      apicBase: this.apicBase,
    };
  }

  restore(s: CpuSnapshot): void {
    const o = s as {
      regs: number[];
      eip: number;
      eflags: number;
      segs: SegmentState[];
      cr: number[];
      dr: number[];
      gdtr: TableRegister;
      idtr: TableRegister;
      ldtr: SegmentState;
      tr: SegmentState;
      cpl: number;
      halted: boolean;
      shutdown: { eip: number; vectors: number[] } | null;
      instructionCount: number;
      inhibitUntil: number;
      nmi?: [boolean, boolean];
      sysenter: number[];
      tscOffset: number;
      apicBase: number;
    };
    this.regs.set(o.regs);
    this.eip = o.eip >>> 0;
    this.cr.set(o.cr);
    this.dr.set(o.dr);
    this.gdtr = { ...o.gdtr };
    this.idtr = { ...o.idtr };
    this.ldtr = { ...o.ldtr };
    this.tr = { ...o.tr };
    this.cpl = o.cpl;
    o.segs.forEach((sg, i) => this.setSeg(i, sg.selector, sg.base, sg.limit, sg.access));
    this.flags = (o.eflags & EFLAGS_VALID) | 2;
    this.lazyMask = 0;
    this.halted = o.halted;
    this.shutdown = o.shutdown ? { eip: o.shutdown.eip, vectors: [...o.shutdown.vectors] } : null;
    this.instructionCount = o.instructionCount;
    this.inhibitUntil = o.inhibitUntil;
    [this.nmiPending, this.nmiBlocked] = o.nmi ?? [false, false];
    [this.sysenterCs, this.sysenterEsp, this.sysenterEip] = o.sysenter;
    this.tscOffset = o.tscOffset;
    this.apicBase = o.apicBase;
    this.irqCheck = true;
    this.dataBpHits = 0;
    this.updateDebugRegisters(); // also updateMode()
    this.flushTlb(true);
    this.flushCodeCache();
  }
}
