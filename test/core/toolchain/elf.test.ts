import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readElf, PT_LOAD, SHF_ALLOC, SHT_NOBITS, type ElfFile } from "../../../core/toolchain/index.js";
import { sectionSizes } from "../../../core/toolchain/elf.js";
import { execFileSync } from "node:child_process";
import { Workdir, parseReadelfSections, parseReadelfSegments, parseReadelfSymbols } from "./fixtures.js";

const work = new Workdir();
after(() => work.dispose());

const KERNEL = `
  .text
  .globl _start
  .type _start, @function
_start:
  cli
  movl $counter, %eax
  call helper
  hlt
  .size _start, . - _start
helper:
  nop
  nop
  ret
  .data
  .globl counter
  .type counter, @object
counter:
  .long 42
  .size counter, 4
  .bss
buffer:
  .skip 64
`;

async function build(mode: 32 | 64): Promise<{ obj: ElfFile; exe: ElfFile; objName: string; exeName: string }> {
  const src = work.write(`k${mode}.s`, KERNEL);
  const objName = `k${mode}.o`;
  const exeName = `k${mode}.elf`;
  await work.run("as", [mode === 32 ? "--32" : "--64", "-o", objName, src]);
  await work.run("ld", ["-m", mode === 32 ? "elf_i386" : "elf_x86_64", "-Ttext=0x100000", "-o", exeName, objName]);
  return { obj: readElf(work.read(objName), objName), exe: readElf(work.read(exeName), exeName), objName, exeName };
}

for (const mode of [32, 64] as const) {
  test(`ELF${mode}: header, sections and symbols match readelf (object and executable)`, async () => {
    const { obj, exe, objName, exeName } = await build(mode);
    assert.equal(obj.class, mode);
    assert.equal(obj.type, "REL");
    assert.equal(exe.type, "EXEC");
    assert.equal(obj.machine, mode === 32 ? "EM_386" : "EM_X86_64");
    for (const [elf, name] of [
      [obj, objName],
      [exe, exeName],
    ] as const) {
      const expected = parseReadelfSections(await work.run("readelf", ["-S", "-W", name]));
      assert.ok(expected.length > 3);
      assert.equal(elf.sections.length, expected.length + 1);
      for (const s of expected) {
        const mine = elf.sections[s.index]!;
        assert.deepEqual(
          [mine.name, mine.addr, mine.offset, mine.size, mine.entsize, mine.link, mine.info, mine.addralign],
          [s.name, s.addr, s.offset, s.size, s.entsize, s.link, s.info, s.align],
          `section ${s.name} of ${name}`,
        );
        assert.equal((mine.flags & SHF_ALLOC) !== 0, s.flags.includes("A"), `alloc flag of ${s.name}`);
        assert.equal(mine.type === SHT_NOBITS, s.type === "NOBITS");
        assert.equal(mine.data().length, s.type === "NOBITS" ? 0 : s.size);
      }
      const syms = parseReadelfSymbols(await work.run("readelf", ["-s", "-W", name]));
      assert.equal(elf.symbols.length, syms.length);
      for (const s of syms) {
        const mine = elf.symbols[s.index]!;
        assert.equal(mine.value, s.value, `value of symbol ${s.index}`);
        assert.equal(mine.size, s.size);
        assert.equal(mine.type, s.type);
        assert.equal(mine.bind, s.bind);
        const ndx = s.ndx === "UND" ? 0 : s.ndx === "ABS" ? 0xfff1 : s.ndx === "COM" ? 0xfff2 : Number(s.ndx);
        assert.equal(mine.sectionIndex, ndx);
        if (mine.type !== "SECTION") assert.equal(mine.name, s.name);
      }
    }
    const header = await work.run("readelf", ["-h", exeName]);
    assert.equal(exe.entry, parseInt(/Entry point address:\s+0x([0-9a-f]+)/.exec(header)![1]!, 16));
    assert.equal(exe.entry, exe.symbols.find((s) => s.name === "_start")!.value);
  });

  test(`ELF${mode}: segments and loadSegments match readelf -l and the file bytes`, async () => {
    const { exe, exeName } = await build(mode);
    const expected = parseReadelfSegments(await work.run("readelf", ["-l", "-W", exeName]));
    assert.equal(exe.segments.length, expected.length);
    expected.forEach((p, i) => {
      const mine = exe.segments[i]!;
      assert.deepEqual([mine.offset, mine.vaddr, mine.paddr, mine.filesz, mine.memsz, mine.align], [p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, p.align]);
      const flags = (mine.flags & 4 ? "R" : "") + (mine.flags & 2 ? "W" : "") + (mine.flags & 1 ? "E" : "");
      assert.equal(flags, p.flags);
      assert.equal(mine.type === PT_LOAD, p.type === "LOAD");
    });
    const loads = exe.loadSegments();
    assert.equal(loads.length, expected.filter((p) => p.type === "LOAD").length);
    // The text bytes in the load image are the .text section's bytes, at its address.
    const text = exe.section(".text")!;
    const seg = loads.find((l) => l.vaddr <= text.addr && text.addr < l.vaddr + l.memsz)!;
    assert.deepEqual([...seg.bytes.subarray(text.addr - seg.vaddr, text.addr - seg.vaddr + text.size)], [...text.data()]);
    assert.equal(seg.bytes[text.addr - seg.vaddr], 0xfa, "first instruction is cli");
    // .bss is inside memsz but not in the file bytes.
    const bss = exe.section(".bss")!;
    const bssSeg = loads.find((l) => l.vaddr <= bss.addr && bss.addr + bss.size <= l.vaddr + l.memsz);
    assert.ok(bssSeg, "a load segment covers .bss");
    assert.ok(bssSeg.bytes.length < bssSeg.memsz);
  });

  test(`ELF${mode}: symbolize names addresses as nearest preceding symbol + offset`, async () => {
    const { exe } = await build(mode);
    const start = exe.symbols.find((s) => s.name === "_start")!.value;
    const helper = exe.symbols.find((s) => s.name === "helper")!.value;
    const counter = exe.symbols.find((s) => s.name === "counter")!.value;
    assert.deepEqual(exe.symbolize(start), { name: "_start", offset: 0 });
    assert.deepEqual(exe.symbolize(start + 1), { name: "_start", offset: 1 });
    assert.deepEqual(exe.symbolize(helper + 2), { name: "helper", offset: 2 });
    assert.deepEqual(exe.symbolize(counter + 3), { name: "counter", offset: 3 });
    assert.equal(exe.symbolize(start - 1), undefined);
    assert.equal(exe.symbolize(0), undefined);
  });
}

test("a relocatable object has no segments and an empty load image", async () => {
  const { obj } = await build(32);
  assert.equal(obj.segments.length, 0);
  assert.deepEqual(obj.loadSegments(), []);
});

test("sectionSizes reads the sections' sizes from the headers alone: as readElf does, and where readElf refuses a top-half kernel's addresses", () => {
  for (const [as, bits, word] of [["--32", 32, ".long"], ["--64", 64, ".quad"]] as const) {
    const src = work.write(`ss${bits}.s`, `\t.globl _start\n_start:\n\tcli\n\thlt\n\t.pushsection .afterburn,"",@progbits\n\t${word} _start, _start + 1\n\t.popsection\n`);
    execFileSync("as", [as, src, "-o", work.path(`ss${bits}.o`)]);
    const bytes = work.read(`ss${bits}.o`);
    const elf = readElf(bytes, `ss${bits}.o`);
    const sizes = sectionSizes(bytes)!;
    for (const s of elf.sections.filter((x) => x.name !== "")) assert.equal(sizes.get(s.name), s.size, `${bits}: ${s.name}`);
    assert.equal(sizes.size, elf.sections.filter((x) => x.name !== "").length);
    assert.equal(sizes.has(".nothing"), false);
  }
  execFileSync("ld", ["-Ttext=0xffffffff81000123", "-e", "_start", work.path("ss64.o"), "-o", work.path("high.elf")]);
  const high = work.read("high.elf");
  assert.throws(() => readElf(high, "high.elf"), /beyond 2\^53/);
  assert.equal(sectionSizes(high)?.get(".afterburn"), 16);
  for (const junk of [new Uint8Array(0), new TextEncoder().encode("!<arch>\nnot an elf at all, an archive"), high.subarray(0, 100)]) assert.equal(sectionSizes(junk), undefined);
});
