// The ground-truth check shared by the corpus and random-program tests: disassemble a plain and an
// afterburned object with objdump, classify every instruction from its bytes (iced-x86 → the
// catalogue's machine identity, not the text path the afterburner uses), and check that each
// sensitive instruction has exactly one .afterburn record covering it and its NOP padding, that no
// other records exist, and that the code is otherwise the same (branches land where they did).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Code, Decoder, DecoderOptions, Instruction } from "iced-x86";
import { CATALOGUE } from "../../../core/isa/index.js";
import type { CatalogueEntry } from "../../../core/isa/types.js";
import { objdumpDisassemble, readAnnotationRecords, readElf, type DisassemblyRow, type ElfFile } from "../../../core/toolchain/index.js";

const byIcedCode = new Map<string, CatalogueEntry>();
for (const e of CATALOGUE) for (const c of e.icedCodes) byIcedCode.set(c, e);

export interface Insn {
  section: string;
  offset: number;
  length: number;
  entry?: CatalogueEntry;
  text: string;
}

function classifyRows(rows: DisassemblyRow[], mode: 32 | 64): Insn[] {
  const ins = new Instruction();
  try {
    return rows.map((r) => {
      const dec = new Decoder(mode, Uint8Array.from(r.bytes), DecoderOptions.None);
      try {
        dec.decodeOut(ins);
        const name = Code[ins.code] as unknown as string;
        return { section: r.section, offset: r.offset, length: r.bytes.length, entry: byIcedCode.get(name), text: r.text };
      } finally {
        dec.free();
      }
    });
  } finally {
    ins.free();
  }
}

const BRANCH = /^((?:bnd |notrack )?(?:j[a-z]+|call[lqw]?|loop[a-z]*|xbegin))\s+([0-9a-f]+)(?:\s+<[^>]*>)?$/;
/** Alignment fill as GNU as writes it (and plain nops): it differs wherever padding moved the code. */
const FILL = /^(?:(?:data16|cs|ds|addr32)\s+)*(?:nop[wlq]?(?:\s.*)?|xchg %ax,%ax|lea 0x0\(%[er]([sd])i(?:,%[er]iz,1)?\),%[er]\1i|mov %([er]?[sd]i),%\2)$/;

/** Each instruction that is not fill, with where a branch to any offset up to it lands (its index). */
function codeOf(all: Insn[], section: string): { code: Insn[]; landing: (offset: number) => number } {
  const code = all.filter((i) => i.section === section && !FILL.test(i.text));
  return {
    code,
    // a branch into fill runs on to the next instruction that is not
    landing: (offset) => {
      const k = code.findIndex((i) => i.offset >= offset);
      return k < 0 ? code.length : k;
    },
  };
}

const NUMBER = /0x[0-9a-f]+/g;

/** A %rip-relative operand's displacement, and the address objdump's comment says it points at. */
const RIP = /^(.*?)(-?)0x([0-9a-f]+)\(%rip\)(.*?)\s+#\s*(?:0x)?([0-9a-f]+)\b.*$/;

/**
 * An instruction's text without objdump's comments and symbol notes, its branch target bare hex made
 * 0x. A %rip-relative displacement becomes the address it points at: padding between the two changes
 * the displacement, not the instruction it lands on.
 */
function normal(text: string): string {
  const rip = RIP.exec(text);
  const t = (rip ? `${rip[1]}0x${rip[5]}(%rip)${rip[4]}` : text).replace(/\s+#.*$/, "").replace(/\s+<[^>]*>/g, "");
  return t.replace(BRANCH, "$1 0x$2");
}

/**
 * Asserts that the afterburned code is the plain code with only NOP padding added: per section, the
 * same instructions in the same order (alignment fill aside), and every number that differs (a
 * branch target, a far jump's offset, an absolute address) lands on the same instruction in both.
 */
function checkSameCode(plainAll: Insn[], burntAll: Insn[], what: string): void {
  const sections = [...new Set([...plainAll, ...burntAll].map((i) => i.section))];
  for (const section of sections) {
    const p = codeOf(plainAll, section);
    const b = codeOf(burntAll, section);
    const shape = (l: Insn[]) => l.map((i) => normal(i.text).replace(NUMBER, "#"));
    assert.deepEqual(shape(b.code), shape(p.code), `${what}${section}: the afterburned code is not the plain code plus padding`);
    b.code.forEach((i, k) => {
      const nb = normal(i.text).match(NUMBER) ?? [];
      const np = normal(p.code[k].text).match(NUMBER) ?? [];
      nb.forEach((x, n) => {
        if (x === np[n]) return;
        assert.equal(b.landing(parseInt(x, 16)), p.landing(parseInt(np[n], 16)), `${what}${section}+0x${i.offset.toString(16)} ${i.text}: ${x} is not where ${np[n]} is in the plain code (${p.code[k].text})`);
      });
    });
  }
}

export interface TruthResult {
  elf: ElfFile;
  /** Every instruction of the afterburned object. */
  burntAll: Insn[];
  /** How many sensitive instructions the plain object has. */
  sensitive: number;
}

/**
 * Asserts the ground truth for one object pair; `sites` is what the afterburner reported (sites
 * left unannotated on purpose are matched by machine form). `what` prefixes every message.
 */
export async function checkAfterburnedObject(
  plain: string, burnt: string, sites: readonly { id: string; annotated: boolean }[], mode: 32 | 64, what = "",
): Promise<TruthResult> {
  const plainAll = classifyRows(await objdumpDisassemble(plain), mode);
  const plainInsns = plainAll.filter((i) => i.entry);
  const burntAll = classifyRows(await objdumpDisassemble(burnt), mode);
  const burntInsns = burntAll.filter((i) => i.entry);

  // Afterburning changes no instruction: the same sensitive instructions in the same order per section.
  const seq = (l: Insn[]) => l.map((i) => `${i.section}:${i.entry!.id}`);
  assert.deepEqual(seq(burntInsns), seq(plainInsns), `${what}the afterburned object's sensitive instructions differ from the plain one's`);

  const elf = readElf(readFileSync(burnt), burnt);
  const records = readAnnotationRecords(elf, ".afterburn");
  const notAnnotated = sites.filter((s) => !s.annotated).map((s) => CATALOGUE.find((e) => e.id === s.id)!);

  const used = new Set<number>();
  for (const insn of burntInsns) {
    const matching = records.map((r, i) => ({ r, i })).filter(({ r }) => r.section === insn.section && r.start === insn.offset);
    if (matching.length === 0) {
      const k = notAnnotated.findIndex((e) => e.icedCodes.some((c) => insn.entry!.icedCodes.includes(c)));
      assert.ok(k >= 0, `${what}${insn.section}+0x${insn.offset.toString(16)} ${insn.text}: sensitive (${insn.entry!.id}) but no .afterburn record`);
      notAnnotated.splice(k, 1);
      continue;
    }
    assert.equal(matching.length, 1, `${what}${insn.text} at 0x${insn.offset.toString(16)}: ${matching.length} records`);
    const { r, i } = matching[0];
    used.add(i);
    // The record covers the instruction and then only single-byte NOPs.
    const bytes = elf.section(insn.section)!.data();
    assert.ok(r.end >= insn.offset + insn.length, `${what}${insn.text}: record ends inside the instruction`);
    for (let a = insn.offset + insn.length; a < r.end; a++) {
      assert.equal(bytes[a], 0x90, `${what}${insn.text}: padding byte at +0x${a.toString(16)} is 0x${bytes[a].toString(16)}, not a NOP`);
    }
    assert.ok(r.end - insn.offset - insn.length > 0 || insn.entry!.padding === 0, `${what}${insn.text}: no padding`);
  }
  assert.deepEqual(notAnnotated.map((e) => e.id), [], `${what}sites reported not annotated, yet every instruction carries a record`);
  const stray = records.filter((_, i) => !used.has(i));
  assert.deepEqual(stray, [], `${what}records that do not start at a sensitive instruction`);
  checkSameCode(plainAll, burntAll, what);
  return { elf, burntAll, sensitive: plainInsns.length };
}
