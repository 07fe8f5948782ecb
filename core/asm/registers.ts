// Register names GNU as knows for x86 (AT&T, without '%'), lower case.
import type { InstructionStatement, Statement } from "./types.js";

function range(prefix: string, from: number, to: number, suffix = ""): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(prefix + i + suffix);
  return out;
}

const NAMES: string[] = [
  "al", "cl", "dl", "bl", "ah", "ch", "dh", "bh", "spl", "bpl", "sil", "dil",
  "ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
  "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
  "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
  ...range("r", 8, 15), ...range("r", 8, 15, "d"), ...range("r", 8, 15, "w"), ...range("r", 8, 15, "b"), ...range("r", 8, 15, "l"),
  ...range("r", 16, 31), ...range("r", 16, 31, "d"), ...range("r", 16, 31, "w"), ...range("r", 16, 31, "b"),
  "es", "cs", "ss", "ds", "fs", "gs",
  "ip", "eip", "rip", "eiz", "riz", "flags", "eflags", "rflags",
  ...range("cr", 0, 15), ...range("dr", 0, 15), ...range("tr", 0, 7), ...range("db", 0, 15),
  "st", ...range("st(", 0, 7, ")"),
  ...range("mm", 0, 7), ...range("xmm", 0, 31), ...range("ymm", 0, 31), ...range("zmm", 0, 31),
  ...range("k", 0, 7), ...range("bnd", 0, 3), ...range("tmm", 0, 7),
];

const REGISTERS: ReadonlySet<string> = new Set(NAMES);
const CANONICAL: ReadonlyMap<string, string> = new Map(NAMES.map((n) => [n, n]));

/** The shared string for a known register name (so parsed operands do not each retain a copy). */
export function canonicalRegister(name: string): string {
  return CANONICAL.get(name) ?? name;
}
const SEGMENTS: ReadonlySet<string> = new Set(["es", "cs", "ss", "ds", "fs", "gs"]);

export function isRegister(name: string): boolean {
  return REGISTERS.has(name);
}

export function isSegmentRegister(name: string): boolean {
  return SEGMENTS.has(name);
}

/** Every register name (for completion lists and tests). */
export function registerNames(): readonly string[] {
  return NAMES;
}

/** Words gas accepts as an instruction prefix written before the mnemonic. */
export const PREFIX_WORDS: ReadonlySet<string> = new Set([
  "lock", "rep", "repe", "repz", "repne", "repnz", "data16", "data32", "addr16", "addr32",
  "cs", "ds", "es", "fs", "gs", "ss", "rex", "rex64", "rex.w", "rex.r", "rex.x", "rex.b",
  "notrack", "bnd", "xacquire", "xrelease",
]);

export function isPrefixWord(word: string): boolean {
  return PREFIX_WORDS.has(word);
}

/**
 * A statement that is only prefixes (`rep` or `lock` on a line of its own): GNU as emits their bytes
 * right before the next instruction, wherever that is written.
 */
export function isPrefixOnly(st: Statement): st is InstructionStatement {
  return st.kind === "instruction" && st.operands.length === 0 && PREFIX_WORDS.has(st.mnemonic) && st.prefixes.every((p) => PREFIX_WORDS.has(p.name));
}
