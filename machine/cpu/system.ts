// System instructions: flags/IF control with IOPL rules, port I/O with the TSS I/O permission
// bitmap, descriptor-table registers, control/debug registers, hlt, caches, and the processor
// identification model below.
//
// Processor model (what CPUID and the MSRs offer):
//   vendor "GenuineIntel", max basic leaf 1, no extended leaves (0x80000000 returns zeros).
//   leaf 1: EAX = 0x00000633 (family 6, model 3, stepping 3), EBX = 0 (APIC id 0), ECX = 0,
//           EDX = PSE(3) | TSC(4) | MSR(5) | CX8(8) | APIC(9) | SEP(11) | PGE(13) | CMOV(15).
//   No FPU (bit 0 clear): x87 escapes raise #NM when CR0.EM or CR0.TS is set and otherwise do
//   nothing, so `fninit; fnstsw` probes see no FPU (the status word is never written). No MMX/SSE:
//   those encodings are #UD. No VME, DE, PAE, MCE, MTRR, PAT.
//   MSRs: 0x10 TSC (reads instructionCount + offset; writes set the offset), 0x1B APIC_BASE,
//         0x174/0x175/0x176 SYSENTER_CS/ESP/EIP. Any other MSR: #GP(0).
//   RDTSC counts retired instructions (the machine's virtual time); CR4.TSD makes it CPL-0 only.
//   No later extensions (CPUID_EXTENSIONS below is empty): XSAVE (xsetbv/xgetbv), XSAVES, MONITOR (monitor/mwait),
//   SMAP (clac/stac), INVPCID, WBNOINVD (F3 0F 09) and FSGSBASE encodings are #UD at every CPL, as on a CPU
//   without them; CR4 bits that would enable them are not offered either.

import type { Cpu } from "./cpu.js";
import { CR0_EM, CR0_MP, CR0_PE, CR0_TS, CR4_TSD } from "./cpu.js";
import type { Insn } from "./decoder.js";
import { CpuFault, Vec } from "./fault.js";
import { IF, IOPL, materialize, RF, VM } from "./flags.js";

export const CPUID_VENDOR = "GenuineIntel";
export const CPUID_SIGNATURE = 0x00000633;
export const CPUID_FEATURES = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 9) | (1 << 11) | (1 << 13) | (1 << 15);
/**
 * CPUID features after the P6 baseline that this processor offers, by the names core/isa's catalogue gives in
 * `feature` ("XSAVE", "MONITOR", "SMAP", ...). A catalogued instruction whose feature is missing here raises #UD:
 * the wedge's trap and VT-x models rely on that (#UD comes before any privilege check or VM exit).
 */
export const CPUID_EXTENSIONS: ReadonlySet<string> = new Set<string>();

const gp0 = (): never => {
  throw new CpuFault(Vec.GP, 0);
};
function requireCpl0(cpu: Cpu): void {
  if (cpu.protectedMode && cpu.cpl !== 0) gp0();
}
const iopl = (cpu: Cpu): number => (cpu.flags & IOPL) >> 12;

// ---------------------------------------------------------------- flags

export function pushf(cpu: Cpu, i: Insn): void {
  if (cpu.vm86 && iopl(cpu) < 3) gp0();
  materialize(cpu);
  cpu.push(i.osize, (cpu.flags & ~(VM | RF)) | 2);
}

export function popf(cpu: Cpu, i: Insn): void {
  if (cpu.vm86 && iopl(cpu) < 3) gp0();
  const v = cpu.peek(i.osize, 0);
  cpu.adjustSp(i.osize);
  cpu.writeFlagsMasked(v, cpu.protectedMode ? cpu.flagsWriteMask(i.osize) : i.osize === 4 ? 0x247fd5 : 0x7fd5);
}

export function cli(cpu: Cpu): void {
  if (cpu.protectedMode && cpu.cpl > iopl(cpu)) gp0();
  cpu.flags &= ~IF;
}

export function sti(cpu: Cpu): void {
  if (cpu.protectedMode && cpu.cpl > iopl(cpu)) gp0();
  if (!(cpu.flags & IF)) {
    cpu.flags |= IF;
    cpu.inhibitUntil = cpu.instructionCount + 2; // one-instruction interrupt shadow
    cpu.irqCheck = true;
  }
  cpu.breakBlock = true;
}

// ---------------------------------------------------------------- port I/O

/** I/O privilege: CPL <= IOPL, else every port byte must be clear in the TSS permission bitmap. */
export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  if (!cpu.protectedMode || (cpu.cpl <= iopl(cpu) && !cpu.vm86)) return;
  const tr = cpu.tr;
  const t = tr.access & 0xf;
  if ((t !== 9 && t !== 0xb) || tr.limit < 0x67) gp0();
  const bitmap = cpu.sysRead16(tr.base + 0x66);
  const off = bitmap + (port >>> 3);
  if (off + 1 > tr.limit) gp0();
  const bits = cpu.sysRead16(tr.base + off);
  const mask = ((1 << size) - 1) << (port & 7);
  if (bits & mask) gp0();
}

export function inImm(cpu: Cpu, i: Insn): void {
  const port = i.imm & 0xff;
  checkIoPermission(cpu, port, i.size);
  cpu.setReg(i.size, 0, cpu.io.read(port, i.size as 1 | 2 | 4));
}
export function inDx(cpu: Cpu, i: Insn): void {
  const port = cpu.regs[2] & 0xffff;
  checkIoPermission(cpu, port, i.size);
  cpu.setReg(i.size, 0, cpu.io.read(port, i.size as 1 | 2 | 4));
}
export function outImm(cpu: Cpu, i: Insn): void {
  const port = i.imm & 0xff;
  checkIoPermission(cpu, port, i.size);
  cpu.io.write(port, i.size as 1 | 2 | 4, cpu.getReg(i.size, 0) >>> 0);
  cpu.breakBlock = true; // devices may raise interrupts or stop the machine
}
export function outDx(cpu: Cpu, i: Insn): void {
  const port = cpu.regs[2] & 0xffff;
  checkIoPermission(cpu, port, i.size);
  cpu.io.write(port, i.size as 1 | 2 | 4, cpu.getReg(i.size, 0) >>> 0);
  cpu.breakBlock = true;
}

// ---------------------------------------------------------------- halt, caches, FPU

export function hlt(cpu: Cpu): void {
  requireCpl0(cpu);
  cpu.halted = true;
  cpu.breakBlock = true;
}
export function cacheOp(cpu: Cpu): void {
  requireCpl0(cpu);
}
export function fpuEscape(cpu: Cpu): void {
  if (cpu.cr[0] & (CR0_EM | CR0_TS)) throw new CpuFault(Vec.NM, undefined);
  // no FPU present: the escape does nothing (status/control words are never stored)
}
export function fwait(cpu: Cpu): void {
  if ((cpu.cr[0] & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) throw new CpuFault(Vec.NM, undefined);
}

// ---------------------------------------------------------------- descriptor-table registers

export function lgdt(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const a = cpu.ea(i);
  const limit = cpu.read16(i.seg, a);
  let base = cpu.read32(i.seg, i.asize === 4 ? (a + 2) | 0 : (a + 2) & 0xffff) >>> 0;
  if (i.osize === 2) base &= 0xffffff;
  cpu.gdtr = { base, limit };
}
export function lidt(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const a = cpu.ea(i);
  const limit = cpu.read16(i.seg, a);
  let base = cpu.read32(i.seg, i.asize === 4 ? (a + 2) | 0 : (a + 2) & 0xffff) >>> 0;
  if (i.osize === 2) base &= 0xffffff;
  cpu.idtr = { base, limit };
}
function storeTable(cpu: Cpu, i: Insn, t: { base: number; limit: number }): void {
  const a = cpu.ea(i);
  const a2 = i.asize === 4 ? (a + 2) | 0 : (a + 2) & 0xffff;
  cpu.probeWrite(i.seg, a, 2);
  cpu.probeWrite(i.seg, a2, 4);
  cpu.write16(i.seg, a, t.limit);
  cpu.write32(i.seg, a2, t.base | 0);
}
export function sgdt(cpu: Cpu, i: Insn): void {
  storeTable(cpu, i, cpu.gdtr);
}
export function sidt(cpu: Cpu, i: Insn): void {
  storeTable(cpu, i, cpu.idtr);
}
export function smsw(cpu: Cpu, i: Insn): void {
  if (i.mod === 3) cpu.setReg(i.osize, i.rm, cpu.cr[0] | 0);
  else cpu.write16(i.seg, cpu.ea(i), cpu.cr[0] & 0xffff);
}
export function lmsw(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const v = i.mod === 3 ? cpu.regs[i.rm] & 0xffff : cpu.read16(i.seg, cpu.ea(i));
  // only MP, EM, TS and PE; PE can be set but not cleared
  const cr0 = cpu.cr[0];
  cpu.setCr(0, ((cr0 & ~0xe) | (v & 0xe) | (cr0 & CR0_PE) | (v & CR0_PE)) >>> 0);
}
export function clts(cpu: Cpu): void {
  requireCpl0(cpu);
  cpu.cr[0] &= ~CR0_TS;
}
export function invlpgE(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  cpu.invlpg((cpu.segBase[i.seg] + cpu.ea(i)) | 0);
  cpu.breakBlock = true;
}

// ---------------------------------------------------------------- control and debug registers

export function movFromCr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const n = i.reg;
  if (n === 1 || n > 4) throw new CpuFault(Vec.UD, undefined);
  cpu.regs[i.rm] = cpu.cr[n] | 0;
}
export function movToCr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const n = i.reg;
  if (n === 1 || n > 4) throw new CpuFault(Vec.UD, undefined);
  const v = cpu.regs[i.rm] >>> 0;
  if (n === 0 && v & 0x20000000 && !(v & 0x40000000)) gp0(); // NW without CD
  cpu.setCr(n, v);
}
export function movFromDr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  let n = i.reg;
  if (n === 4 || n === 5) n += 2;
  cpu.regs[i.rm] = cpu.dr[n] | 0;
}
export function movToDr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  let n = i.reg;
  if (n === 4 || n === 5) n += 2;
  cpu.dr[n] = cpu.regs[i.rm] >>> 0;
  if (n === 7) cpu.updateDebugRegisters();
}

// ---------------------------------------------------------------- identification, time, MSRs

export function cpuid(cpu: Cpu): void {
  const r = cpu.regs;
  const leaf = r[0] >>> 0;
  if (leaf === 0) {
    const v = CPUID_VENDOR;
    const dw = (s: string) => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
    r[0] = 1;
    r[3] = dw(v.slice(0, 4));
    r[2] = dw(v.slice(4, 8));
    r[1] = dw(v.slice(8, 12));
  } else if (leaf === 1) {
    r[0] = CPUID_SIGNATURE;
    r[3] = 0;
    r[1] = 0;
    r[2] = CPUID_FEATURES;
  } else {
    r[0] = r[1] = r[2] = r[3] = 0;
  }
}

function tsc(cpu: Cpu): bigint {
  return BigInt(cpu.instructionCount) + BigInt(cpu.tscOffset);
}

export function rdtsc(cpu: Cpu): void {
  if (cpu.cr[4] & CR4_TSD && cpu.protectedMode && cpu.cpl !== 0) gp0();
  const t = tsc(cpu);
  cpu.regs[0] = Number(t & 0xffffffffn) | 0;
  cpu.regs[2] = Number((t >> 32n) & 0xffffffffn) | 0;
}

export function rdmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const r = cpu.regs;
  const msr = r[1] >>> 0;
  let v: bigint;
  switch (msr) {
    case 0x10:
      v = tsc(cpu);
      break;
    case 0x1b:
      v = BigInt(cpu.apicBase >>> 0);
      break;
    case 0x174:
      v = BigInt(cpu.sysenterCs);
      break;
    case 0x175:
      v = BigInt(cpu.sysenterEsp >>> 0);
      break;
    case 0x176:
      v = BigInt(cpu.sysenterEip >>> 0);
      break;
    default:
      return gp0();
  }
  r[0] = Number(v & 0xffffffffn) | 0;
  r[2] = Number((v >> 32n) & 0xffffffffn) | 0;
}

export function wrmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const r = cpu.regs;
  const msr = r[1] >>> 0;
  const lo = r[0] >>> 0;
  switch (msr) {
    case 0x10:
      cpu.tscOffset = Number((BigInt(r[2] >>> 0) << 32n) | BigInt(lo)) - cpu.instructionCount;
      break;
    case 0x1b:
      cpu.apicBase = lo & 0xfffff900;
      break;
    case 0x174:
      cpu.sysenterCs = lo & 0xffff;
      break;
    case 0x175:
      cpu.sysenterEsp = lo;
      break;
    case 0x176:
      cpu.sysenterEip = lo;
      break;
    default:
      gp0();
  }
}

/** sysenter: flat CPL-0 code at SYSENTER_CS, stack SYSENTER_CS+8 (descriptors are not read). */
export function sysenter(cpu: Cpu): void {
  if (!cpu.protectedMode) gp0();
  const cs = cpu.sysenterCs & 0xfffc;
  if (cs === 0) gp0();
  cpu.flags &= ~(VM | IF | RF);
  cpu.cpl = 0;
  cpu.setSeg(1, cs, 0, 0xffffffff, 0xc09b);
  cpu.setSeg(2, (cs + 8) & 0xfffc, 0, 0xffffffff, 0xc093);
  cpu.regs[4] = cpu.sysenterEsp;
  cpu.eip = cpu.sysenterEip >>> 0;
  cpu.updateMode();
}

/** sysexit: to CPL 3 flat code SYSENTER_CS+16, stack +24; EIP = EDX, ESP = ECX. */
export function sysexit(cpu: Cpu): void {
  const cs = cpu.sysenterCs & 0xfffc;
  if (!cpu.protectedMode || cpu.cpl !== 0 || cs === 0) gp0();
  cpu.cpl = 3;
  cpu.setSeg(1, (cs + 16) | 3, 0, 0xffffffff, 0xc0fb);
  cpu.setSeg(2, (cs + 24) | 3, 0, 0xffffffff, 0xc0f3);
  cpu.regs[4] = cpu.regs[1];
  cpu.eip = cpu.regs[2] >>> 0;
  cpu.updateMode();
}

