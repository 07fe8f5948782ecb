// Register names by kind, as GNU as spells them (lower case, without '%'). The language server uses them for
// completion and hovers; classification uses the segment, control and debug sets.

export const SEGMENT_REGISTERS: readonly string[] = ["es", "cs", "ss", "ds", "fs", "gs"];

/** Control registers GNU as accepts; cr0, cr2, cr3, cr4 (and cr8 in 64-bit code) exist on the processor. */
export const CONTROL_REGISTERS: readonly string[] = Array.from({ length: 16 }, (_, i) => `cr${i}`);

/** Debug registers in both spellings GNU as accepts (%db7 and %dr7 name the same register). */
export const DEBUG_REGISTERS: readonly string[] = [
  ...Array.from({ length: 8 }, (_, i) => `db${i}`),
  ...Array.from({ length: 8 }, (_, i) => `dr${i}`),
];

const GP32 = ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp"];
const GP16 = ["ax", "bx", "cx", "dx", "si", "di", "bp", "sp"];
const GP8 = ["al", "bl", "cl", "dl", "ah", "bh", "ch", "dh"];
const GP64 = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"];
const EXT = Array.from({ length: 8 }, (_, i) => i + 8);

/** General-purpose registers; the 64-bit-only names (r8–r15 and their parts, sil, dil, spl, bpl) come last. */
export const GENERAL_REGISTERS: readonly string[] = [
  ...GP32,
  ...GP16,
  ...GP8,
  ...GP64,
  "sil", "dil", "spl", "bpl",
  ...EXT.flatMap((n) => [`r${n}`, `r${n}d`, `r${n}w`, `r${n}b`]),
];

export type RegisterKind = "general" | "segment" | "control" | "debug";

export const REGISTERS_BY_KIND: Readonly<Record<RegisterKind, readonly string[]>> = {
  general: GENERAL_REGISTERS,
  segment: SEGMENT_REGISTERS,
  control: CONTROL_REGISTERS,
  debug: DEBUG_REGISTERS,
};

const kindOf = new Map<string, RegisterKind>();
for (const [kind, regs] of Object.entries(REGISTERS_BY_KIND) as [RegisterKind, readonly string[]][]) {
  for (const r of regs) kindOf.set(r, kind);
}

/** The kind of a register name (case-insensitive, with or without '%'), or undefined for others (x87, SSE...). */
export function registerKind(name: string): RegisterKind | undefined {
  const n = name.toLowerCase();
  return kindOf.get(n.startsWith("%") ? n.slice(1) : n);
}
