// Compiles a hot decoded block into one JavaScript function (new Function per block).
//
// The compiled function runs the whole block exactly as the interpreter loop in Cpu.run would:
// same state after every instruction, same exits (a taken branch, an instruction that sets
// breakBlock, a write that invalidates this block), same instruction count and EIP when a guest
// fault escapes. The run loop calls it only when the block runs to completion: the remaining
// budget covers every instruction, no breakpoint or entry range lies inside it, the whole block
// is inside the CS limit, and (for blocks with inlined stack operations) SS is a 32-bit stack.
//
// The common 32-bit forms (mov, lea, the ALU group, test, inc/dec, push/pop, imul, shl/shr/sar,
// movzx/movsx, jcc/jmp/call/ret) are inlined with their operand registers and sizes fixed; every
// other instruction (and every hooked form) calls its decoded handler, so hooks fire as in the
// interpreter. Two flag optimisations, both invisible to the guest:
//  - a flag result overwritten by a later instruction of the block before anything can observe it
//    (a flag reader, a possible fault, a handler call, the block end) is not stored;
//  - a conditional branch whose flags come from an inlined cmp/sub/add/logic/dec of the same block
//    tests the operands directly instead of recomputing the lazy flags.

import type { Cpu } from "./cpu.js";
import type { Block, Insn } from "./decoder.js";
import { CpuFault } from "./fault.js";
import { getCF, testCC } from "./flags.js";

export type CompiledBlock = (cpu: Cpu) => void;

/** How an instruction's code treats the arithmetic flags. */
const enum FlagUse {
  /** Neither reads nor writes them. */
  None,
  /** Defines all six arithmetic flags without reading the old ones. */
  Full,
  /** Reads them (or may: handler calls, inc/dec keeping CF). */
  Read,
}

/** What the flags of an inlined producer let a following jcc test directly. */
type Producer = { kind: "sub" | "add" | "logic" | "dec" | "inc"; size: number } | null;

interface Piece {
  /** Code without the flag update. */
  body: string;
  /** The flag update (dropped when dead); runs between `body` and `tail`. */
  flags: string;
  /** Code after the flag update (e.g. the write of a read-modify-write). */
  tail: string;
  use: FlagUse;
  /** Can throw a guest fault. */
  faults: boolean;
  /** Calls the decoded handler (full state sync around it). */
  generic: boolean;
  /** Writes guest memory inline (may invalidate this very block). */
  writes: boolean;
  /** Uses SS:ESP as a 32-bit stack inline. */
  stack: boolean;
  producer: Producer;
  /** Ends the block with a control transfer; the code sets cpu.eip itself. */
  jump: boolean;
  /** For jcc: the condition code (folded with the producer when possible). */
  cc: number;
}

const LAZY_ADD = 1;
const LAZY_SUB = 3;
const LAZY_LOGIC = 5;
const ARITH = 0x8d5;

function piece(p: Partial<Piece>): Piece {
  return {
    body: "",
    flags: "",
    tail: "",
    use: FlagUse.None,
    faults: false,
    generic: false,
    writes: false,
    stack: false,
    producer: null,
    jump: false,
    cc: -1,
    ...p,
  };
}

const reg8get = (n: number): string => (n < 4 ? `(r[${n}] & 0xff)` : `((r[${n - 4}] >> 8) & 0xff)`);
const reg8set = (n: number, v: string): string =>
  n < 4 ? `r[${n}] = (r[${n}] & ~0xff) | ((${v}) & 0xff);` : `r[${n - 4}] = (r[${n - 4}] & ~0xff00) | (((${v}) & 0xff) << 8);`;

function eaExpr(i: Insn): string {
  const parts: string[] = [];
  if (i.base >= 0) parts.push(`r[${i.base}]`);
  if (i.index >= 0) parts.push(i.scale ? `(r[${i.index}] << ${i.scale})` : `r[${i.index}]`);
  if (i.disp !== 0 || parts.length === 0) parts.push(String(i.disp | 0));
  return `((${parts.join(" + ")}) | 0)`;
}

/** Operand access for sizes 1 and 4 (16-bit operands go through the handlers). */
function readReg(size: number, n: number): string {
  return size === 4 ? `r[${n}]` : reg8get(n);
}
function writeReg(size: number, n: number, v: string): string {
  return size === 4 ? `r[${n}] = ${v};` : reg8set(n, v);
}
function readMem(size: number, seg: number, ea: string): string {
  return size === 4 ? `cpu.read32(${seg}, ${ea})` : `cpu.read8(${seg}, ${ea})`;
}
function writeMem(size: number, seg: number, ea: string, v: string): string {
  return size === 4 ? `cpu.write32(${seg}, ${ea}, ${v});` : `cpu.write8(${seg}, ${ea}, (${v}) & 0xff);`;
}
const mask = (size: number, v: string): string => (size === 4 ? `((${v}) | 0)` : `((${v}) & 0xff)`);
const shiftOf = (size: number): number => (size === 4 ? 0 : 24);

/** Lazy-flag store of an ALU operation (mirrors setLazy in alu.ts). */
function lazy(op: number, a: string, b: string, res: string, size: number, m: number): string {
  const ab = op === LAZY_LOGIC ? "" : `cpu.lazyA = ${a}; cpu.lazyB = ${b}; `;
  return `cpu.lazyOp = ${op}; ${ab}cpu.lazyRes = ${res}; cpu.lazyShift = ${shiftOf(size)}; cpu.lazyMask = ${m};`;
}

const ALU_OPS: Record<number, { js: string; lazy: number; kind: "sub" | "add" | "logic" }> = {
  0: { js: "+", lazy: LAZY_ADD, kind: "add" },
  1: { js: "|", lazy: LAZY_LOGIC, kind: "logic" },
  4: { js: "&", lazy: LAZY_LOGIC, kind: "logic" },
  5: { js: "-", lazy: LAZY_SUB, kind: "sub" },
  6: { js: "^", lazy: LAZY_LOGIC, kind: "logic" },
  7: { js: "-", lazy: LAZY_SUB, kind: "sub" },
};

/** dst = dst OP src for an ALU kind; `dst` is a register or a memory operand. */
function aluPiece(i: Insn, kind: number, size: number, dstMem: boolean, dstReg: number, src: string, srcFaults: boolean): Piece | null {
  const op = ALU_OPS[kind];
  if (!op) return null;
  const store = kind !== 7;
  if (dstMem) {
    const ea = eaExpr(i);
    return piece({
      body: `{ const ea = ${ea}; const a = ${readMem(size, i.seg, "ea")}; const b = ${src}; const res = ${mask(size, `a ${op.js} b`)}; fa = a; fb = b; fr = res;`,
      flags: lazy(op.lazy, "a", "b", "res", size, ARITH),
      tail: (store ? writeMem(size, i.seg, "ea", "res") : "") + " }",
      use: FlagUse.Full,
      faults: true,
      writes: store,
      producer: { kind: op.kind, size },
    });
  }
  return piece({
    body: `{ const a = ${readReg(size, dstReg)}; const b = ${src}; const res = ${mask(size, `a ${op.js} b`)}; fa = a; fb = b; fr = res;`,
    flags: lazy(op.lazy, "a", "b", "res", size, ARITH),
    tail: (store ? writeReg(size, dstReg, "res") : "") + " }",
    use: FlagUse.Full,
    faults: srcFaults,
    producer: { kind: op.kind, size },
  });
}

function testPiece(size: number, a: string, b: string, faults: boolean): Piece {
  return piece({
    body: `{ const res = ${mask(size, `${a} & ${b}`)}; fr = res;`,
    flags: lazy(LAZY_LOGIC, "0", "0", "res", size, ARITH),
    tail: " }",
    use: FlagUse.Full,
    faults,
    producer: { kind: "logic", size },
  });
}

/** Source operand E (ModRM r/m) read as a value. */
function readE(i: Insn, size: number): string {
  return i.mod === 3 ? readReg(size, i.rm) : readMem(size, i.seg, eaExpr(i));
}

/** Inline code for one instruction, or null when it goes through its handler. */
function inline(i: Insn, next: string, target: string, stack32: boolean): Piece | null {
  if (i.hooked || i.lock || i.rep !== 0 || i.asize !== 4) return null;
  const op = i.op;
  const size = i.size;
  // near control transfer (32-bit operand size only: 16-bit targets wrap)
  if (i.osize === 4) {
    if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
      return piece({ jump: true, cc: op & 15, faults: true, use: FlagUse.Read });
    }
    if (op === 0xeb || op === 0xe9) {
      return piece({ jump: true, faults: true, body: `{ const t = ${target}; if (t > cpu.segs[1].limit) throw new CpuFault(13, 0); cpu.eip = t; }` });
    }
    if (op === 0xe8 && stack32) {
      return piece({
        jump: true,
        faults: true,
        writes: true,
        stack: true,
        body: `{ const t = ${target}; if (t > cpu.segs[1].limit) throw new CpuFault(13, 0); const sp = (r[4] - 4) | 0; cpu.write32(2, sp, ${next}); r[4] = sp; cpu.eip = t; }`,
      });
    }
    if (op === 0xc3 && stack32) {
      return piece({
        jump: true,
        faults: true,
        stack: true,
        body: `{ const t = cpu.read32(2, r[4]) >>> 0; if (t > cpu.segs[1].limit) throw new CpuFault(13, 0); r[4] = (r[4] + 4) | 0; cpu.eip = t; }`,
      });
    }
  }
  if (i.osize !== 4 && size !== 1) return null;
  const mem = i.mod !== 3;
  // ALU group: 00-3F (EG, GE, AI forms), 80/81/83 (EI)
  if (op < 0x40 && (op & 7) < 6) {
    const kind = op >> 3;
    switch (op & 7) {
      case 0:
      case 1:
        return aluPiece(i, kind, size, mem, i.rm, readReg(size, i.reg), false);
      case 2:
      case 3:
        return aluPiece(i, kind, size, false, i.reg, readE(i, size), mem);
      case 4:
      case 5:
        return aluPiece(i, kind, size, false, 0, String(size === 4 ? i.imm | 0 : i.imm & 0xff), false);
    }
  }
  if (op === 0x80 || op === 0x81 || op === 0x83) {
    const imm = String(size === 4 ? i.imm | 0 : i.imm & 0xff);
    return aluPiece(i, i.reg, size, mem, i.rm, imm, false);
  }
  switch (op) {
    case 0x84:
    case 0x85:
      return testPiece(size, readE(i, size), readReg(size, i.reg), mem);
    case 0xa8:
    case 0xa9:
      return testPiece(size, readReg(size, 0), String(size === 4 ? i.imm | 0 : i.imm & 0xff), false);
    case 0xf6:
    case 0xf7:
      if (i.reg <= 1) return testPiece(size, readE(i, size), String(size === 4 ? i.imm | 0 : i.imm & 0xff), mem);
      return null;
    case 0x88:
    case 0x89:
      return mem
        ? piece({ body: writeMem(size, i.seg, eaExpr(i), readReg(size, i.reg)), faults: true, writes: true })
        : piece({ body: writeReg(size, i.rm, readReg(size, i.reg)) });
    case 0x8a:
    case 0x8b:
      return piece({ body: writeReg(size, i.reg, readE(i, size)), faults: mem });
    case 0xc6:
    case 0xc7: {
      const imm = String(size === 4 ? i.imm | 0 : i.imm & 0xff);
      return mem ? piece({ body: writeMem(size, i.seg, eaExpr(i), imm), faults: true, writes: true }) : piece({ body: writeReg(size, i.rm, imm) });
    }
    case 0x8d:
      return i.osize === 4 ? piece({ body: `r[${i.reg}] = ${eaExpr(i)};` }) : null;
    case 0x90:
      return piece({});
  }
  if (op >= 0xb0 && op <= 0xbf) return piece({ body: writeReg(size, i.sub, String(size === 4 ? i.imm | 0 : i.imm & 0xff)) });
  if (i.osize !== 4) return null;
  // 32-bit only from here
  if (op >= 0x40 && op <= 0x4f) {
    const dec = op >= 0x48;
    const n = i.sub;
    return piece({
      body: `{ const a = r[${n}]; const res = (a ${dec ? "-" : "+"} 1) | 0; r[${n}] = res; fa = a; fb = 1; fr = res;`,
      flags: `if (cpu.lazyMask & 1) cpu.flags = (cpu.flags & ~1) | getCF(cpu); ${lazy(dec ? LAZY_SUB : LAZY_ADD, "a", "1", "res", 4, ARITH & ~1)}`,
      tail: " }",
      use: FlagUse.Read, // keeps CF: a producer before it stays live
      producer: { kind: dec ? "dec" : "inc", size: 4 },
    });
  }
  if (op >= 0x50 && op <= 0x57 && stack32) {
    return piece({ body: `{ const v = r[${i.sub}]; const sp = (r[4] - 4) | 0; cpu.write32(2, sp, v); r[4] = sp; }`, faults: true, writes: true, stack: true });
  }
  if (op >= 0x58 && op <= 0x5f && stack32) {
    return piece({ body: `{ const v = cpu.read32(2, r[4]); r[4] = (r[4] + 4) | 0; r[${i.sub}] = v; }`, faults: true, stack: true });
  }
  if ((op === 0x68 || op === 0x6a) && stack32) {
    return piece({ body: `{ const sp = (r[4] - 4) | 0; cpu.write32(2, sp, ${i.imm | 0}); r[4] = sp; }`, faults: true, writes: true, stack: true });
  }
  if (op === 0x69 || op === 0x6b || op === 0x1af) {
    const src = op === 0x1af ? `r[${i.reg}]` : String(i.imm | 0);
    return piece({
      body: `{ const a = ${readE(i, 4)}; const b = ${src}; const res = Math.imul(a, b); r[${i.reg}] = res;`,
      flags: `cpu.flags = (cpu.flags & ~0x811) | (a * b !== res ? 0x801 : 0); ${lazy(LAZY_LOGIC, "0", "0", "res", 4, 0xc4)}`,
      tail: " }",
      use: FlagUse.Full,
      faults: mem,
    });
  }
  if ((op === 0xc1 || op === 0xd1) && !mem) {
    const kind = i.reg;
    const count = (op === 0xd1 ? 1 : i.imm) & 0x1f;
    if (kind !== 4 && kind !== 5 && kind !== 7 && kind !== 6) return null;
    if (kind === 6) return null; // sal alias: leave to the handler
    if (count === 0) return piece({});
    const n = i.rm;
    let res: string;
    let cf: string;
    let of: string;
    if (kind === 5) {
      res = `a >>> ${count}`;
      cf = `(a >>> ${count - 1}) & 1`;
      of = `(a < 0 ? 0x800 : 0)`;
    } else if (kind === 7) {
      res = `a >> ${count}`;
      cf = `(a >> ${count - 1}) & 1`;
      of = "0";
    } else {
      res = `a << ${count}`;
      cf = `(a >>> ${32 - count}) & 1`;
      of = `(((res >>> 31) ^ cf) ? 0x800 : 0)`;
    }
    return piece({
      body: `{ const a = r[${n}]; const res = (${res}) | 0; r[${n}] = res;`,
      flags: `const cf = ${cf}; cpu.flags = (cpu.flags & ~0x811) | cf | ${of}; ${lazy(LAZY_LOGIC, "0", "0", "res", 4, 0xc4)}`,
      tail: " }",
      use: FlagUse.Full,
    });
  }
  if (op === 0x1b6 || op === 0x1b7 || op === 0x1be || op === 0x1bf) {
    const src = i.sub; // 1 or 2 bytes
    let v: string;
    if (i.mod === 3) v = src === 1 ? reg8get(i.rm) : `(r[${i.rm}] & 0xffff)`;
    else v = src === 1 ? `cpu.read8(${i.seg}, ${eaExpr(i)})` : `cpu.read16(${i.seg}, ${eaExpr(i)})`;
    const sx = op >= 0x1be;
    const sh = src === 1 ? 24 : 16;
    return piece({ body: `r[${i.reg}] = ${sx ? `((${v}) << ${sh}) >> ${sh}` : v};`, faults: mem });
  }
  return null;
}

/** The condition of a jcc folded with the flags producer of the same block, or null. */
function foldCondition(cc: number, p: Producer): string | null {
  if (!p || p.size !== 4) return null;
  const base = cc >> 1;
  let t: string | null = null;
  switch (p.kind) {
    case "sub":
      t = [null, "(fa >>> 0) < (fb >>> 0)", "fr === 0", "(fa >>> 0) <= (fb >>> 0)", "fr < 0", null, "fa < fb", "fa <= fb"][base];
      break;
    case "dec":
      t = [null, null, "fr === 0", null, "fr < 0", null, "fa < 1", "fa <= 1"][base];
      break;
    case "add":
    case "inc":
      t = [null, null, "fr === 0", null, "fr < 0", null, null, null][base];
      break;
    case "logic":
      t = ["false", "false", "fr === 0", "fr === 0", "fr < 0", null, "fr < 0", "fr <= 0"][base];
      break;
  }
  if (t === null) return null;
  return cc & 1 ? `!(${t})` : t;
}

/**
 * Compile `block` (decoded at linear `lin` with the CPU in its current mode). Returns null when
 * the block is better left to the interpreter.
 */
export function compileBlock(cpu: Cpu, block: Block): CompiledBlock | null {
  const insns = block.insns;
  const n = insns.length;
  if (n === 0) return null;
  const ipMask = block.codeSize === 32 ? ">>> 0" : "& 0xffff";
  const stack32 = cpu.stack32;
  const offs: number[] = [0];
  for (const i of insns) offs.push(offs[offs.length - 1] + i.len);
  const at = (k: number): string => `((e0 + ${offs[k]}) ${ipMask})`;

  const pieces: Piece[] = insns.map((i, k) => {
    const p = block.codeSize === 32 ? inline(i, at(k + 1), `((e0 + ${offs[k + 1] + (i.imm | 0)}) >>> 0)`, stack32) : null;
    return p ?? piece({ generic: true, faults: true, use: FlagUse.Read });
  });

  // Dead flag stores: a Full producer whose result is overwritten by a later Full, non-faulting
  // instruction with only flag-neutral, non-faulting inline code in between.
  const dead: boolean[] = pieces.map(() => false);
  for (let k = 0; k < n; k++) {
    const p = pieces[k];
    if (!p.flags || p.faults && p.writes) continue; // a faulting write after the flag update: keep
    for (let j = k + 1; j < n; j++) {
      const q = pieces[j];
      if (q.generic || q.jump || q.faults || q.use === FlagUse.Read) break;
      if (q.use === FlagUse.Full) {
        dead[k] = true;
        break;
      }
    }
  }

  let usesStack = false;
  const lines: string[] = [];
  lines.push("const r = cpu.regs; const e0 = cpu.eip; const ic = cpu.instructionCount;");
  lines.push("let fa = 0, fb = 0, fr = 0, k = 0;");
  lines.push("try {");
  let producer: Producer = null;
  let lastJump = false;
  for (let k = 0; k < n; k++) {
    const p = pieces[k];
    const i = insns[k];
    if (p.stack) usesStack = true;
    // curEip and the count are exact during memory accesses too: an MMIO handler (the wedge's vCPU
    // window) attributes each access to the instruction that made it.
    if (p.faults) lines.push(`k = ${k}; cpu.curEip = ${at(k)}; cpu.instructionCount = ic + ${k};`);
    if (p.generic) {
      lines.push(
        `cpu.curEip = ${at(k)}; cpu.eip = ${at(k + 1)}; cpu.instructionCount = ic + ${k};`,
        `I[${k}].exec(cpu, I[${k}]);`,
        "cpu.instructionCount++;",
        `if (cpu.eip !== ${at(k + 1)} || cpu.breakBlock) return;`,
      );
      producer = null;
      continue;
    }
    if (p.jump && p.cc >= 0) {
      const cond = foldCondition(p.cc, producer) ?? `testCC(cpu, ${p.cc})`;
      const target = `((e0 + ${offs[k + 1] + (i.imm | 0)}) >>> 0)`;
      lines.push(`cpu.instructionCount = ic + ${n};`);
      lines.push(`if (${cond}) { const t = ${target}; if (t > cpu.segs[1].limit) throw new CpuFault(13, 0); cpu.eip = t; } else cpu.eip = ${at(k + 1)};`);
      lastJump = true;
      break;
    }
    if (p.jump) {
      lines.push(`cpu.instructionCount = ic + ${n};`);
      lines.push(p.body);
      lastJump = true;
      break;
    }
    lines.push(p.body + (dead[k] ? "" : p.flags) + p.tail);
    if (p.producer) producer = p.producer;
    else if (p.use !== FlagUse.None) producer = null;
    if (p.writes && k < n - 1) lines.push(`if (cpu.breakBlock) { cpu.eip = ${at(k + 1)}; cpu.instructionCount = ic + ${k + 1}; return; }`);
  }
  if (!lastJump) {
    const last = pieces[n - 1];
    if (!last.generic) lines.push(`cpu.eip = ${at(n)}; cpu.instructionCount = ic + ${n};`);
  }
  // A jump's count is set before its code runs: if it faults, restore the count of its start.
  lines.push(`} catch (e) { cpu.instructionCount = ic + k; cpu.curEip = (e0 + O[k]) ${ipMask}; throw e; }`);
  block.needsStack32 = usesStack;
  const src = `return function block(cpu) {\n${lines.join("\n")}\n};`;
  const factory = new Function("I", "O", "CpuFault", "testCC", "getCF", src) as (
    I: Insn[],
    O: number[],
    F: typeof CpuFault,
    t: typeof testCC,
    g: typeof getCF,
  ) => CompiledBlock;
  return factory(insns, offs, CpuFault, testCC, getCF);
}
