// Table-driven IA-32 decoder. Decodes guest code once into Insn records grouped in basic blocks
// (cached by physical address in Cpu). Each opcode entry names the instruction (iced-x86 Mnemonic
// spelling, so the fuzz test can compare with iced), its operand format, and its handler.

import type { Cpu } from "./cpu.js";
import { CpuFault, Vec } from "./fault.js";
import * as A from "./alu.js";
import * as C from "./control.js";
import * as S from "./string-ops.js";
import * as Y from "./system.js";
import * as G from "./segmentation.js";

export type Handler = (cpu: Cpu, i: Insn) => void;

/** One decoded instruction. Fields not used by an instruction keep their defaults. */
export class Insn {
  exec: Handler = invalid;
  /** iced-x86 Mnemonic name ("Add", "Movsd", ... ; "Invalid" for #UD encodings). */
  mn = "Invalid";
  /** Opcode: 0x00–0xff, 0x100 + second byte for 0F xx, 0x200 / 0x300 + third byte for 0F 38 xx / 0F 3A xx. */
  op = 0;
  len = 0;
  /** Operand size in bytes for this instruction's main operand (1, 2 or 4). */
  size = 4;
  /** Operand-size attribute (2 or 4), independent of byte forms. */
  osize = 4;
  /** Address-size attribute (2 or 4). */
  asize = 4;
  mod = 3;
  reg = 0;
  rm = 0;
  /** Segment of the memory operand (default or override); string source segment. */
  seg = 3;
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  imm = 0;
  imm2 = 0;
  /** 0 none, 1 = F3 (rep/repe), 2 = F2 (repne) */
  rep = 0;
  /** The candidate mandatory prefix the hooks see (bus.ts InstructionForm): the last F2/F3, else 66, else 0. */
  prefix = 0;
  lock = false;
  /** ALU kind, condition code, segment register number... per handler. */
  sub = 0;
  hooked = false;
  /** The handler before hook wrapping. */
  inner: Handler = invalid;
}

export interface Block {
  phys: number;
  codeSize: 16 | 32;
  insns: Insn[];
  cacheable: boolean;
  valid: boolean;
  /** Total length in bytes of the block's instructions. */
  bytes: number;
  /** Executions so far (the block is compiled when this reaches Cpu.compileThreshold). */
  hits: number;
  /** The compiled form (compile.ts), or null while interpreted. */
  fn: ((cpu: Cpu) => void) | null;
  /** The compiled form inlines 32-bit stack operations: run it only while SS is a 32-bit stack. */
  needsStack32: boolean;
}

function invalid(): void {
  throw new CpuFault(Vec.UD, undefined);
}

// ---------------------------------------------------------------- opcode table

const M = 1; // ModRM follows
const I8 = 2; // imm8
const IZ = 4; // imm16/32 by operand size
const I16 = 8; // imm16
const J8 = 0x10; // rel8
const JZ = 0x20; // rel16/32
const AP = 0x40; // ptr16:16/32
const MO = 0x80; // moffs (address size)
const B = 0x100; // byte operand
const END = 0x200; // ends a basic block (control flow or mode change)
const MEM = 0x400; // memory form only
const LK = 0x800; // LOCK allowed (memory form)
const I16I8 = 0x1000; // enter
const W16 = 0x2000; // operand is always 16-bit (arpl, mov sreg, lldt, ...)
const REGONLY = 0x4000; // register form only (mod ignored: mov cr/dr)
const ASZ = 0x8000; // mnemonic chosen by address size (jcxz/jecxz)

interface OpDef {
  mn: string | [string, string];
  f: number;
  exec: Handler;
  sub?: number;
  group?: (OpDef | null)[];
}

const table: (OpDef | null)[] = new Array(512).fill(null);

function def(op: number, mn: string | [string, string], f: number, exec: Handler, sub = 0): void {
  table[op] = { mn, f, exec, sub };
}
function grp(op: number, f: number, entries: (OpDef | null)[]): void {
  table[op] = { mn: "Invalid", f: f | M, exec: invalid, group: entries };
}
function g(mn: string | [string, string], f: number, exec: Handler, sub = 0): OpDef {
  return { mn, f, exec, sub };
}

const aluNames = ["Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Cmp"];
for (let k = 0; k < 8; k++) {
  const b = k << 3;
  const lk = k === 7 ? 0 : LK;
  def(b, aluNames[k], M | B | lk, A.aluEG, k);
  def(b + 1, aluNames[k], M | lk, A.aluEG, k);
  def(b + 2, aluNames[k], M | B, A.aluGE, k);
  def(b + 3, aluNames[k], M, A.aluGE, k);
  def(b + 4, aluNames[k], I8 | B, A.aluAI, k);
  def(b + 5, aluNames[k], IZ, A.aluAI, k);
}
def(0x06, "Push", 0, G.pushSeg, 0);
def(0x07, "Pop", END, G.popSeg, 0);
def(0x0e, "Push", 0, G.pushSeg, 1);
def(0x16, "Push", 0, G.pushSeg, 2);
def(0x17, "Pop", END, G.popSeg, 2);
def(0x1e, "Push", 0, G.pushSeg, 3);
def(0x1f, "Pop", END, G.popSeg, 3);
def(0x27, "Daa", 0, A.daa);
def(0x2f, "Das", 0, A.das);
def(0x37, "Aaa", 0, A.aaa);
def(0x3f, "Aas", 0, A.aas);
for (let r = 0; r < 8; r++) {
  def(0x40 + r, "Inc", 0, A.incReg, r);
  def(0x48 + r, "Dec", 0, A.decReg, r);
  def(0x50 + r, "Push", 0, C.pushReg, r);
  def(0x58 + r, "Pop", 0, C.popReg, r);
  def(0x90 + r, r === 0 ? "Nop" : "Xchg", 0, r === 0 ? C.nop : A.xchgAcc, r);
  def(0xb0 + r, "Mov", I8 | B, A.movRegImm, r);
  def(0xb8 + r, "Mov", IZ, A.movRegImm, r);
  def(0x1c8 + r, "Bswap", 0, A.bswap, r);
}
def(0x60, ["Pusha", "Pushad"], 0, C.pusha);
def(0x61, ["Popa", "Popad"], 0, C.popa);
def(0x62, "Bound", M | MEM, A.bound);
def(0x63, "Arpl", M | W16, G.arpl);
def(0x68, "Push", IZ, C.pushImm);
def(0x69, "Imul", M | IZ, A.imul3);
def(0x6a, "Push", I8, C.pushImm);
def(0x6b, "Imul", M | I8, A.imul3);
def(0x6c, "Insb", B, S.ins);
def(0x6d, ["Insw", "Insd"], 0, S.ins);
def(0x6e, "Outsb", B, S.outs);
def(0x6f, ["Outsw", "Outsd"], 0, S.outs);
for (let c = 0; c < 16; c++) {
  const jn = ["Jo", "Jno", "Jb", "Jae", "Je", "Jne", "Jbe", "Ja", "Js", "Jns", "Jp", "Jnp", "Jl", "Jge", "Jle", "Jg"][c];
  def(0x70 + c, jn, J8 | END, C.jcc, c);
  def(0x180 + c, jn, JZ | END, C.jcc, c);
  def(0x190 + c, "Set" + jn.slice(1), M | B, A.setcc, c);
  def(0x140 + c, "Cmov" + jn.slice(1), M, A.cmovcc, c);
}
const grp1 = (f: number) => aluNames.map((n, k) => g(n, f | (k === 7 ? 0 : LK), A.aluEI, k));
grp(0x80, I8 | B, grp1(I8 | B));
grp(0x81, IZ, grp1(IZ));
grp(0x82, I8 | B, grp1(I8 | B));
grp(0x83, I8, grp1(I8));
def(0x84, "Test", M | B, A.testEG);
def(0x85, "Test", M, A.testEG);
def(0x86, "Xchg", M | B | LK, A.xchgEG);
def(0x87, "Xchg", M | LK, A.xchgEG);
def(0x88, "Mov", M | B, A.movEG);
def(0x89, "Mov", M, A.movEG);
def(0x8a, "Mov", M | B, A.movGE);
def(0x8b, "Mov", M, A.movGE);
def(0x8c, "Mov", M, G.movFromSeg);
def(0x8d, "Lea", M | MEM, A.lea);
def(0x8e, "Mov", M | W16 | END, G.movToSeg);
grp(0x8f, 0, [g("Pop", 0, C.popE), null, null, null, null, null, null, null]);
def(0x98, ["Cbw", "Cwde"], 0, A.cbw);
def(0x99, ["Cwd", "Cdq"], 0, A.cwd);
def(0x9a, "Call", AP | END, G.callFarImm);
def(0x9b, "Wait", 0, Y.fwait);
def(0x9c, ["Pushf", "Pushfd"], 0, Y.pushf);
def(0x9d, ["Popf", "Popfd"], END, Y.popf);
def(0x9e, "Sahf", 0, A.sahf);
def(0x9f, "Lahf", 0, A.lahf);
def(0xa0, "Mov", MO | B, A.movAccMoffs, 0);
def(0xa1, "Mov", MO, A.movAccMoffs, 0);
def(0xa2, "Mov", MO | B, A.movAccMoffs, 1);
def(0xa3, "Mov", MO, A.movAccMoffs, 1);
def(0xa4, "Movsb", B, S.movs);
def(0xa5, ["Movsw", "Movsd"], 0, S.movs);
def(0xa6, "Cmpsb", B, S.cmps);
def(0xa7, ["Cmpsw", "Cmpsd"], 0, S.cmps);
def(0xa8, "Test", I8 | B, A.testAI);
def(0xa9, "Test", IZ, A.testAI);
def(0xaa, "Stosb", B, S.stos);
def(0xab, ["Stosw", "Stosd"], 0, S.stos);
def(0xac, "Lodsb", B, S.lods);
def(0xad, ["Lodsw", "Lodsd"], 0, S.lods);
def(0xae, "Scasb", B, S.scas);
def(0xaf, ["Scasw", "Scasd"], 0, S.scas);
const shiftNames = ["Rol", "Ror", "Rcl", "Rcr", "Shl", "Shr", "Sal", "Sar"];
const grp2 = (f: number, src: number) => shiftNames.map((n, k) => g(n, f, A.shiftE, k | (src << 3)));
grp(0xc0, I8 | B, grp2(I8 | B, 0));
grp(0xc1, I8, grp2(I8, 0));
def(0xc2, "Ret", I16 | END, C.retNear);
def(0xc3, "Ret", END, C.retNear);
def(0xc4, "Les", M | MEM | END, G.loadFarPtr, 0);
def(0xc5, "Lds", M | MEM | END, G.loadFarPtr, 3);
grp(0xc6, I8 | B, [g("Mov", I8 | B, A.movEI), null, null, null, null, null, null, null]);
grp(0xc7, IZ, [g("Mov", IZ, A.movEI), null, null, null, null, null, null, null]);
def(0xc8, "Enter", I16I8, C.enter);
def(0xc9, "Leave", 0, C.leave);
def(0xca, "Retf", I16 | END, G.retFar);
def(0xcb, "Retf", END, G.retFar);
def(0xcc, "Int3", END, C.int3);
def(0xcd, "Int", I8 | END, C.intN);
def(0xce, "Into", END, C.into);
def(0xcf, ["Iret", "Iretd"], END, G.iret);
grp(0xd0, B, grp2(B, 1));
grp(0xd1, 0, grp2(0, 1));
grp(0xd2, B, grp2(B, 2));
grp(0xd3, 0, grp2(0, 2));
def(0xd4, "Aam", I8, A.aam);
def(0xd5, "Aad", I8, A.aad);
def(0xd6, "Salc", 0, A.salc);
def(0xd7, "Xlatb", 0, A.xlat);
for (let k = 0; k < 8; k++) def(0xd8 + k, "Fpu", M, Y.fpuEscape, k);
def(0xe0, "Loopne", J8 | END, C.loop, 0);
def(0xe1, "Loope", J8 | END, C.loop, 1);
def(0xe2, "Loop", J8 | END, C.loop, 2);
def(0xe3, ["Jcxz", "Jecxz"], J8 | END | ASZ, C.jcxz);
def(0xe4, "In", I8 | B, Y.inImm);
def(0xe5, "In", I8, Y.inImm);
def(0xe6, "Out", I8 | B, Y.outImm);
def(0xe7, "Out", I8, Y.outImm);
def(0xe8, "Call", JZ | END, C.callRel);
def(0xe9, "Jmp", JZ | END, C.jmpRel);
def(0xea, "Jmp", AP | END, G.jmpFarImm);
def(0xeb, "Jmp", J8 | END, C.jmpRel);
def(0xec, "In", B, Y.inDx);
def(0xed, "In", 0, Y.inDx);
def(0xee, "Out", B, Y.outDx);
def(0xef, "Out", 0, Y.outDx);
def(0xf1, "Int1", END, C.int1);
def(0xf4, "Hlt", END, Y.hlt);
def(0xf5, "Cmc", 0, A.cmc);
const grp3 = (f: number, immF: number) => [
  g("Test", f | immF, A.testEI),
  g("Test", f | immF, A.testEI),
  g("Not", f | LK, A.notE),
  g("Neg", f | LK, A.negE),
  g("Mul", f, A.mulE),
  g("Imul", f, A.imulE),
  g("Div", f, A.divE),
  g("Idiv", f, A.idivE),
];
grp(0xf6, B, grp3(B, I8));
grp(0xf7, 0, grp3(0, IZ));
def(0xf8, "Clc", 0, A.flagOp, 0);
def(0xf9, "Stc", 0, A.flagOp, 1);
def(0xfa, "Cli", 0, Y.cli);
def(0xfb, "Sti", END, Y.sti);
def(0xfc, "Cld", 0, A.flagOp, 4);
def(0xfd, "Std", 0, A.flagOp, 5);
grp(0xfe, B, [g("Inc", B | LK, A.incE), g("Dec", B | LK, A.decE), null, null, null, null, null, null]);
grp(0xff, 0, [
  g("Inc", LK, A.incE),
  g("Dec", LK, A.decE),
  g("Call", END, C.callE),
  g("Call", MEM | END, G.callFarMem),
  g("Jmp", END, C.jmpE),
  g("Jmp", MEM | END, G.jmpFarMem),
  g("Push", 0, C.pushE),
  null,
]);

// ---- two-byte opcodes (0x100 + second byte)
grp(0x100, W16, [
  g("Sldt", W16, G.sldt),
  g("Str", W16, G.str),
  g("Lldt", W16 | END, G.lldt),
  g("Ltr", W16 | END, G.ltr),
  g("Verr", W16, G.verr),
  g("Verw", W16, G.verw),
  null,
  null,
]);
grp(0x101, 0, [
  g("Sgdt", MEM, Y.sgdt),
  g("Sidt", MEM, Y.sidt),
  g("Lgdt", MEM | END, Y.lgdt),
  g("Lidt", MEM | END, Y.lidt),
  g("Smsw", W16, Y.smsw),
  null,
  g("Lmsw", W16 | END, Y.lmsw),
  g("Invlpg", MEM | END, Y.invlpgE),
]);
def(0x102, "Lar", M, G.lar);
def(0x103, "Lsl", M, G.lsl);
def(0x106, "Clts", END, Y.clts);
def(0x108, "Invd", 0, Y.cacheOp);
def(0x109, "Wbinvd", 0, Y.cacheOp);
def(0x10b, "Ud2", END, invalid);
def(0x10d, "Reservednop", M, C.nop);
for (let k = 0x118; k < 0x11f; k++) def(k, "Reservednop", M, C.nop); // hint NOPs (prefetch, endbr...)
def(0x11f, "Nop", M, C.nop);
def(0x120, "Mov", M | REGONLY, Y.movFromCr);
def(0x121, "Mov", M | REGONLY, Y.movFromDr);
def(0x122, "Mov", M | REGONLY | END, Y.movToCr);
def(0x123, "Mov", M | REGONLY | END, Y.movToDr);
def(0x130, "Wrmsr", END, Y.wrmsr);
def(0x131, "Rdtsc", 0, Y.rdtsc);
def(0x132, "Rdmsr", 0, Y.rdmsr);
def(0x134, "Sysenter", END, Y.sysenter);
def(0x135, "Sysexit", END, Y.sysexit);
def(0x1a0, "Push", 0, G.pushSeg, 4);
def(0x1a1, "Pop", END, G.popSeg, 4);
def(0x1a2, "Cpuid", 0, Y.cpuid);
def(0x1a3, "Bt", M, A.btG, 0);
def(0x1a4, "Shld", M | I8, A.shld);
def(0x1a5, "Shld", M, A.shld);
def(0x1a8, "Push", 0, G.pushSeg, 5);
def(0x1a9, "Pop", END, G.popSeg, 5);
def(0x1ab, "Bts", M | LK, A.btG, 1);
def(0x1ac, "Shrd", M | I8, A.shrd);
def(0x1ad, "Shrd", M, A.shrd);
def(0x1af, "Imul", M, A.imul2);
def(0x1b0, "Cmpxchg", M | B | LK, A.cmpxchg);
def(0x1b1, "Cmpxchg", M | LK, A.cmpxchg);
def(0x1b2, "Lss", M | MEM | END, G.loadFarPtr, 2);
def(0x1b3, "Btr", M | LK, A.btG, 2);
def(0x1b4, "Lfs", M | MEM | END, G.loadFarPtr, 4);
def(0x1b5, "Lgs", M | MEM | END, G.loadFarPtr, 5);
def(0x1b6, "Movzx", M, A.movzx, 1);
def(0x1b7, "Movzx", M, A.movzx, 2);
def(0x1b9, "Ud1", M | END, invalid);
grp(0x1ba, I8, [null, null, null, null, g("Bt", I8, A.btI, 0), g("Bts", I8 | LK, A.btI, 1), g("Btr", I8 | LK, A.btI, 2), g("Btc", I8 | LK, A.btI, 3)]);
def(0x1bb, "Btc", M | LK, A.btG, 3);
def(0x1bc, "Bsf", M, A.bsf);
def(0x1bd, "Bsr", M, A.bsr);
def(0x1be, "Movsx", M, A.movsx, 1);
def(0x1bf, "Movsx", M, A.movsx, 2);
def(0x1c0, "Xadd", M | B | LK, A.xadd);
def(0x1c1, "Xadd", M | LK, A.xadd);
grp(0x1c7, 0, [null, g("Cmpxchg8b", MEM | LK, A.cmpxchg8b), null, null, null, null, null, null]);
def(0x1ff, "Ud0", M | END, invalid);

// ---------------------------------------------------------------- decoding

/** Byte source for the decoder; returns -1 past the readable window. */
export interface CodeReader {
  byte(offset: number): number;
}

const regs16base = [3, 3, 5, 5, 6, 7, 5, 3]; // bx bx bp bp si di bp bx
const regs16index = [6, 7, 6, 7, -1, -1, -1, -1]; // si di si di

/** Thrown by readers when the instruction runs past the window (page end). */
class PastWindow {}
const pastWindow = new PastWindow();

/**
 * Decode one instruction from `rd` in a code segment of `codeSize` bits into `i`.
 * Returns false if the instruction ran past the window. Invalid encodings decode as #UD insns.
 */
export function decodeInsn(rd: CodeReader, codeSize: 16 | 32, i: Insn): boolean {
  let pos = 0;
  const next = (): number => {
    const b = rd.byte(pos++);
    if (b < 0) throw pastWindow;
    return b;
  };
  try {
    decodeInto(next, () => pos, codeSize, i);
  } catch (e) {
    if (e === pastWindow) return false;
    throw e;
  }
  return true;
}

function decodeInto(next: () => number, posf: () => number, codeSize: 16 | 32, i: Insn): void {
  let osize = codeSize === 32 ? 4 : 2;
  let asize = osize;
  let segOvr = -1;
  let rep = 0;
  let repByte = 0;
  let opsizePrefix = false;
  let lock = false;
  let b: number;
  let count = 0;
  for (;;) {
    b = next();
    if (++count > 15) return setInvalid(i, 15, false);
    switch (b) {
      case 0x66:
        osize = codeSize === 32 ? 2 : 4;
        opsizePrefix = true;
        continue;
      case 0x67:
        asize = codeSize === 32 ? 2 : 4;
        continue;
      case 0x26:
        segOvr = 0;
        continue;
      case 0x2e:
        segOvr = 1;
        continue;
      case 0x36:
        segOvr = 2;
        continue;
      case 0x3e:
        segOvr = 3;
        continue;
      case 0x64:
        segOvr = 4;
        continue;
      case 0x65:
        segOvr = 5;
        continue;
      case 0xf0:
        lock = true;
        continue;
      case 0xf2:
        rep = 2;
        repByte = b;
        continue;
      case 0xf3:
        rep = 1;
        repByte = b;
        continue;
    }
    break;
  }
  let op = b;
  if (b === 0x0f) op = 0x100 + next();
  // Three-byte maps (SSSE3/SSE4 and later: none implemented), keyed so that hooks can name their forms (invpcid).
  if (op === 0x138 || op === 0x13a) op = (op === 0x138 ? 0x200 : 0x300) + next();
  let d = table[op] ?? null;
  i.op = op;
  i.osize = osize;
  i.asize = asize;
  i.rep = rep;
  i.prefix = repByte || (opsizePrefix ? 0x66 : 0);
  i.lock = lock;
  i.mod = 3;
  i.reg = 0;
  i.rm = 0;
  i.base = -1;
  i.index = -1;
  i.scale = 0;
  i.disp = 0;
  i.imm = 0;
  i.imm2 = 0;
  i.seg = segOvr >= 0 ? segOvr : 3;
  i.hooked = false;
  if (!d) {
    if (op < 0x200) return setInvalid(i, posf(), true);
    // Every three-byte opcode has a ModRM: read it so a hooked form (66 0F 38 82 /r mem) is recognised.
    const modrm = next();
    i.mod = modrm >> 6;
    i.reg = (modrm >> 3) & 7;
    i.rm = modrm & 7;
    return finishInvalidModrm(next, posf, i, i.mod, i.rm, asize);
  }
  let f = d.f;
  if (f & M) {
    const modrm = next();
    const mod = modrm >> 6;
    const reg = (modrm >> 3) & 7;
    const rm = modrm & 7;
    i.mod = mod;
    i.reg = reg;
    i.rm = rm;
    if (d.group) {
      const e = d.group[reg];
      if (!e) return finishInvalidModrm(next, posf, i, mod, rm, asize);
      d = e;
      f = e.f | M;
    }
    if (f & REGONLY) {
      i.mod = 3;
    } else if (mod !== 3) {
      let defSeg = 3;
      if (asize === 4) {
        let base = rm;
        if (rm === 4) {
          const sib = next();
          i.scale = sib >> 6;
          const idx = (sib >> 3) & 7;
          i.index = idx === 4 ? -1 : idx;
          base = sib & 7;
          if (base === 5 && mod === 0) {
            base = -1;
            i.disp = dword(next);
          }
        } else if (rm === 5 && mod === 0) {
          base = -1;
          i.disp = dword(next);
        }
        i.base = base;
        if (base === 4 || base === 5) defSeg = 2;
        if (mod === 1) i.disp = (next() << 24) >> 24;
        else if (mod === 2) i.disp = dword(next);
      } else {
        if (mod === 0 && rm === 6) {
          i.disp = next() | (next() << 8);
        } else {
          i.base = regs16base[rm];
          i.index = regs16index[rm];
          if (rm === 2 || rm === 3 || rm === 6) defSeg = 2;
          if (mod === 1) i.disp = (next() << 24) >> 24;
          else if (mod === 2) i.disp = next() | (next() << 8);
        }
      }
      if (segOvr < 0) i.seg = defSeg;
    } else if (f & MEM) {
      return finishInvalid(next, posf, i, d, osize, asize);
    }
  }
  if (lock && (!(f & LK) || i.mod === 3)) return finishInvalid(next, posf, i, d, osize, asize);
  // F3 0F BC/BD/09 are tzcnt/lzcnt/wbnoinvd (not offered)
  if (rep === 1 && (op === 0x1bc || op === 0x1bd || op === 0x109)) return finishInvalid(next, posf, i, d, osize, asize);
  if ((op === 0x8c && i.reg > 5) || (op === 0x8e && (i.reg > 5 || i.reg === 1))) return finishInvalid(next, posf, i, d, osize, asize);
  if ((op === 0x120 || op === 0x122) && (i.reg === 1 || i.reg > 4)) return finishInvalid(next, posf, i, d, osize, asize);
  readImmediates(next, i, f, osize, asize);
  i.sub = d.sub ?? 0;
  i.size = f & B ? 1 : f & W16 ? 2 : osize;
  i.mn = typeof d.mn === "string" ? d.mn : d.mn[(f & ASZ ? asize : osize) === 4 ? 1 : 0];
  if (op === 0x90 && rep === 1) i.mn = "Pause";
  else if (op === 0xd7) i.base = 3; // xlat reads [(e)bx + al]
  else if (op === 0xd0 || op === 0xd1) i.imm = 1;
  else if (op === 0x11f && i.reg !== 0) i.mn = "Reservednop";
  i.exec = d.exec;
  i.inner = d.exec;
  i.len = posf();
  if (i.len > 15) setInvalid(i, i.len, false);
}

function readImmediates(next: () => number, i: Insn, f: number, osize: number, asize: number): void {
  if (f & I16I8) {
    i.imm = next() | (next() << 8);
    i.imm2 = next();
  } else if (f & AP) {
    i.imm = osize === 4 ? dword(next) : next() | (next() << 8);
    i.imm2 = next() | (next() << 8);
  } else if (f & MO) {
    i.disp = asize === 4 ? dword(next) : next() | (next() << 8);
    i.mod = 0;
  } else if (f & IZ) {
    i.imm = osize === 4 ? dword(next) : next() | (next() << 8);
  } else if (f & I16) {
    i.imm = next() | (next() << 8);
  } else if (f & J8) {
    i.imm = (next() << 24) >> 24;
  } else if (f & JZ) {
    i.imm = osize === 4 ? dword(next) : ((next() | (next() << 8)) << 16) >> 16;
  }
  if (f & I8 && !(f & I16I8)) {
    // imm8 after a ModRM (or alone); sign-extended where the handler wants it
    i.imm = f & B ? next() : (next() << 24) >> 24;
  }
}

function dword(next: () => number): number {
  return next() | (next() << 8) | (next() << 16) | (next() << 24);
}

function setInvalid(i: Insn, len: number, _known: boolean): void {
  i.mn = "Invalid";
  i.exec = invalid;
  i.inner = invalid;
  i.len = len;
}

/** An invalid group member: consume ModRM operands so the length is still meaningful. */
function finishInvalidModrm(next: () => number, posf: () => number, i: Insn, mod: number, rm: number, asize: number): void {
  try {
    if (mod !== 3) {
      if (asize === 4) {
        let base = rm;
        if (rm === 4) base = next() & 7;
        if ((rm === 5 || base === 5) && mod === 0) dword(next);
        if (mod === 1) next();
        else if (mod === 2) dword(next);
      } else {
        if (mod === 0 && rm === 6) next(), next();
        if (mod === 1) next();
        else if (mod === 2) next(), next();
      }
    }
  } catch (e) {
    if (e !== pastWindow) throw e;
  }
  setInvalid(i, posf(), true);
}

function finishInvalid(next: () => number, posf: () => number, i: Insn, d: OpDef, osize: number, asize: number): void {
  try {
    readImmediates(next, i, d.f, osize, asize);
  } catch (e) {
    if (e !== pastWindow) throw e;
  }
  setInvalid(i, posf(), true);
}

// ---------------------------------------------------------------- blocks

const MAX_BLOCK = 64;

function endsBlock(i: Insn): boolean {
  if (i.exec === invalid) return true;
  const d = table[i.op];
  if (!d) return true;
  if (d.group) {
    const e = d.group[i.reg];
    return !e || (e.f & END) !== 0;
  }
  return (d.f & END) !== 0;
}

function formMatches(i: Insn, cpu: Cpu): boolean {
  for (const f of cpu.hookedForms) {
    if (f.opcode !== i.op) continue;
    if (f.reg !== undefined && f.reg !== i.reg) continue;
    if (f.rm !== undefined && f.rm !== i.rm) continue;
    if (f.mem !== undefined && f.mem !== (i.mod !== 3)) continue;
    if (f.prefix !== undefined && f.prefix !== i.prefix) continue;
    return true;
  }
  return false;
}

function hookedExec(cpu: Cpu, i: Insn): void {
  const h = cpu.hooks.beforeInstruction;
  if (h) {
    const form = i.prefix ? { opcode: i.op, reg: i.reg, rm: i.rm, mem: i.mod !== 3, prefix: i.prefix } : { opcode: i.op, reg: i.reg, rm: i.rm, mem: i.mod !== 3 };
    const r = h(form, cpu.curEip, i.len);
    if (r === "stop") {
      cpu.eip = cpu.curEip;
      cpu.instructionCount--; // the run loop counts it; it did not execute
      cpu.stopReason = { kind: "hook" };
      cpu.breakBlock = true;
      return;
    }
    if (r === "handled") {
      cpu.breakBlock = true;
      return;
    }
  }
  i.inner(cpu, i);
}

/**
 * Decode a basic block starting at linear `lin` (physical `phys`, or -1 for uncached code).
 * The first instruction is fetched through the MMU (its faults propagate); later ones only
 * from the same physical page.
 */
export function decodeBlock(cpu: Cpu, lin: number, phys: number): Block {
  const codeSize = cpu.codeSize;
  const block: Block = { phys, codeSize, insns: [], cacheable: phys >= 0, valid: true, bytes: 0, hits: 0, fn: null, needsStack32: false };
  const ram = cpu.ram;
  const pageEnd = phys >= 0 ? (phys | 0xfff) + 1 : 0;
  let off = 0;
  const hooking = cpu.hookedForms.length > 0;
  for (;;) {
    const i = new Insn();
    let ok: boolean;
    if (phys >= 0) {
      const start = phys + off;
      ok = decodeInsn({ byte: (k) => (start + k < pageEnd ? ram[start + k] : -1) }, codeSize, i);
    } else ok = false;
    if (!ok) {
      if (block.insns.length > 0) break;
      // first instruction crosses the page (or comes from MMIO/ROM): fetch through the MMU
      const l0 = lin;
      decodeInsn({ byte: (k) => (k < 16 ? cpu.fetchCode8((l0 + k) | 0) : -1) }, codeSize, i);
      if (i.len === 0) setInvalid(i, 15, false);
      block.cacheable = false;
      block.insns.push(i);
      block.bytes = i.len;
      if (hooking && formMatches(i, cpu)) wrapHook(i);
      break;
    }
    if (hooking && formMatches(i, cpu)) wrapHook(i);
    block.insns.push(i);
    off += i.len;
    block.bytes = off;
    if (endsBlock(i) || block.insns.length >= MAX_BLOCK || phys + off >= pageEnd) break;
  }
  return block;
}

function wrapHook(i: Insn): void {
  i.hooked = true;
  i.exec = hookedExec;
}

/** Decode a standalone byte string (tests, disassembly); returns null past the end. */
export function decodeBytes(bytes: Uint8Array, codeSize: 16 | 32): Insn | null {
  const i = new Insn();
  const ok = decodeInsn({ byte: (k) => (k < bytes.length ? bytes[k] : -1) }, codeSize, i);
  return ok ? i : null;
}
