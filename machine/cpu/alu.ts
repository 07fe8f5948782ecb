// Integer arithmetic, logic, shifts/rotates, multiply/divide, BCD, bit operations and data moves.
// Values of 8/16-bit operands are unsigned; 32-bit values are int32 (as in Cpu.regs).

import type { Cpu } from "./cpu.js";
import type { Insn } from "./decoder.js";
import { CpuFault, Vec } from "./fault.js";
import { AF, ARITH, CF, DF, getAF, getCF, LazyOp, materialize, OF, PF, SF, testCC, ZF, setFlagBits } from "./flags.js";

const shiftFor = (size: number): number => (size === 4 ? 0 : size === 2 ? 16 : 24);
const maskTo = (size: number, v: number): number => (size === 4 ? v | 0 : size === 2 ? v & 0xffff : v & 0xff);
const bitsOf = (size: number): number => size * 8;

function setLazy(cpu: Cpu, op: number, a: number, b: number, res: number, size: number, mask: number): void {
  cpu.lazyOp = op;
  cpu.lazyA = a;
  cpu.lazyB = b;
  cpu.lazyRes = res;
  cpu.lazyShift = shiftFor(size);
  cpu.lazyMask = mask;
}

/** The eight ALU operations (add or adc sbb and sub xor cmp); returns the masked result. */
export function alu(cpu: Cpu, kind: number, a: number, b: number, size: number): number {
  let res: number;
  switch (kind) {
    case 0:
      res = maskTo(size, a + b);
      setLazy(cpu, LazyOp.Add, a, b, res, size, ARITH);
      return res;
    case 1:
      res = maskTo(size, a | b);
      setLazy(cpu, LazyOp.Logic, a, b, res, size, ARITH);
      return res;
    case 2: {
      const c = getCF(cpu);
      res = maskTo(size, a + b + c);
      setLazy(cpu, c ? LazyOp.Adc1 : LazyOp.Add, a, b, res, size, ARITH);
      return res;
    }
    case 3: {
      const c = getCF(cpu);
      res = maskTo(size, a - b - c);
      setLazy(cpu, c ? LazyOp.Sbb1 : LazyOp.Sub, a, b, res, size, ARITH);
      return res;
    }
    case 4:
      res = maskTo(size, a & b);
      setLazy(cpu, LazyOp.Logic, a, b, res, size, ARITH);
      return res;
    case 6:
      res = maskTo(size, a ^ b);
      setLazy(cpu, LazyOp.Logic, a, b, res, size, ARITH);
      return res;
    default:
      res = maskTo(size, a - b);
      setLazy(cpu, LazyOp.Sub, a, b, res, size, ARITH);
      return res;
  }
}

export function aluEG(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const b = cpu.getReg(size, i.reg);
  if (i.mod === 3) {
    const r = alu(cpu, i.sub, cpu.getReg(size, i.rm), b, size);
    if (i.sub !== 7) cpu.setReg(size, i.rm, r);
  } else {
    const addr = cpu.ea(i);
    const r = alu(cpu, i.sub, cpu.readSized(i.seg, addr, size), b, size);
    if (i.sub !== 7) cpu.writeSized(i.seg, addr, size, r);
  }
}

export function aluGE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const r = alu(cpu, i.sub, cpu.getReg(size, i.reg), cpu.readE(i), size);
  if (i.sub !== 7) cpu.setReg(size, i.reg, r);
}

export function aluAI(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const r = alu(cpu, i.sub, cpu.getReg(size, 0), maskTo(size, i.imm), size);
  if (i.sub !== 7) cpu.setReg(size, 0, r);
}

export function aluEI(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const b = maskTo(size, i.imm);
  if (i.mod === 3) {
    const r = alu(cpu, i.sub, cpu.getReg(size, i.rm), b, size);
    if (i.sub !== 7) cpu.setReg(size, i.rm, r);
  } else {
    const addr = cpu.ea(i);
    const r = alu(cpu, i.sub, cpu.readSized(i.seg, addr, size), b, size);
    if (i.sub !== 7) cpu.writeSized(i.seg, addr, size, r);
  }
}

function logicFlags(cpu: Cpu, res: number, size: number): void {
  setLazy(cpu, LazyOp.Logic, 0, 0, res, size, ARITH);
}

export function testEG(cpu: Cpu, i: Insn): void {
  logicFlags(cpu, maskTo(i.size, cpu.readE(i) & cpu.getReg(i.size, i.reg)), i.size);
}
export function testEI(cpu: Cpu, i: Insn): void {
  logicFlags(cpu, maskTo(i.size, cpu.readE(i) & i.imm), i.size);
}
export function testAI(cpu: Cpu, i: Insn): void {
  logicFlags(cpu, maskTo(i.size, cpu.getReg(i.size, 0) & i.imm), i.size);
}

function incdec(cpu: Cpu, a: number, size: number, dec: boolean): number {
  if (cpu.lazyMask & CF) {
    const c = getCF(cpu);
    cpu.flags = (cpu.flags & ~CF) | c;
  }
  const res = maskTo(size, dec ? a - 1 : a + 1);
  setLazy(cpu, dec ? LazyOp.Sub : LazyOp.Add, a, 1, res, size, ARITH & ~CF);
  return res;
}

export function incReg(cpu: Cpu, i: Insn): void {
  cpu.setReg(i.osize, i.sub, incdec(cpu, cpu.getReg(i.osize, i.sub), i.osize, false));
}
export function decReg(cpu: Cpu, i: Insn): void {
  cpu.setReg(i.osize, i.sub, incdec(cpu, cpu.getReg(i.osize, i.sub), i.osize, true));
}
export function incE(cpu: Cpu, i: Insn): void {
  rmw(cpu, i, (a) => incdec(cpu, a, i.size, false));
}
export function decE(cpu: Cpu, i: Insn): void {
  rmw(cpu, i, (a) => incdec(cpu, a, i.size, true));
}

function rmw(cpu: Cpu, i: Insn, f: (a: number) => number): void {
  if (i.mod === 3) {
    cpu.setReg(i.size, i.rm, f(cpu.getReg(i.size, i.rm)));
  } else {
    const addr = cpu.ea(i);
    const v = f(cpu.readSized(i.seg, addr, i.size));
    cpu.writeSized(i.seg, addr, i.size, v);
  }
}

export function notE(cpu: Cpu, i: Insn): void {
  rmw(cpu, i, (a) => maskTo(i.size, ~a));
}
export function negE(cpu: Cpu, i: Insn): void {
  rmw(cpu, i, (a) => {
    const res = maskTo(i.size, -a);
    setLazy(cpu, LazyOp.Sub, 0, a, res, i.size, ARITH);
    return res;
  });
}

// ---------------------------------------------------------------- moves

export function movEG(cpu: Cpu, i: Insn): void {
  cpu.writeE(i, cpu.getReg(i.size, i.reg));
}
export function movGE(cpu: Cpu, i: Insn): void {
  cpu.setReg(i.size, i.reg, cpu.readE(i));
}
export function movEI(cpu: Cpu, i: Insn): void {
  cpu.writeE(i, maskTo(i.size, i.imm));
}
export function movRegImm(cpu: Cpu, i: Insn): void {
  cpu.setReg(i.size, i.sub, i.imm);
}
export function movAccMoffs(cpu: Cpu, i: Insn): void {
  const off = i.asize === 4 ? i.disp : i.disp & 0xffff;
  if (i.sub === 0) cpu.setReg(i.size, 0, cpu.readSized(i.seg, off, i.size));
  else cpu.writeSized(i.seg, off, i.size, cpu.getReg(i.size, 0));
}
export function lea(cpu: Cpu, i: Insn): void {
  cpu.setReg(i.osize, i.reg, cpu.ea(i));
}
export function xchgAcc(cpu: Cpu, i: Insn): void {
  const s = i.osize;
  const a = cpu.getReg(s, 0);
  cpu.setReg(s, 0, cpu.getReg(s, i.sub));
  cpu.setReg(s, i.sub, a);
}
export function xchgEG(cpu: Cpu, i: Insn): void {
  const s = i.size;
  const g = cpu.getReg(s, i.reg);
  if (i.mod === 3) {
    cpu.setReg(s, i.reg, cpu.getReg(s, i.rm));
    cpu.setReg(s, i.rm, g);
  } else {
    const addr = cpu.ea(i);
    const m = cpu.readSized(i.seg, addr, s);
    cpu.writeSized(i.seg, addr, s, g);
    cpu.setReg(s, i.reg, m);
  }
}
export function movzx(cpu: Cpu, i: Insn): void {
  const v = i.mod === 3 ? cpu.getReg(i.sub, i.rm) : cpu.readSized(i.seg, cpu.ea(i), i.sub);
  cpu.setReg(i.osize, i.reg, v);
}
export function movsx(cpu: Cpu, i: Insn): void {
  const v = i.mod === 3 ? cpu.getReg(i.sub, i.rm) : cpu.readSized(i.seg, cpu.ea(i), i.sub);
  const sh = i.sub === 1 ? 24 : 16;
  cpu.setReg(i.osize, i.reg, (v << sh) >> sh);
}
export function cbw(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  if (i.osize === 2) r[0] = (r[0] & ~0xffff) | (((r[0] << 24) >> 24) & 0xffff);
  else r[0] = (r[0] << 16) >> 16;
}
export function cwd(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  if (i.osize === 2) r[2] = (r[2] & ~0xffff) | (r[0] & 0x8000 ? 0xffff : 0);
  else r[2] = r[0] >> 31;
}
export function setcc(cpu: Cpu, i: Insn): void {
  cpu.writeE(i, testCC(cpu, i.sub) ? 1 : 0);
}
export function cmovcc(cpu: Cpu, i: Insn): void {
  const v = cpu.readE(i);
  if (testCC(cpu, i.sub)) cpu.setReg(i.osize, i.reg, v);
}
export function bswap(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const v = r[i.sub];
  if (i.osize === 2) {
    r[i.sub] = v & ~0xffff; // undefined for 16-bit operands; real CPUs give 0 in the low word
    return;
  }
  r[i.sub] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}
export function xlat(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const off = i.asize === 4 ? (r[3] + (r[0] & 0xff)) | 0 : (r[3] + (r[0] & 0xff)) & 0xffff;
  cpu.setReg8(0, cpu.read8(i.seg, off));
}

// ---------------------------------------------------------------- flags instructions

export function flagOp(cpu: Cpu, i: Insn): void {
  switch (i.sub) {
    case 0:
      setFlagBits(cpu, CF, 0);
      break;
    case 1:
      setFlagBits(cpu, CF, CF);
      break;
    case 4:
      cpu.flags &= ~DF;
      break;
    case 5:
      cpu.flags |= DF;
      break;
  }
}
export function cmc(cpu: Cpu): void {
  setFlagBits(cpu, CF, getCF(cpu) ^ 1);
}
export function sahf(cpu: Cpu): void {
  const ah = (cpu.regs[0] >> 8) & 0xff;
  setFlagBits(cpu, SF | ZF | AF | PF | CF, ah);
}
export function lahf(cpu: Cpu): void {
  materialize(cpu);
  cpu.setReg8(4, (cpu.flags & (SF | ZF | AF | PF | CF)) | 2);
}
export function salc(cpu: Cpu): void {
  cpu.setReg8(0, getCF(cpu) ? 0xff : 0);
}

// ---------------------------------------------------------------- shifts and rotates

/** Set CF/OF eagerly and ZF/SF/PF lazily from `res` (shl/shr/sar/shld/shrd). AF is cleared. */
function shiftFlags(cpu: Cpu, res: number, size: number, cf: number, of: boolean): void {
  cpu.flags = (cpu.flags & ~(CF | OF | AF)) | (cf & 1) | (of ? OF : 0);
  setLazy(cpu, LazyOp.Logic, 0, 0, res, size, ZF | SF | PF);
}

/** Rotates change only CF and OF. */
function rotFlags(cpu: Cpu, cf: number, of: boolean): void {
  materialize(cpu);
  cpu.flags = (cpu.flags & ~(CF | OF)) | (cf & 1) | (of ? OF : 0);
}

export function shiftOp(cpu: Cpu, kind: number, a: number, count: number, size: number): number {
  const bits = bitsOf(size);
  const sh = shiftFor(size);
  const ua = size === 4 ? a >>> 0 : a;
  const msb = (v: number): number => ((v << sh) >>> 31) & 1;
  switch (kind) {
    case 0: {
      // rol
      const c = count % bits;
      const res = maskTo(size, c === 0 ? ua : (ua << c) | (ua >>> (bits - c)));
      const cf = res & 1;
      rotFlags(cpu, cf, (msb(res) ^ cf) !== 0);
      return res;
    }
    case 1: {
      // ror
      const c = count % bits;
      const res = maskTo(size, c === 0 ? ua : (ua >>> c) | (ua << (bits - c)));
      const cf = msb(res);
      rotFlags(cpu, cf, (msb(res) ^ ((res << sh) >>> 30) & 1) !== 0);
      return res;
    }
    case 2: {
      // rcl
      const c = count % (bits + 1);
      let v = ua;
      let cf = getCF(cpu);
      for (let k = 0; k < c; k++) {
        const out = msb(v);
        v = maskTo(size, (v << 1) | cf);
        if (size === 4) v >>>= 0;
        cf = out;
      }
      const res = maskTo(size, v);
      rotFlags(cpu, cf, (msb(res) ^ cf) !== 0);
      return res;
    }
    case 3: {
      // rcr
      const c = count % (bits + 1);
      let v = ua;
      let cf = getCF(cpu);
      const of = (msb(v) ^ cf) !== 0;
      for (let k = 0; k < c; k++) {
        const out = v & 1;
        v = (v >>> 1) | (cf << (bits - 1));
        if (size === 4) v >>>= 0;
        cf = out;
      }
      const res = maskTo(size, v);
      // OF is defined for 1-bit rotates: msb(res) ^ (msb-1)(res)
      rotFlags(cpu, cf, c === 1 ? of : (msb(res) ^ (((res << sh) >>> 30) & 1)) !== 0);
      return res;
    }
    case 4:
    case 6: {
      // shl / sal
      const res = maskTo(size, count >= 32 ? 0 : ua << count);
      const cf = count <= bits ? (count === 32 ? ua & 1 : (ua >>> (bits - count)) & 1) : 0;
      shiftFlags(cpu, res, size, cf, (msb(res) ^ cf) !== 0);
      return res;
    }
    case 5: {
      // shr
      const res = maskTo(size, ua >>> count);
      const cf = count <= 32 ? (ua >>> (count - 1)) & 1 : 0;
      shiftFlags(cpu, res, size, cf, msb(ua) !== 0);
      return res;
    }
    default: {
      // sar
      const sa = (ua << sh) >> sh;
      const res = maskTo(size, sa >> Math.min(count, 31));
      const cf = (sa >> Math.min(count - 1, 31)) & 1;
      shiftFlags(cpu, res, size, cf, false);
      return res;
    }
  }
}

/** 32-bit register shl/shr/sar without closures (the common compiled-code case). */
function fastShift32(cpu: Cpu, kind: number, r: number, count: number): void {
  const a = cpu.regs[r];
  let res: number;
  let cf: number;
  let of: number;
  if (kind === 5) {
    res = a >>> count;
    cf = (a >>> (count - 1)) & 1;
    of = a < 0 ? OF : 0;
  } else if (kind === 7) {
    res = a >> count;
    cf = (a >> (count - 1)) & 1;
    of = 0;
  } else {
    res = a << count;
    cf = (a >>> (32 - count)) & 1;
    of = (res >>> 31) ^ cf ? OF : 0;
  }
  cpu.regs[r] = res;
  cpu.flags = (cpu.flags & ~(CF | OF | AF)) | cf | of;
  cpu.lazyOp = LazyOp.Logic;
  cpu.lazyRes = res | 0;
  cpu.lazyShift = 0;
  cpu.lazyMask = ZF | SF | PF;
}

export function shiftE(cpu: Cpu, i: Insn): void {
  const src = i.sub >> 3;
  const count = (src === 0 ? i.imm : src === 1 ? 1 : cpu.regs[1]) & 0x1f;
  const kind = i.sub & 7;
  if (i.mod === 3) {
    if (count === 0) return;
    if (i.size === 4 && kind >= 4) return fastShift32(cpu, kind, i.rm, count);
    cpu.setReg(i.size, i.rm, shiftOp(cpu, kind, cpu.getReg(i.size, i.rm), count, i.size));
  } else {
    const addr = cpu.ea(i);
    const a = cpu.readSized(i.seg, addr, i.size);
    if (count === 0) return;
    cpu.writeSized(i.seg, addr, i.size, shiftOp(cpu, kind, a, count, i.size));
  }
}

function dshift(cpu: Cpu, i: Insn, left: boolean): void {
  const count = (i.op & 1 ? cpu.regs[1] : i.imm) & 0x1f;
  const size = i.osize;
  const b = cpu.getReg(size, i.reg);
  rmw(cpu, i, (a) => {
    if (count === 0) return a;
    let res: number;
    let cf: number;
    const ua = size === 4 ? a >>> 0 : a;
    const ub = size === 4 ? b >>> 0 : b;
    if (size === 4) {
      if (left) {
        res = (ua << count) | (ub >>> (32 - count));
        cf = (ua >>> (32 - count)) & 1;
      } else {
        res = (ua >>> count) | (ub << (32 - count));
        cf = (ua >>> (count - 1)) & 1;
      }
    } else {
      // 16-bit: Intel shifts the 48-bit a:b:a (counts above 16 are architecturally undefined)
      if (left) {
        const x = ua * 2 ** 32 + ub * 2 ** 16 + ua;
        res = Math.floor(x / 2 ** (32 - count)) % 65536;
        cf = Math.floor(x / 2 ** (48 - count)) % 2;
      } else {
        const x = ua + ub * 2 ** 16 + ua * 2 ** 32;
        res = Math.floor(x / 2 ** count) % 65536;
        cf = Math.floor(x / 2 ** (count - 1)) % 2;
      }
    }
    res = maskTo(size, res);
    const sh = shiftFor(size);
    const of = (((res ^ ua) << sh) >>> 31) !== 0;
    shiftFlags(cpu, res, size, cf, of);
    return res;
  });
}
export function shld(cpu: Cpu, i: Insn): void {
  dshift(cpu, i, true);
}
export function shrd(cpu: Cpu, i: Insn): void {
  dshift(cpu, i, false);
}

// ---------------------------------------------------------------- multiply and divide

function mulFlags(cpu: Cpu, overflow: boolean, low: number, size: number): void {
  cpu.flags = (cpu.flags & ~(CF | OF | AF)) | (overflow ? CF | OF : 0);
  setLazy(cpu, LazyOp.Logic, 0, 0, low, size, ZF | SF | PF);
}

export function mulE(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const src = cpu.readE(i);
  if (i.size === 1) {
    const p = (r[0] & 0xff) * src;
    r[0] = (r[0] & ~0xffff) | p;
    mulFlags(cpu, p > 0xff, p & 0xff, 1);
  } else if (i.size === 2) {
    const p = (r[0] & 0xffff) * src;
    r[0] = (r[0] & ~0xffff) | (p & 0xffff);
    r[2] = (r[2] & ~0xffff) | (p >>> 16);
    mulFlags(cpu, p > 0xffff, p & 0xffff, 2);
  } else {
    const p = BigInt(r[0] >>> 0) * BigInt(src >>> 0);
    const lo = Number(p & 0xffffffffn) | 0;
    const hi = Number(p >> 32n) | 0;
    r[0] = lo;
    r[2] = hi;
    mulFlags(cpu, hi !== 0, lo, 4);
  }
}

export function imulE(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const src = cpu.readE(i);
  if (i.size === 1) {
    const p = ((r[0] << 24) >> 24) * ((src << 24) >> 24);
    r[0] = (r[0] & ~0xffff) | (p & 0xffff);
    mulFlags(cpu, p !== (p << 24) >> 24, p & 0xff, 1);
  } else if (i.size === 2) {
    const p = ((r[0] << 16) >> 16) * ((src << 16) >> 16);
    r[0] = (r[0] & ~0xffff) | (p & 0xffff);
    r[2] = (r[2] & ~0xffff) | ((p >> 16) & 0xffff);
    mulFlags(cpu, p !== (p << 16) >> 16, p & 0xffff, 2);
  } else {
    const p = BigInt(r[0]) * BigInt(src | 0);
    const lo = Number(BigInt.asIntN(32, p));
    const hi = Number(BigInt.asIntN(32, p >> 32n));
    r[0] = lo;
    r[2] = hi;
    mulFlags(cpu, BigInt(lo) !== p, lo, 4);
  }
}

function imulTrunc(cpu: Cpu, a: number, b: number, size: number): number {
  if (size === 4) {
    const lo = Math.imul(a, b);
    mulFlags(cpu, (a | 0) * (b | 0) !== lo, lo, 4);
    return lo;
  }
  const p = ((a << 16) >> 16) * ((b << 16) >> 16);
  const lo = p & 0xffff;
  mulFlags(cpu, p !== (p << 16) >> 16, lo, 2);
  return lo;
}

export function imul2(cpu: Cpu, i: Insn): void {
  cpu.setReg(i.osize, i.reg, imulTrunc(cpu, cpu.getReg(i.osize, i.reg), cpu.readE(i), i.osize));
}
export function imul3(cpu: Cpu, i: Insn): void {
  cpu.setReg(i.osize, i.reg, imulTrunc(cpu, cpu.readE(i), i.imm, i.osize));
}

const de = (): never => {
  throw new CpuFault(Vec.DE, undefined);
};

export function divE(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const d = cpu.readE(i);
  if (i.size === 1) {
    if (d === 0) de();
    const n = r[0] & 0xffff;
    const q = Math.floor(n / d);
    if (q > 0xff) de();
    r[0] = (r[0] & ~0xffff) | ((n % d) << 8) | q;
  } else if (i.size === 2) {
    if (d === 0) de();
    const n = (((r[2] & 0xffff) << 16) | (r[0] & 0xffff)) >>> 0;
    const q = Math.floor(n / d);
    if (q > 0xffff) de();
    r[0] = (r[0] & ~0xffff) | q;
    r[2] = (r[2] & ~0xffff) | (n % d);
  } else {
    const ud = d >>> 0;
    if (ud === 0) de();
    if (r[2] === 0) {
      const n = r[0] >>> 0;
      r[0] = Math.floor(n / ud) | 0;
      r[2] = n % ud | 0;
      return;
    }
    const n = (BigInt(r[2] >>> 0) << 32n) | BigInt(r[0] >>> 0);
    const q = n / BigInt(ud);
    if (q > 0xffffffffn) de();
    r[0] = Number(q) | 0;
    r[2] = Number(n % BigInt(ud)) | 0;
  }
}

export function idivE(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const d0 = cpu.readE(i);
  if (i.size === 1) {
    const d = (d0 << 24) >> 24;
    if (d === 0) de();
    const n = (r[0] << 16) >> 16;
    const q = Math.trunc(n / d);
    if (q > 127 || q < -128) de();
    r[0] = (r[0] & ~0xffff) | (((n % d) & 0xff) << 8) | (q & 0xff);
  } else if (i.size === 2) {
    const d = (d0 << 16) >> 16;
    if (d === 0) de();
    const n = ((r[2] & 0xffff) << 16) | (r[0] & 0xffff);
    const q = Math.trunc(n / d);
    if (q > 32767 || q < -32768) de();
    r[0] = (r[0] & ~0xffff) | (q & 0xffff);
    r[2] = (r[2] & ~0xffff) | ((n % d) & 0xffff);
  } else {
    const d = d0 | 0;
    if (d === 0) de();
    const n = (BigInt(r[2]) << 32n) | BigInt(r[0] >>> 0);
    const q = n / BigInt(d);
    if (q > 0x7fffffffn || q < -0x80000000n) de();
    r[0] = Number(q) | 0;
    r[2] = Number(n % BigInt(d)) | 0;
  }
}

// ---------------------------------------------------------------- BCD

function setSZP(cpu: Cpu, res8: number): void {
  materialize(cpu);
  setLazy(cpu, LazyOp.Logic, 0, 0, res8, 1, ZF | SF | PF);
}

export function daa(cpu: Cpu): void {
  const r = cpu.regs;
  const oldAl = r[0] & 0xff;
  const oldCf = getCF(cpu);
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0xf) > 9 || getAF(cpu)) {
    al += 6;
    af = AF;
    cf = oldCf | (al > 0xff ? 1 : 0);
  }
  if (oldAl > 0x99 || oldCf) {
    al += 0x60;
    cf = 1;
  }
  al &= 0xff;
  cpu.setReg8(0, al);
  materialize(cpu);
  cpu.flags = (cpu.flags & ~(CF | AF | OF)) | cf | af;
  setSZP(cpu, al);
}

export function das(cpu: Cpu): void {
  const oldAl = cpu.regs[0] & 0xff;
  const oldCf = getCF(cpu);
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0xf) > 9 || getAF(cpu)) {
    cf = oldCf | (al < 6 ? 1 : 0);
    al = (al - 6) & 0xff;
    af = AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  cpu.setReg8(0, al);
  materialize(cpu);
  cpu.flags = (cpu.flags & ~(CF | AF | OF)) | cf | af;
  setSZP(cpu, al);
}

export function aaa(cpu: Cpu): void {
  const r = cpu.regs;
  let ax = r[0] & 0xffff;
  let f = 0;
  if ((ax & 0xf) > 9 || getAF(cpu)) {
    ax = (ax + 0x106) & 0xffff;
    f = AF | CF;
  }
  ax &= 0xff0f;
  r[0] = (r[0] & ~0xffff) | ax;
  setFlagBits(cpu, ARITH, f | (ax & 0xff ? 0 : ZF));
}

export function aas(cpu: Cpu): void {
  const r = cpu.regs;
  let ax = r[0] & 0xffff;
  let f = 0;
  if ((ax & 0xf) > 9 || getAF(cpu)) {
    // modern CPUs subtract 6 from all of AX (the borrow reaches AH), then decrement AH
    ax = (ax - 6) & 0xffff;
    ax = ((((ax >> 8) - 1) & 0xff) << 8) | (ax & 0xff);
    f = AF | CF;
  }
  ax &= 0xff0f;
  r[0] = (r[0] & ~0xffff) | ax;
  setFlagBits(cpu, ARITH, f | (ax & 0xff ? 0 : ZF));
}

export function aam(cpu: Cpu, i: Insn): void {
  const base = i.imm & 0xff;
  if (base === 0) de();
  const al = cpu.regs[0] & 0xff;
  const res = al % base;
  cpu.regs[0] = (cpu.regs[0] & ~0xffff) | (Math.floor(al / base) << 8) | res;
  setFlagBits(cpu, ARITH, 0);
  setLazy(cpu, LazyOp.Logic, 0, 0, res, 1, ZF | SF | PF);
}

export function aad(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const al = ((((r[0] >> 8) & 0xff) * (i.imm & 0xff)) + (r[0] & 0xff)) & 0xff;
  r[0] = (r[0] & ~0xffff) | al;
  setFlagBits(cpu, ARITH, 0);
  setLazy(cpu, LazyOp.Logic, 0, 0, al, 1, ZF | SF | PF);
}

// ---------------------------------------------------------------- bit operations

function bitOp(cpu: Cpu, i: Insn, kind: number, offset: number, fromReg: boolean): void {
  const size = i.osize;
  const bits = size * 8;
  let addr = 0;
  let v: number;
  let bit: number;
  if (i.mod === 3) {
    bit = offset & (bits - 1);
    v = cpu.getReg(size, i.rm);
  } else {
    addr = cpu.ea(i);
    if (fromReg) {
      // register bit offsets are signed and may address beyond the operand
      const so = size === 4 ? offset | 0 : (offset << 16) >> 16;
      const delta = Math.floor(so / bits) * size;
      addr = i.asize === 4 ? (addr + delta) | 0 : (addr + delta) & 0xffff;
      bit = so & (bits - 1);
    } else bit = offset & (bits - 1);
    v = cpu.readSized(i.seg, addr, size);
  }
  const cf = (v >>> bit) & 1;
  setFlagBits(cpu, CF, cf);
  if (kind === 0) return;
  const m = 1 << bit;
  const nv = maskTo(size, kind === 1 ? v | m : kind === 2 ? v & ~m : v ^ m);
  if (i.mod === 3) cpu.setReg(size, i.rm, nv);
  else cpu.writeSized(i.seg, addr, size, nv);
}
export function btG(cpu: Cpu, i: Insn): void {
  bitOp(cpu, i, i.sub, cpu.getReg(i.osize, i.reg), true);
}
export function btI(cpu: Cpu, i: Insn): void {
  bitOp(cpu, i, i.sub, i.imm & 0xff, false);
}
export function bsf(cpu: Cpu, i: Insn): void {
  const v = cpu.readE(i);
  materialize(cpu);
  if (v === 0) {
    cpu.flags |= ZF;
    return;
  }
  cpu.flags &= ~ZF;
  cpu.setReg(i.osize, i.reg, 31 - Math.clz32(v & -v));
}
export function bsr(cpu: Cpu, i: Insn): void {
  const v = cpu.readE(i);
  materialize(cpu);
  if (v === 0) {
    cpu.flags |= ZF;
    return;
  }
  cpu.flags &= ~ZF;
  cpu.setReg(i.osize, i.reg, 31 - Math.clz32(v));
}

// ---------------------------------------------------------------- exchange-and-compare

export function cmpxchg(cpu: Cpu, i: Insn): void {
  const s = i.size;
  const acc = cpu.getReg(s, 0);
  if (i.mod === 3) {
    const d = cpu.getReg(s, i.rm);
    alu(cpu, 7, acc, d, s);
    if (acc === d) cpu.setReg(s, i.rm, cpu.getReg(s, i.reg));
    else cpu.setReg(s, 0, d);
  } else {
    const addr = cpu.ea(i);
    const d = cpu.readSized(i.seg, addr, s);
    alu(cpu, 7, acc, d, s);
    if (acc === d) cpu.writeSized(i.seg, addr, s, cpu.getReg(s, i.reg));
    else {
      cpu.writeSized(i.seg, addr, s, d); // the destination is always written
      cpu.setReg(s, 0, d);
    }
  }
}

export function xadd(cpu: Cpu, i: Insn): void {
  const s = i.size;
  const src = cpu.getReg(s, i.reg);
  if (i.mod === 3) {
    const d = cpu.getReg(s, i.rm);
    const sum = alu(cpu, 0, d, src, s);
    cpu.setReg(s, i.reg, d);
    cpu.setReg(s, i.rm, sum);
  } else {
    const addr = cpu.ea(i);
    const d = cpu.readSized(i.seg, addr, s);
    const sum = alu(cpu, 0, d, src, s);
    cpu.writeSized(i.seg, addr, s, sum);
    cpu.setReg(s, i.reg, d);
  }
}

export function cmpxchg8b(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const addr = cpu.ea(i);
  const lo = cpu.read32(i.seg, addr);
  const hi = cpu.read32(i.seg, (addr + 4) | 0);
  if (lo === r[0] && hi === r[2]) {
    cpu.probeWrite(i.seg, addr, 4);
    cpu.probeWrite(i.seg, (addr + 4) | 0, 4);
    cpu.write32(i.seg, addr, r[3]);
    cpu.write32(i.seg, (addr + 4) | 0, r[1]);
    setFlagBits(cpu, ZF, ZF);
  } else {
    cpu.probeWrite(i.seg, addr, 4);
    cpu.write32(i.seg, addr, lo);
    cpu.write32(i.seg, (addr + 4) | 0, hi);
    r[0] = lo;
    r[2] = hi;
    setFlagBits(cpu, ZF, 0);
  }
}

export function bound(cpu: Cpu, i: Insn): void {
  const addr = cpu.ea(i);
  const s = i.osize;
  let idx = cpu.getReg(s, i.reg);
  let lo = cpu.readSized(i.seg, addr, s);
  let hi = cpu.readSized(i.seg, i.asize === 4 ? (addr + s) | 0 : (addr + s) & 0xffff, s);
  if (s === 2) {
    idx = (idx << 16) >> 16;
    lo = (lo << 16) >> 16;
    hi = (hi << 16) >> 16;
  }
  if (idx < lo || idx > hi) throw new CpuFault(Vec.BR, undefined);
}
