// Whether a mnemonic names an x86 instruction, in the spellings GNU as takes in AT&T syntax: iced-x86's
// mnemonics (every instruction it decodes), with GNU as's operand-size suffixes, condition-code
// aliases and AT&T names, and the catalogue's own spellings. A name outside them is not an
// instruction the afterburner can say anything about: GNU as rejects it ("no such instruction")
// unless it is a macro defined somewhere the analysis does not see.

import { MNEMONICS } from "../core/isa/classify.js";

/** Condition codes as GNU as spells them in jcc, setcc and cmovcc (aliases included). */
const CONDITIONS = ["o", "no", "b", "c", "nae", "nb", "nc", "ae", "e", "z", "ne", "nz", "be", "na", "nbe", "a", "s", "ns", "p", "pe", "np", "po", "l", "nge", "nl", "ge", "le", "ng", "nle", "g"];

/** AT&T names with no Intel mnemonic of the same spelling, and prefixes written as statements. */
const ATT_ONLY = [
  "cbtw", "cwtl", "cwtd", "cltd", "cltq", "cqto", "movabs", "ljmp", "lcall", "lret", "sysretl", "sysexitl", "iretl", "iretw", "pushal", "popal", "pushaw", "popaw",
  "pusha", "popa", "pushf", "popf", "fwait", "icebp", "xlat", "sal", "lock", "rep", "repe", "repz", "repne", "repnz", "data16", "data32", "addr16", "addr32",
  "cs", "ds", "es", "fs", "gs", "ss", "rex", "rex64", "notrack", "bnd", "xacquire", "xrelease", "int3", "ud2a", "ud2b", "loopz", "loopnz", "loopw", "loopl",
  "jecxz", "jcxz", "jrcxz", "sysexit", "movsbw", "movsbl", "movsbq", "movswl", "movswq", "movslq", "movzbw", "movzbl", "movzbq", "movzwl", "movzwq",
];

/** String instructions: without a suffix they take the size from their operands (`stos %eax, %es:(%edi)`). */
const STRINGS = ["movs", "cmps", "stos", "lods", "scas", "ins", "outs"];

/** SSE/AVX compare predicates GNU as folds into the mnemonic (`cmpltps`, `vcmpnge_uqpd`, `vpcmpnequb`). */
const SSE_PREDICATES = ["eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord"];
const AVX_PREDICATES = [
  ...SSE_PREDICATES, "eq_uq", "nge", "ngt", "false", "neq_oq", "ge", "gt", "true", "eq_os", "lt_oq", "le_oq", "unord_s", "neq_us", "nlt_uq", "nle_uq", "ord_s",
  "eq_us", "nge_uq", "ngt_uq", "false_os", "neq_os", "ge_oq", "gt_oq", "true_us",
];
const INTEGER_PREDICATES = ["eq", "lt", "le", "false", "neq", "nlt", "nle", "true", "gt", "ge"];

/** x87 operand sizes (flds/fldl/fldt, fildll) and integer ones (movl, pushw). */
const SUFFIXES = ["b", "w", "l", "q", "s", "t", "ll"];

let names: Set<string> | undefined | null;

function intelMnemonics(): string[] | undefined {
  try {
    // Loaded on first use only: the language server otherwise has no need of iced-x86 (a WebAssembly module).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Mnemonic } = require("iced-x86") as { Mnemonic: Record<string, number | string> };
    return Object.keys(Mnemonic).filter((k) => Number.isNaN(Number(k)) && k !== "INVALID").map((k) => k.toLowerCase());
  } catch {
    return undefined;
  }
}

/** Undefined when iced-x86 cannot be loaded: then no name can be called unknown. */
function build(): Set<string> | undefined {
  const intel = intelMnemonics();
  if (intel === undefined) return undefined;
  const out = new Set<string>();
  const add = (m: string) => {
    out.add(m);
    for (const s of SUFFIXES) out.add(m + s);
  };
  for (const m of intel) add(m);
  for (const c of CONDITIONS) {
    out.add(`j${c}`);
    add(`set${c}`);
    add(`cmov${c}`);
  }
  for (const m of ATT_ONLY) add(m);
  for (const m of STRINGS) add(m);
  for (const p of SSE_PREDICATES) for (const t of ["ps", "pd", "ss", "sd"]) out.add(`cmp${p}${t}`);
  for (const p of AVX_PREDICATES) for (const t of ["ps", "pd", "ss", "sd", "ph", "sh"]) out.add(`vcmp${p}${t}`);
  for (const p of INTEGER_PREDICATES) {
    for (const t of ["b", "w", "d", "q", "ub", "uw", "ud", "uq"]) {
      out.add(`vpcmp${p}${t}`);
      out.add(`vpcom${p}${t}`);
    }
  }
  for (const a of ["lq", "hq"]) for (const b of ["lq", "hq"]) for (const v of ["", "v"]) out.add(`${v}pclmul${a}${b}dq`);
  for (const m of MNEMONICS) out.add(m.mnemonic);
  return out;
}

/** Whether `mnemonic` (any case) is an instruction GNU as knows, as far as the tables above tell. */
export function isKnownInstruction(mnemonic: string): boolean {
  if (names === undefined) names = build() ?? null;
  const m = mnemonic.toLowerCase();
  // REX written out as a prefix statement: `rex.w`, `rex.wrxb` (each of w, r, x, b at most once, in that order).
  return names === null || names.has(m) || /^rex\.(?=.)w?r?x?b?$/.test(m);
}
