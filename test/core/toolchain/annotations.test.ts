import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  annotationSections,
  readAnnotationRecords,
  readElf,
  relocationsFor,
  objdumpDisassemble,
  type DisassemblyRow,
  type ElfFile,
} from "../../../core/toolchain/index.js";
import { Workdir, parseReadelfRelocations } from "./fixtures.js";

const work = new Workdir();
after(() => work.dispose());

// Sites in two text sections, padded with NOPs and recorded the way the afterburner does it.
function source(mode: 32 | 64, word: ".long" | ".quad", align: number, section = ".afterburn"): string {
  const site = (insn: string, pad: number) => `1: ${insn}\n  .rept ${pad}\n  nop\n  .endr\n2:\n  .pushsection ${section}\n  .balign ${align}\n  ${word} 1b, 2b\n  .popsection\n`;
  return `
  .text
  .globl _start
_start:
  movl $1, %eax
${site("cli", 4)}
  addl $2, %eax
${site("pushf", 3)}
  .section .text.init, "ax", @progbits
  .globl init_entry
init_entry:
  nop
${site("sti", 5)}
  ret
  .pushsection .afterburn.pte_set
  .balign ${mode === 64 ? 8 : 4}
  ${mode === 64 ? ".quad" : ".long"} pte_site, pte_end
  .popsection
pte_site:
  movl %eax, (%ebx)
  .rept 15
  nop
  .endr
pte_end:
  hlt
`;
}

interface Site {
  section: string;
  offset: number;
  text: string;
}

/** The annotated instructions as objdump sees them: cli, pushf, sti and the pte store. */
function sitesFrom(rows: DisassemblyRow[]): Site[] {
  return rows
    .filter((r) => /^(cli|pushf|sti|mov %eax,\(%ebx\)|mov %eax,\(%rbx\))/.test(r.text))
    .map((r) => ({ section: r.section, offset: r.offset, text: r.text.split(" ")[0]! }));
}

function checkRelocationsAgainstReadelf(elf: ElfFile, readelfText: string, section: string): void {
  const expected = parseReadelfRelocations(readelfText).filter((r) => r.section.endsWith(section));
  const mine = relocationsFor(elf, section);
  assert.ok(expected.length > 0, `readelf lists relocations for ${section}`);
  assert.deepEqual(
    mine.map((r) => [r.offset, r.typeName]),
    expected.map((r) => [r.offset, r.type]),
  );
  for (const [i, r] of mine.entries()) {
    const e = expected[i]!;
    if (e.addend !== undefined) assert.equal(r.addend, e.addend, `addend of relocation ${i}`);
    const symName = r.symbol.type === "SECTION" ? elf.sections[r.symbol.sectionIndex]!.name : r.symbol.name;
    assert.equal(symName, e.symbol);
  }
}

const cases = [
  { mode: 32 as const, word: ".long" as const, align: 4, section: ".afterburn", as: "--32", ld: "elf_i386", objdumpM: [] as string[] },
  { mode: 64 as const, word: ".quad" as const, align: 8, section: ".afterburn", as: "--64", ld: "elf_x86_64", objdumpM: [] as string[] },
  { mode: 64 as const, word: ".long" as const, align: 4, section: ".afterburn32", as: "--64", ld: "elf_x86_64", objdumpM: [] as string[] },
];

for (const c of cases) {
  const tag = `ELF${c.mode} ${c.section} (${c.word})`;
  const base = `ab${c.mode}${c.section.replace(/\W/g, "")}`;

  test(`${tag}: records in the object resolve to section offsets of the padded sites`, async () => {
    const src = work.write(`${base}.s`, source(c.mode, c.word, c.align, c.section).replace(/%ebx/g, c.mode === 64 ? "%rbx" : "%ebx"));
    await work.run("as", [c.as, "-o", `${base}.o`, src]);
    const elf = readElf(work.read(`${base}.o`), `${base}.o`);
    assert.equal(elf.section(c.section)!.flags & 2, 0, "the annotation section is not allocated");
    const records = readAnnotationRecords(elf, c.section);
    const sites = sitesFrom(await objdumpDisassemble(work.path(`${base}.o`))).filter((s) => !s.text.startsWith("mov"));
    assert.equal(records.length, 3);
    assert.deepEqual(
      records.map((r) => ({ section: r.section, offset: r.start })),
      sites.map((s) => ({ section: s.section, offset: s.offset })),
    );
    // end = start + instruction + padding: cli(1)+4, pushf(1)+3, sti(1)+5.
    assert.deepEqual(
      records.map((r) => r.end - r.start),
      [5, 4, 6],
    );
    checkRelocationsAgainstReadelf(elf, await work.run("readelf", ["-r", "-W", `${base}.o`]), c.section);

    // The memory-annotation section (class-sized words) points at plain local labels in .text.init.
    const pte = readAnnotationRecords(elf, ".afterburn.pte_set");
    const pteSite = sitesFrom(await objdumpDisassemble(work.path(`${base}.o`))).find((s) => s.text.startsWith("mov"))!;
    assert.deepEqual(pte, [{ section: ".text.init", start: pteSite.offset, end: pteSite.offset + 2 + 15 /* mov (89 03) + padding */ }]);
    assert.deepEqual(
      annotationSections(elf).map((s) => s.name).sort(),
      [c.section, ".afterburn.pte_set"].sort(),
    );
  });

  test(`${tag}: records in the linked executable are the sites' addresses`, async () => {
    const src = work.write(`${base}x.s`, source(c.mode, c.word, c.align, c.section).replace(/%ebx/g, c.mode === 64 ? "%rbx" : "%ebx"));
    await work.run("as", [c.as, "-o", `${base}x.o`, src]);
    await work.run("ld", ["-m", c.ld, "-Ttext=0x200000", "-o", `${base}.elf`, `${base}x.o`]);
    const elf = readElf(work.read(`${base}.elf`), `${base}.elf`);
    const records = readAnnotationRecords(elf, c.section);
    const sites = sitesFrom(await objdumpDisassemble(work.path(`${base}.elf`))).filter((s) => !s.text.startsWith("mov"));
    assert.deepEqual(
      records.map((r) => r.start),
      sites.map((s) => s.offset),
    );
    assert.ok(records.every((r) => r.section === undefined && r.start >= 0x200000));
    assert.deepEqual(
      records.map((r) => r.end - r.start),
      [5, 4, 6],
    );
    // The bytes at each start are the instruction (cli fa, pushf 9c, sti fb) then NOPs, read from the load image.
    const image = elf.loadSegments();
    const byteAt = (a: number) => {
      const seg = image.find((s) => s.vaddr <= a && a < s.vaddr + s.bytes.length)!;
      return seg.bytes[a - seg.vaddr]!;
    };
    assert.deepEqual(
      records.map((r) => byteAt(r.start)),
      [0xfa, 0x9c, 0xfb],
    );
    assert.ok(records.every((r) => Array.from({ length: r.end - r.start - 1 }, (_, i) => byteAt(r.start + 1 + i)).every((b) => b === 0x90)));
  });
}

test("a missing annotation section gives no records; a ragged one is an error naming the file", async () => {
  const src = work.write("ragged.s", "  .text\n  nop\n  .section .afterburn\n  .long 1, 2, 3\n");
  await work.run("as", ["--32", "-o", "ragged.o", src]);
  const elf = readElf(work.read("ragged.o"), "ragged.o");
  assert.deepEqual(readAnnotationRecords(elf, ".afterburn.ioapic"), []);
  assert.throws(() => readAnnotationRecords(elf), (e: Error) => e.name === "ElfError" && /ragged\.o: section \.afterburn: size 0xc/.test(e.message));
});
