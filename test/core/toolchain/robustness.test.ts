import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { ElfError, DwarfError, readAnnotationRecords, readElf, readLineTable, annotationSections, type ElfFile } from "../../../core/toolchain/index.js";
import { Workdir, prng } from "./fixtures.js";

const work = new Workdir();
after(() => work.dispose());

let obj32: Uint8Array;
let exe32: Uint8Array;
let obj64: Uint8Array;

before(async () => {
  const site = (word: string, align: number) =>
    `  .text\n  .globl _start\n_start:\n1: cli\n  nop\n2:\n  .pushsection .afterburn\n  .balign ${align}\n  ${word} 1b, 2b\n  .popsection\n  hlt\n`;
  work.write("r32.S", site(".long", 4));
  work.write("r64.S", site(".quad", 8));
  await work.run("as", ["--32", "--gdwarf-5", "-o", "r32.o", "r32.S"]);
  await work.run("ld", ["-m", "elf_i386", "-o", "r32.elf", "r32.o"]);
  await work.run("as", ["--64", "--gdwarf-5", "-o", "r64.o", "r64.S"]);
  obj32 = work.read("r32.o");
  exe32 = work.read("r32.elf");
  obj64 = work.read("r64.o");
});

/** Reads everything a consumer would; any failure must be an ElfError naming the file. */
function readAll(bytes: Uint8Array, name: string): ElfFile {
  const elf = readElf(bytes, name);
  for (const s of annotationSections(elf)) readAnnotationRecords(elf, s.name);
  readLineTable(elf);
  elf.symbolize(elf.entry);
  elf.loadSegments();
  return elf;
}

function assertElfError(fn: () => unknown, name: string, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ElfError, `${what}: expected ElfError, got ${(e as Error).name}: ${(e as Error).message}`);
    assert.equal(e.file, name);
    assert.ok(e.message.startsWith(`${name}: `), e.message);
    return;
  }
  assert.fail(`${what}: no error`);
}

test("the fixtures read cleanly", () => {
  assert.equal(readAnnotationRecords(readAll(obj32, "r32.o")).length, 1);
  assert.equal(readAnnotationRecords(readAll(exe32, "r32.elf")).length, 1);
  assert.equal(readAnnotationRecords(readAll(obj64, "r64.o")).length, 1);
});

test("random bytes, empty input and non-ELF text are ElfErrors naming the file", () => {
  const rand = prng(1);
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256));
    assertElfError(() => readAll(bytes, "noise.bin"), "noise.bin", `random input ${i}`);
  }
  assertElfError(() => readElf(new Uint8Array(0), "empty"), "empty", "empty");
  assertElfError(() => readElf(new TextEncoder().encode("#!/bin/sh\necho not an elf\n"), "script.sh"), "script.sh", "script");
  // Random bytes behind a valid identification reach the header and table checks.
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from({ length: 64 + Math.floor(rand() * 400) }, () => Math.floor(rand() * 256));
    bytes.set([0x7f, 0x45, 0x4c, 0x46, rand() < 0.5 ? 1 : 2, 1, 1]);
    try {
      readAll(bytes, "fake.elf");
    } catch (e) {
      assert.ok(e instanceof ElfError, `fake ELF ${i}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});

test("cutting an object or executable at every byte gives an ElfError, never an index error", () => {
  for (const [bytes, name] of [
    [obj32, "r32.o"],
    [exe32, "r32.elf"],
    [obj64, "r64.o"],
  ] as const) {
    // GNU tools put the section header table last, so every shorter prefix is missing part of it.
    for (let cut = 0; cut < bytes.length; cut++) {
      assertElfError(() => readAll(bytes.subarray(0, cut), name), name, `${name} cut at ${cut}`);
    }
  }
});

test("a section or segment pointing past the end of the file is named in the error", () => {
  const elf = readElf(obj32, "r32.o");
  const text = elf.section(".text")!;
  const patched = obj32.slice();
  const view = new DataView(patched.buffer);
  const shoff = view.getUint32(32, true);
  view.setUint32(shoff + text.index * 40 + 16, patched.length + 16, true); // sh_offset
  assert.throws(() => readElf(patched, "r32.o"), (e: Error) => e instanceof ElfError && /section 1 .*past the end of the file/.test(e.message));

  const exe = readElf(exe32, "r32.elf");
  assert.ok(exe.segments.length > 0);
  const p = exe32.slice();
  const pv = new DataView(p.buffer);
  const phoff = pv.getUint32(28, true);
  pv.setUint32(phoff + 16, p.length * 2, true); // p_filesz of segment 0
  pv.setUint32(phoff + 20, p.length * 2, true); // p_memsz
  assert.throws(() => readElf(p, "r32.elf"), (e: Error) => e instanceof ElfError && /r32\.elf: segment 0 .*past the end/.test(e.message));

  const big = obj32.slice();
  new DataView(big.buffer).setUint32(32, big.length - 8, true); // e_shoff
  assertElfError(() => readElf(big, "r32.o"), "r32.o", "section table past the end");

  const badStr = obj32.slice();
  new DataView(badStr.buffer).setUint16(50, 999, true); // e_shstrndx
  assert.throws(() => readElf(badStr, "r32.o"), /r32\.o: e_shstrndx 999/);

  const bigEndian = obj32.slice();
  bigEndian[5] = 2;
  assert.throws(() => readElf(bigEndian, "r32.o"), /r32\.o: big-endian/);
});

test("an unknown DWARF form in a v5 line table header is a DwarfError naming the form", () => {
  const elf = readElf(exe32, "r32.elf");
  const line = elf.section(".debug_line")!;
  const bytes = exe32.slice();
  // Header (32-bit DWARF, v5): length 4, version 2, address/segment sizes 2, header_length 4,
  // then 6 fixed bytes + opcode_base-1 lengths; then the directory entry format: count, (type, form).
  const at = line.offset;
  const version = new DataView(bytes.buffer).getUint16(at + 4, true);
  assert.equal(version, 5);
  const opcodeBase = bytes[at + 12 + 5]!;
  const formatAt = at + 12 + 6 + (opcodeBase - 1);
  assert.equal(bytes[formatAt], 1, "one directory entry format");
  bytes[formatAt + 2] = 0x7e; // the form of DW_LNCT_path
  assert.throws(
    () => readLineTable(readElf(bytes, "r32.elf")),
    (e: Error) => e instanceof DwarfError && /^r32\.elf: \.debug_line unit at 0x0, directory 0: unknown DWARF form 0x7e at offset 0x[0-9a-f]+$/.test(e.message),
  );
});

test("random corruption of any byte gives a result or an ElfError, nothing else", () => {
  const rand = prng(7);
  for (const [bytes, name] of [
    [obj32, "r32.o"],
    [exe32, "r32.elf"],
    [obj64, "r64.o"],
  ] as const) {
    for (let i = 0; i < 400; i++) {
      const b = bytes.slice();
      const n = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < n; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      try {
        readAll(b, name);
      } catch (e) {
        assert.ok(e instanceof ElfError, `${name} mutation ${i}: ${(e as Error).name}: ${(e as Error).message}`);
        assert.equal(e.file, name);
      }
    }
  }
});
