// Lookups over the catalogue: text classification (parsed AT&T statements), machine classification (decoded
// opcode forms), hook lists for the emulator and padding per mode. All indexes are built once at load.

import type { CodeMode, Operand, Prefix } from "../asm/types.js";
import { CATALOGUE } from "./catalogue.js";
import type { CatalogueEntry, OpcodeForm, OperandCondition } from "./types.js";

export type Mode = CodeMode;

/** The part of a parsed instruction that classification needs (an InstructionStatement fits). */
export interface ClassifiableInstruction {
  mnemonic: string;
  operands: readonly Operand[];
  prefixes?: readonly Prefix[];
}

/** What the machine decoder reports (the emulator's InstructionForm has this shape). */
export interface DecodedForm {
  opcode: number;
  reg?: number;
  rm?: number;
  mem?: boolean;
  /** The candidate mandatory prefix: the last F2/F3 before the opcode, else 66 when present (see OpcodeForm). */
  prefix?: number;
}

function modeKey(mode: Mode): "ia32" | "x86-64" {
  return mode === 64 ? "x86-64" : "ia32";
}

/** True when the entry exists in code of this size (16- and 32-bit code share the IA-32 forms). */
export function entryInMode(entry: CatalogueEntry, mode: Mode): boolean {
  return entry.modes.includes(modeKey(mode));
}

const byId = new Map<string, CatalogueEntry>();
for (const e of CATALOGUE) {
  if (byId.has(e.id)) throw new Error(`core/isa: duplicate catalogue id "${e.id}"`);
  byId.set(e.id, e);
}

export function entryById(id: string): CatalogueEntry | undefined {
  return byId.get(id);
}

// ---------- text classification ----------

/** Per spelling: its candidate entries, and (when every candidate needs a register operand) the registers that can make it sensitive. */
interface MnemonicIndex {
  entries: CatalogueEntry[];
  /** Set when all candidates have a "register" condition: a quick reject for the common `movl %eax,%ebx`. */
  anyOf?: Set<string>;
}

const byMnemonic = new Map<string, MnemonicIndex>();
for (const e of CATALOGUE) {
  for (const m of e.mnemonics) {
    const idx = byMnemonic.get(m);
    if (idx) idx.entries.push(e);
    else byMnemonic.set(m, { entries: [e] });
  }
}
for (const idx of byMnemonic.values()) {
  if (idx.entries.every((e) => e.condition.kind === "register")) {
    idx.anyOf = new Set(idx.entries.flatMap((e) => (e.condition.kind === "register" ? e.condition.registers : [])));
  }
}
const registerSets = new Map<OperandCondition, Set<string>>();
for (const e of CATALOGUE) {
  if (e.condition.kind === "register") registerSets.set(e.condition, new Set(e.condition.registers));
}

function isDx(op: Operand): boolean {
  // `%dx` or `(%dx)`: GNU as accepts both for the port operand.
  if (op.kind === "reg") return op.reg === "dx";
  return op.kind === "mem" && op.base === "dx" && !op.index && op.disp === "" && !op.segment;
}

function isNamedRegister(op: Operand | undefined, set: Set<string>): boolean {
  // A segment override inside a memory operand is MemoryOperand.segment, never a "reg" operand: it never counts.
  return op !== undefined && op.kind === "reg" && !op.indirect && set.has(op.reg);
}

function conditionHolds(c: OperandCondition, ops: readonly Operand[]): boolean {
  switch (c.kind) {
    case "any":
      return true;
    case "count":
      return ops.length === c.count;
    case "first": {
      const op = ops[0];
      if (!op) return false;
      if (c.operand === "dx") return isDx(op);
      return op.kind === c.operand;
    }
    case "register": {
      const set = registerSets.get(c)!;
      if (c.position === "either") return ops.some((op) => isNamedRegister(op, set));
      // AT&T order: source first, destination last; a lone operand is neither.
      if (ops.length < 2) return false;
      return isNamedRegister(c.position === "src" ? ops[0] : ops[ops.length - 1], set);
    }
    case "far":
      if (c.form === "direct") return ops.length === 2 && ops[0]!.kind === "imm" && ops[1]!.kind === "imm";
      return ops.length === 1 && (ops[0]!.kind === "mem" || ops[0]!.kind === "reg") && ops[0]!.indirect;
    case "port": {
      const hasImm = ops.some((op) => op.kind === "imm");
      if (c.form === "imm") return hasImm;
      // `inb`/`outb` with no operands, or one of them %dx / (%dx).
      return !hasImm && (ops.length === 0 || ops.some(isDx));
    }
  }
}

// GNU as assembles `int $3` (any constant 3) as the one-byte int3 (CC), not CD 03: that is the site.
const INT = byId.get("int");
const INT3 = byId.get("int3")!;

/**
 * The catalogue entry a parsed AT&T instruction is, in code of the given size, or undefined when it is not
 * sensitive. Prefixes (lock, rep, data16, segment overrides) never change the answer.
 */
export function classify(insn: ClassifiableInstruction, mode: Mode): CatalogueEntry | undefined {
  // The parser already lower-cases mnemonics; only a miss pays for toLowerCase.
  const idx = byMnemonic.get(insn.mnemonic) ?? byMnemonic.get(insn.mnemonic.toLowerCase());
  if (!idx) return undefined;
  const ops = insn.operands;
  if (idx.anyOf && !ops.some((op) => isNamedRegister(op, idx.anyOf!))) return undefined;
  for (const e of idx.entries) {
    if (!entryInMode(e, mode)) continue;
    if (conditionHolds(e.condition, ops)) return e === INT && ops[0]!.kind === "imm" && ops[0]!.value === 3 ? INT3 : e;
  }
  return undefined;
}

/** Every spelling the catalogue knows, with the entries it can name (for completion and quick lookups). */
export interface MnemonicNote {
  mnemonic: string;
  entries: readonly string[];
  /** One line for completion details, e.g. "sensitive: pushf — Pushes EFLAGS ..." or "sensitive with a segment register operand". */
  note: string;
}

export const MNEMONICS: readonly MnemonicNote[] = [...byMnemonic.entries()]
  .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  .map(([mnemonic, { entries }]) => {
    const always = entries.filter((e) => e.condition.kind === "any");
    const note =
      always.length > 0
        ? `${always[0]!.class}: ${always[0]!.meaning}`
        : `sensitive ${describeConditions(entries)}`;
    return { mnemonic, entries: entries.map((e) => e.id), note };
  });

function describeConditions(entries: readonly CatalogueEntry[]): string {
  const parts = new Set<string>();
  for (const e of entries) {
    const c = e.condition;
    if (c.kind === "register") {
      const k = c.registers[0]!.startsWith("cr") ? "control" : c.registers[0]!.startsWith("d") ? "debug" : "segment";
      parts.add(`with a ${k} register operand`);
    } else if (c.kind === "port") parts.add(c.form === "imm" ? "with an immediate port" : "with the port in %dx");
    else if (c.kind === "far") parts.add(c.form === "direct" ? "as a direct far transfer" : "as an indirect far transfer");
    else if (c.kind === "first") parts.add(`with an ${c.operand} operand`);
    else if (c.kind === "count") parts.add(`with ${c.count} operands`);
  }
  return [...parts].join(", ");
}

// ---------- machine classification ----------

/**
 * Opcodes that are invalid or mean something else in 64-bit mode: push/pop of es/cs/ss/ds, arpl (63 = movsxd),
 * lds/les (C4/C5 = VEX), into, direct far jmp/call.
 */
const LEGACY_ONLY_OPCODES: ReadonlySet<number> = new Set([0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x63, 0xc4, 0xc5, 0xce, 0xea, 0x9a]);

/** mov to/from control and debug registers: ModRM.reg names the register (with REX.R in 64-bit mode). */
const REGISTER_NUMBER_OPCODES: ReadonlySet<number> = new Set([0x120, 0x121, 0x122, 0x123]);

const byOpcode = new Map<number, { entry: CatalogueEntry; form: OpcodeForm }[]>();
for (const entry of CATALOGUE) {
  for (const form of entry.opcodes) {
    const list = byOpcode.get(form.opcode);
    const item = { entry, form };
    if (list) list.push(item);
    else byOpcode.set(form.opcode, [item]);
  }
}
// Most specific forms first, so that e.g. 0F 01 /7 rm=0 (swapgs) wins over a looser form.
for (const list of byOpcode.values()) {
  const spec = (f: OpcodeForm) =>
    (f.reg !== undefined ? 1 : 0) + (f.rm !== undefined ? 1 : 0) + (f.mem !== undefined ? 1 : 0) + (f.prefix !== undefined ? 1 : 0);
  list.sort((a, b) => spec(b.form) - spec(a.form));
}

function formMatches(want: OpcodeForm, got: DecodedForm): boolean {
  if (want.reg !== undefined) {
    if (got.reg === undefined) return false;
    const reg = REGISTER_NUMBER_OPCODES.has(want.opcode) ? got.reg : got.reg & 7;
    if (reg !== want.reg) return false;
  }
  if (want.rm !== undefined && (got.rm === undefined || (got.rm & 7) !== want.rm)) return false;
  if (want.mem !== undefined && got.mem !== want.mem) return false;
  if (want.prefix !== undefined && got.prefix !== want.prefix) return false;
  return true;
}

/** The catalogue entry for a decoded instruction form, or undefined when the form is not sensitive. */
export function entryForForm(form: DecodedForm, mode: Mode): CatalogueEntry | undefined {
  if (mode === 64 && LEGACY_ONLY_OPCODES.has(form.opcode)) return undefined;
  const list = byOpcode.get(form.opcode);
  if (!list) return undefined;
  for (const { entry, form: want } of list) {
    if (!entryInMode(entry, mode)) continue;
    if (formMatches(want, form)) return entry;
  }
  return undefined;
}

/** Every machine form in the catalogue that exists in this mode (what the wedge asks the emulator to report). */
export function hookForms(mode: Mode): OpcodeForm[] {
  const seen = new Set<string>();
  const out: OpcodeForm[] = [];
  for (const e of CATALOGUE) {
    if (!entryInMode(e, mode)) continue;
    for (const f of e.opcodes) {
      if (mode === 64 && LEGACY_ONLY_OPCODES.has(f.opcode)) continue;
      const key = `${f.opcode}/${f.reg}/${f.rm}/${f.mem}/${f.prefix}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...f });
    }
  }
  return out;
}

// ---------- sizes ----------

/** NOP bytes the afterburner emits after an instance of this entry in code of this size. */
export function paddingFor(entry: CatalogueEntry, mode: Mode): number {
  return mode === 64 ? (entry.padding64 ?? entry.padding) : entry.padding;
}

/** Bytes the wedge's rewrite needs at a site of this entry in code of this size. */
export function roomFor(entry: CatalogueEntry, mode: Mode): number {
  return mode === 64 ? (entry.rewrite.room64 ?? entry.rewrite.room) : entry.rewrite.room;
}
