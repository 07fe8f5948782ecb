// The guest CPU as a debugger shows it: registers by name (read and write), EFLAGS/CR0/CR4 as
// named bits, descriptor tables decoded, and the call stack from the frame-pointer chain.

import type { Cpu } from "../machine/index.js";
import { decodeAt } from "./disasm.js";
import type { DebugInfo } from "./debug-info.js";

export const GENERAL = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
export const SEGMENTS = ["es", "cs", "ss", "ds", "fs", "gs"] as const;
const WORD = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const BYTE = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];

export interface Bit {
  name: string;
  shift: number;
  width: number;
  meaning: string;
}

export const EFLAGS_BITS: Bit[] = [
  { name: "CF", shift: 0, width: 1, meaning: "carry" },
  { name: "PF", shift: 2, width: 1, meaning: "parity" },
  { name: "AF", shift: 4, width: 1, meaning: "adjust" },
  { name: "ZF", shift: 6, width: 1, meaning: "zero" },
  { name: "SF", shift: 7, width: 1, meaning: "sign" },
  { name: "TF", shift: 8, width: 1, meaning: "trap (single step)" },
  { name: "IF", shift: 9, width: 1, meaning: "interrupts enabled" },
  { name: "DF", shift: 10, width: 1, meaning: "direction" },
  { name: "OF", shift: 11, width: 1, meaning: "overflow" },
  { name: "IOPL", shift: 12, width: 2, meaning: "I/O privilege level" },
  { name: "NT", shift: 14, width: 1, meaning: "nested task" },
  { name: "RF", shift: 16, width: 1, meaning: "resume" },
  { name: "VM", shift: 17, width: 1, meaning: "virtual-8086 mode" },
  { name: "AC", shift: 18, width: 1, meaning: "alignment check" },
  { name: "VIF", shift: 19, width: 1, meaning: "virtual interrupt flag" },
  { name: "VIP", shift: 20, width: 1, meaning: "virtual interrupt pending" },
  { name: "ID", shift: 21, width: 1, meaning: "cpuid available" },
];

export const CR0_BITS: Bit[] = [
  { name: "PE", shift: 0, width: 1, meaning: "protection enable" },
  { name: "MP", shift: 1, width: 1, meaning: "monitor coprocessor" },
  { name: "EM", shift: 2, width: 1, meaning: "x87 emulation" },
  { name: "TS", shift: 3, width: 1, meaning: "task switched" },
  { name: "ET", shift: 4, width: 1, meaning: "extension type" },
  { name: "NE", shift: 5, width: 1, meaning: "numeric error" },
  { name: "WP", shift: 16, width: 1, meaning: "write protect" },
  { name: "AM", shift: 18, width: 1, meaning: "alignment mask" },
  { name: "NW", shift: 29, width: 1, meaning: "not write-through" },
  { name: "CD", shift: 30, width: 1, meaning: "cache disable" },
  { name: "PG", shift: 31, width: 1, meaning: "paging" },
];

export const CR4_BITS: Bit[] = [
  { name: "VME", shift: 0, width: 1, meaning: "virtual-8086 mode extensions" },
  { name: "PVI", shift: 1, width: 1, meaning: "protected-mode virtual interrupts" },
  { name: "TSD", shift: 2, width: 1, meaning: "time stamp disable" },
  { name: "DE", shift: 3, width: 1, meaning: "debugging extensions" },
  { name: "PSE", shift: 4, width: 1, meaning: "page size extensions" },
  { name: "PAE", shift: 5, width: 1, meaning: "physical address extension" },
  { name: "MCE", shift: 6, width: 1, meaning: "machine check enable" },
  { name: "PGE", shift: 7, width: 1, meaning: "page global enable" },
  { name: "PCE", shift: 8, width: 1, meaning: "performance counter enable" },
  { name: "OSFXSR", shift: 9, width: 1, meaning: "fxsave/fxrstor support" },
  { name: "OSXMMEXCPT", shift: 10, width: 1, meaning: "unmasked SIMD exceptions" },
];

export const hex8 = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
export const hex4 = (n: number) => "0x" + (n & 0xffff).toString(16).padStart(4, "0");

/** Set bits of a value as "PE PG" (multi-bit fields as NAME=n). */
export function bitNames(value: number, bits: Bit[]): string {
  const out: string[] = [];
  for (const b of bits) {
    const v = (value >>> b.shift) & ((1 << b.width) - 1);
    if (v) out.push(b.width === 1 ? b.name : `${b.name}=${v}`);
  }
  return out.join(" ");
}

/**
 * A control-register bit as `cr0.pe` / `cr4.pse`: qualified, because bare names such as `pe`, `ts`
 * or `de` would hide guest symbols of those names in expressions.
 */
function controlBit(name: string): (Bit & { cr: number }) | undefined {
  const m = /^cr([04])\.([a-z]+)$/.exec(name);
  if (!m) return undefined;
  const bit = (m[1] === "0" ? CR0_BITS : CR4_BITS).find((b) => b.name.toLowerCase() === m[2]);
  return bit && { ...bit, cr: Number(m[1]) };
}

export function readRegister(cpu: Cpu, name: string): number | undefined {
  const n = name.toLowerCase();
  let i = GENERAL.indexOf(n as (typeof GENERAL)[number]);
  if (i >= 0) return cpu.regs[i] >>> 0;
  i = WORD.indexOf(n);
  if (i >= 0) return cpu.regs[i] & 0xffff;
  i = BYTE.indexOf(n);
  if (i >= 0) return (cpu.regs[i & 3] >>> (i >= 4 ? 8 : 0)) & 0xff;
  i = SEGMENTS.indexOf(n as (typeof SEGMENTS)[number]);
  if (i >= 0) return cpu.segs[i].selector;
  switch (n) {
    case "eip":
    case "pc":
      return cpu.eip >>> 0;
    case "eflags":
      return cpu.getEflags() >>> 0;
    case "cr0":
    case "cr2":
    case "cr3":
    case "cr4":
      return cpu.cr[Number(n[2])] >>> 0;
    case "cpl":
      return cpu.cpl;
    case "dr0":
    case "dr1":
    case "dr2":
    case "dr3":
    case "dr6":
    case "dr7":
      return (cpu.dr[Number(n[2])] ?? 0) >>> 0;
  }
  const flag = EFLAGS_BITS.find((b) => b.name.toLowerCase() === n);
  if (flag) return (cpu.getEflags() >>> flag.shift) & ((1 << flag.width) - 1);
  const cb = controlBit(n);
  if (cb) return (cpu.cr[cb.cr] >>> cb.shift) & ((1 << cb.width) - 1);
  return undefined;
}

/** Write a register; returns false when the name is not writable. */
export function writeRegister(cpu: Cpu, name: string, value: number): boolean {
  const n = name.toLowerCase();
  let i = GENERAL.indexOf(n as (typeof GENERAL)[number]);
  if (i >= 0) {
    cpu.regs[i] = value | 0;
    return true;
  }
  i = WORD.indexOf(n);
  if (i >= 0) {
    cpu.regs[i] = (cpu.regs[i] & ~0xffff) | (value & 0xffff);
    return true;
  }
  i = BYTE.indexOf(n);
  if (i >= 0) {
    const sh = i >= 4 ? 8 : 0;
    cpu.regs[i & 3] = (cpu.regs[i & 3] & ~(0xff << sh)) | ((value & 0xff) << sh);
    return true;
  }
  switch (n) {
    case "eip":
      cpu.eip = value >>> 0;
      return true;
    case "eflags":
      cpu.setEflags(value >>> 0);
      return true;
    case "cr0":
    case "cr2":
    case "cr3":
    case "cr4":
      cpu.setCr(Number(n[2]), value >>> 0);
      return true;
  }
  const flag: (Bit & { cr?: number }) | undefined = EFLAGS_BITS.find((b) => b.name.toLowerCase() === n) ?? controlBit(n);
  if (flag) {
    const mask = ((1 << flag.width) - 1) << flag.shift;
    const old = flag.cr === undefined ? cpu.getEflags() : cpu.cr[flag.cr];
    const next = ((old & ~mask) | ((value << flag.shift) & mask)) >>> 0;
    if (flag.cr === undefined) cpu.setEflags(next);
    else cpu.setCr(flag.cr, next);
    return true;
  }
  return false;
}

export interface Descriptor {
  index: number;
  selector: number;
  raw: [number, number];
  text: string;
}

function decodeSegmentDescriptor(lo: number, hi: number): string {
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  const g = (hi >>> 23) & 1;
  if (g) limit = ((limit << 12) | 0xfff) >>> 0;
  const type = (hi >>> 8) & 0xf;
  const s = (hi >>> 12) & 1;
  const dpl = (hi >>> 13) & 3;
  const p = (hi >>> 15) & 1;
  const db = (hi >>> 22) & 1;
  if (!p && lo === 0 && hi === 0) return "null";
  if (!s) {
    const sys: Record<number, string> = { 1: "16-bit TSS (available)", 2: "LDT", 3: "16-bit TSS (busy)", 4: "16-bit call gate", 5: "task gate", 6: "16-bit interrupt gate", 7: "16-bit trap gate", 9: "32-bit TSS (available)", 11: "32-bit TSS (busy)", 12: "32-bit call gate", 14: "32-bit interrupt gate", 15: "32-bit trap gate" };
    if (type === 4 || type === 12) return `${sys[type]} → ${hex4(lo >>> 16)}:${hex8((hi & 0xffff0000) | (lo & 0xffff))} DPL${dpl}${p ? "" : " not present"}`;
    return `${sys[type] ?? `system type ${type}`} base ${hex8(base)} limit ${hex8(limit)} DPL${dpl}${p ? "" : " not present"}`;
  }
  const code = (type & 8) !== 0;
  const kind = code ? `code ${type & 2 ? "r-x" : "--x"}${type & 4 ? " conforming" : ""}` : `data ${type & 2 ? "rw-" : "r--"}${type & 4 ? " expand-down" : ""}`;
  return `${kind} ${db ? 32 : 16}-bit base ${hex8(base)} limit ${hex8(limit)} DPL${dpl}${p ? "" : " not present"}`;
}

function decodeGate(lo: number, hi: number): string {
  const type = (hi >>> 8) & 0x1f;
  const p = (hi >>> 15) & 1;
  const dpl = (hi >>> 13) & 3;
  if (!p) return lo === 0 && hi === 0 ? "empty" : "not present";
  const sel = lo >>> 16;
  const off = ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0;
  const kinds: Record<number, string> = { 5: "task gate", 6: "16-bit interrupt gate", 7: "16-bit trap gate", 14: "interrupt gate", 15: "trap gate" };
  return `${kinds[type & 0xf] ?? `type ${type}`} → ${hex4(sel)}:${hex8(off)} DPL${dpl}`;
}

/** Decoded GDT (up to 256 entries) or IDT (up to 256 gates), every slot (entry i is selector/vector i). */
export function descriptorTable(cpu: Cpu, which: "gdt" | "idt"): Descriptor[] {
  const t = which === "gdt" ? cpu.gdtr : cpu.idtr;
  const count = Math.min(256, Math.floor((t.limit + 1) / 8));
  const bytes = cpu.readLinear(t.base, count * 8);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Descriptor[] = [];
  for (let i = 0; i < count; i++) {
    const lo = dv.getUint32(i * 8, true);
    const hi = dv.getUint32(i * 8 + 4, true);
    out.push({ index: i, selector: i * 8, raw: [lo, hi], text: which === "gdt" ? decodeSegmentDescriptor(lo, hi) : decodeGate(lo, hi) });
  }
  return out;
}

export function read32(cpu: Cpu, linear: number): number | undefined {
  if (cpu.translate(linear >>> 0, false, false) === null || cpu.translate((linear + 3) >>> 0, false, false) === null) return undefined;
  const b = cpu.readLinear(linear >>> 0, 4);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}

export interface StackFrame {
  pc: number;
  /** Where the frame's return address is stored (the caller resumes with ESP = slot + 4). */
  returnSlot?: number;
  /** Stack pointer while this frame runs (frame 0: ESP). */
  sp: number;
}

/** A return address looks real when a call instruction ends right before it. */
function afterCall(cpu: Cpu, ret: number): boolean {
  if (ret < 5) return false;
  const b = cpu.readLinear(ret - 7, 7);
  if (b[2] === 0xe8) return true; // call rel32
  for (let len = 2; len <= 7; len++) {
    const at = 7 - len;
    if (b[at] === 0xff && ((b[at + 1] >> 3) & 7) === 2) {
      const d = decodeAt(ret - len, b.subarray(at));
      if (d.length === len && d.isCall) return true;
    }
  }
  return false;
}

/**
 * Frames from the frame-pointer chain. At a function's first instruction the return address is
 * at [esp]; after `push %ebp` at [esp+4]; in a function without the push/mov prologue (hand
 * written assembly) at [esp] when it follows a call. Then the chain of saved EBPs.
 */
export function walkStack(cpu: Cpu, info: DebugInfo, maxFrames = 64): StackFrame[] {
  const frames: StackFrame[] = [{ pc: cpu.eip >>> 0, sp: cpu.regs[4] >>> 0 }];
  const esp = cpu.regs[4] >>> 0;
  let ebp = cpu.regs[5] >>> 0;
  const fn = info.functionAt(cpu.eip);
  const push = (slot: number) => {
    const ret = read32(cpu, slot);
    if (ret === undefined || !afterCall(cpu, ret)) return false;
    frames[frames.length - 1].returnSlot = slot;
    frames.push({ pc: ret, sp: slot + 4 });
    return true;
  };
  // Code outside every symbol (the wedge's handlers) is taken as code without a prologue: a return
  // address at [esp] counts only when a call ends right before it.
  const pro = fn ? cpu.readLinear(fn.address, 3) : undefined;
  const hasPrologue = pro !== undefined && pro[0] === 0x55 && pro[1] === 0x89 && pro[2] === 0xe5;
  const off = fn ? (cpu.eip >>> 0) - fn.address : 0;
  if (!hasPrologue || off === 0) {
    if (!push(esp)) return frames;
  } else if (off === 1) {
    if (!push(esp + 4)) return frames;
  } else if (isReturnAt(cpu)) {
    // at `ret` after `leave` / `pop %ebp`: EBP is the caller's again
    if (!push(esp)) return frames;
  } else {
    if (!push(ebp + 4)) return frames;
    ebp = read32(cpu, ebp) ?? 0;
  }
  while (frames.length < maxFrames && ebp !== 0 && (ebp & 3) === 0) {
    const prevSp = frames[frames.length - 1].sp;
    if (ebp + 4 < prevSp - 4) break; // the chain must go up the stack
    const next = read32(cpu, ebp);
    if (!push(ebp + 4)) break;
    if (next === undefined || next <= ebp) break;
    ebp = next;
  }
  return frames;
}

function isReturnAt(cpu: Cpu): boolean {
  const b = cpu.readLinear(cpu.eip >>> 0, 1)[0];
  return b === 0xc3 || b === 0xc2;
}
