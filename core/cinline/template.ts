// GCC extended-asm templates: decode the C string literals into the template text (remembering each
// character's file position), then replace GCC's operand references (%0, %[name], %w1, %l0, %=, %%) with
// representative AT&T operands so the statement can be classified as the assembler will see it.

import { PREFIX_WORDS } from "../asm/registers.js";

export interface FilePoint {
  row: number;
  column: number;
  /** Columns the character stands for, when not 1: text pasted in from a string macro stands at its name. */
  width?: number;
}

export interface AsmOperand {
  /** `[name]` when given. */
  name?: string;
  /** Constraint text without quotes, e.g. "=r", "+a", "Nd", "m". */
  constraint: string;
}

export interface SubstitutedTemplate {
  text: string;
  /** map[i] = index into the decoded template of output character i (map.length = text.length + 1). */
  map: number[];
  /** ends[i] = index just past the template element output character i came from (a whole `%w1` for its `%dx`). */
  ends: number[];
}

const REG32: Record<string, string> = { a: "eax", b: "ebx", c: "ecx", d: "edx", S: "esi", D: "edi", A: "eax" };
const WIDTH: Record<string, Record<string, string>> = {
  b: { eax: "al", ebx: "bl", ecx: "cl", edx: "dl", esi: "sil", edi: "dil" },
  h: { eax: "ah", ebx: "bh", ecx: "ch", edx: "dh", esi: "sil", edi: "dil" },
  w: { eax: "ax", ebx: "bx", ecx: "cx", edx: "dx", esi: "si", edi: "di" },
  k: { eax: "eax", ebx: "ebx", ecx: "ecx", edx: "edx", esi: "esi", edi: "edi" },
  q: { eax: "rax", ebx: "rbx", ecx: "rcx", edx: "rdx", esi: "rsi", edi: "rdi" },
};

/**
 * Port I/O: GCC prints a register operand in the width of its C expression's type, which the text
 * alone does not tell; for in/out the instruction does. The port register is %dx (a `u16 port` in
 * "Nd"(port)), the data register as wide as the suffix (`inb %1, %0` with "=a"(u8) is `inb %dx, %al`).
 */
const PORT_IO = /^(in|out)([bwl]?)$/;
const SUFFIX_WIDTH: Record<string, string> = { b: "b", w: "w", l: "k" };

/** What GCC would most likely print for an operand with this constraint: a register, memory or an immediate. */
function operandText(operands: readonly AsmOperand[], index: number, modifier: string, mnemonic: string, depth = 0): string {
  const op = operands[index];
  if (op === undefined || depth > 4) return "%eax";
  const c = op.constraint.replace(/[=+&%*#!?]/g, "");
  if (/^[0-9]+$/.test(c)) return operandText(operands, Number(c), modifier, mnemonic, depth + 1);
  let reg: string | undefined;
  for (const ch of c) if (REG32[ch] !== undefined) { reg = REG32[ch]; break; }
  if (reg === undefined && /[rqRQlgxyU]/.test(c)) reg = "eax";
  // %z: the operand's size as an instruction suffix (`pop%z0` is `popl` for a 32-bit operand), which is
  // the width the registers here are printed in.
  if (modifier === "z") return "l";
  // %a: the operand as an address (`invlpg %a0` with "r"(p) is `invlpg (%eax)`; a constant is bare).
  if (modifier === "a") return reg !== undefined || /[moVp<>]/.test(c) ? `(%${reg ?? "eax"})` : "0";
  if (reg !== undefined) {
    const io = modifier === "" ? PORT_IO.exec(mnemonic) : null;
    if (io !== null) modifier = reg === "edx" ? "w" : (SUFFIX_WIDTH[io[2]!] ?? "");
    const r = modifier && WIDTH[modifier] ? WIDTH[modifier][reg] ?? reg : reg;
    return `%${r}`;
  }
  if (/[moVp<>]/.test(c)) return "(%eax)";
  // Immediates: %c/%n/%P print the bare constant.
  return modifier === "c" || modifier === "n" || modifier === "P" ? "0" : "$0";
}

/**
 * Replaces operand references in a decoded template. `labels` are the `asm goto` labels, numbered after all
 * operands (%l<n>). `{att|intel}` dialect alternatives keep the AT&T one.
 */
export function substituteTemplate(template: string, operands: readonly AsmOperand[], labels: readonly string[]): SubstitutedTemplate {
  let text = "";
  const map: number[] = [];
  const ends: number[] = [];
  const emit = (s: string, at: number, end: number) => {
    text += s;
    for (let k = 0; k < s.length; k++) {
      map.push(at);
      ends.push(end);
    }
  };
  const n = template.length;
  let dialect = 0; // 0 outside {...}; 1 in the AT&T alternative; 2 in a later alternative (dropped)
  for (let i = 0; i < n; i++) {
    const ch = template[i];
    if (ch === "{" && dialect === 0) {
      dialect = 1;
      continue;
    }
    if (dialect > 0 && ch === "|") {
      dialect = 2;
      continue;
    }
    if (dialect > 0 && ch === "}") {
      dialect = 0;
      continue;
    }
    if (dialect === 2) continue;
    if (ch !== "%") {
      emit(ch, i, i + 1);
      continue;
    }
    const next = template[i + 1];
    if (next === "%" || next === "{" || next === "|" || next === "}") {
      emit(next, i, i + 2);
      i++;
      continue;
    }
    if (next === "=") {
      emit("0", i, i + 2);
      i++;
      continue;
    }
    // %[mod](digits | [name])
    let j = i + 1;
    let modifier = "";
    if (j < n && /[a-zA-Z]/.test(template[j]) && (/[0-9[]/.test(template[j + 1] ?? ""))) modifier = template[j++];
    let index: number | undefined;
    if (template[j] === "[") {
      const close = template.indexOf("]", j);
      if (close > j) {
        const name = template.slice(j + 1, close);
        const k = operands.findIndex((o) => o.name === name);
        index = k >= 0 ? k : labels.indexOf(name) >= 0 ? operands.length + labels.indexOf(name) : undefined;
        j = close + 1;
      }
    } else {
      let d = j;
      while (d < n && template[d] >= "0" && template[d] <= "9") d++;
      if (d > j) {
        index = Number(template.slice(j, d));
        j = d;
      }
    }
    if (index === undefined) {
      // Not an operand reference (e.g. a lone % in a plain asm without operands): keep it as written.
      emit(ch, i, i + 1);
      continue;
    }
    if (modifier === "l" || index >= operands.length) {
      const label = labels[index - operands.length];
      emit(label !== undefined ? `.L${label}` : ".Llabel", i, j);
    } else emit(operandText(operands, index, modifier, statementMnemonic(text)), i, j);
    i = j - 1;
  }
  map.push(n);
  ends.push(n);
  return { text, map, ends };
}

/** The mnemonic (lower case, after any labels and prefixes) of the statement `text` ends in. */
function statementMnemonic(text: string): string {
  const start = Math.max(text.lastIndexOf("\n"), text.lastIndexOf(";")) + 1;
  const words = text.slice(start).replace(/^\s*([A-Za-z0-9_.$]+:\s*)*/, "").trim().toLowerCase().split(/[\s,]+/);
  while (words.length > 1 && PREFIX_WORDS.has(words[0]!)) words.shift();
  return words[0] ?? "";
}

/** Decodes a C escape sequence (`\n`, `\t`, `\\`, `\"`, octal, hex) to its character. */
export function decodeEscape(s: string): string {
  const c = s[1];
  switch (c) {
    case "n": return "\n";
    case "t": return "\t";
    case "r": return "\r";
    case "a": return "\x07";
    case "b": return "\b";
    case "f": return "\f";
    case "v": return "\v";
    case "e": return "\x1b";
    case "x": return String.fromCharCode(parseInt(s.slice(2), 16) & 0xff || 0);
    default:
      if (c !== undefined && c >= "0" && c <= "7") return String.fromCharCode(parseInt(s.slice(1), 8) & 0xff);
      return c ?? "";
  }
}
