import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readElf, readLineTable, type LineTable } from "../../../core/toolchain/index.js";
import { Workdir, parseDecodedLines } from "./fixtures.js";

const work = new Workdir();
after(() => work.dispose());

const C_SOURCE = `#include "inc.h"
int square(int x) {
  int y = x * x;

  return y;
}

int main(void) {
  return square(3) + twice(4);
}
`;
const C_HEADER = `static inline int twice(int a) {
  return a * 2;
}
`;
const ASM_SOURCE = `  .text
  .globl _start
_start:
  cli
  movl $1, %eax

  # a comment line without code
  hlt
  jmp _start
`;

/** Compares every row with objdump's decoded line table (same order, same values). */
async function compareWithObjdump(fileName: string, version?: number): Promise<LineTable> {
  if (version !== undefined) {
    const raw = await work.run("objdump", ["--dwarf=rawline", fileName]);
    assert.equal(Number(/DWARF Version:\s+(\d+)/.exec(raw)?.[1]), version, `${fileName} has a version ${version} line table`);
  }
  const table = readLineTable(readElf(work.read(fileName), fileName));
  const expected = parseDecodedLines(await work.run("objdump", ["--dwarf=decodedline", fileName]));
  assert.ok(expected.length >= 4, `objdump shows rows for ${fileName}`);
  assert.equal(table.rows.length, expected.length, `row count of ${fileName}`);
  table.rows.forEach((row, i) => {
    const e = expected[i]!;
    assert.ok(row.file.endsWith("/" + e.name) || row.file === e.name, `row ${i}: ${row.file} vs ${e.name}`);
    assert.ok(row.file.startsWith("/"), `row ${i}: path ${row.file} is resolved against the compilation directory`);
    assert.equal(row.address, e.address, `row ${i} address`);
    assert.equal(row.endSequence, e.line === undefined, `row ${i} end_sequence`);
    if (e.line !== undefined) {
      assert.equal(row.line, e.line, `row ${i} line`);
      assert.equal(row.isStmt, e.isStmt, `row ${i} is_stmt`);
    }
  });
  return table;
}

const C_VARIANTS = [
  { tag: "DWARF 5", flags: ["-g"] },
  { tag: "DWARF 4", flags: ["-gdwarf-4"] },
  // GNU as 2.40 writes a version 3 line table for -gdwarf-2 (the .debug_info is version 2).
  { tag: "-gdwarf-2, DWARF 3", flags: ["-gdwarf-2"] },
];

for (const v of C_VARIANTS) {
  for (const mode of [32, 64] as const) {
    test(`C, gcc -m${mode} ${v.tag}: object and executable rows match objdump --dwarf=decodedline`, async () => {
      work.write("inc.h", C_HEADER);
      work.write("prog.c", C_SOURCE);
      const base = `c${mode}${v.tag.replace(/\W/g, "")}`;
      await work.run("gcc", [`-m${mode}`, ...v.flags, "-O0", "-ffreestanding", "-fno-pic", "-fno-asynchronous-unwind-tables", "-c", "prog.c", "-o", `${base}.o`]);
      await work.run("ld", ["-m", mode === 32 ? "elf_i386" : "elf_x86_64", "-e", "main", "-Ttext=0x100000", "-o", `${base}.elf`, `${base}.o`]);
      const obj = await compareWithObjdump(`${base}.o`, Number(/DWARF (\d)/.exec(v.tag)![1]));
      assert.ok(obj.rows.every((r) => r.section === ".text"), "object rows carry their section");
      const exe = await compareWithObjdump(`${base}.elf`);
      assert.ok(exe.files.some((f) => f === `${work.dir}/prog.c`));
      assert.ok(exe.files.some((f) => f === `${work.dir}/inc.h`));

      // Breakpoints: line 3 has code; line 4 is blank and moves to line 5; suffix match on the path.
      const square = exe.lineToAddresses("prog.c", 3)!;
      assert.equal(square.line, 3);
      assert.deepEqual(square.files, [`${work.dir}/prog.c`]);
      assert.ok(square.addresses.length >= 1);
      const moved = exe.lineToAddresses(`${work.dir.split("/").pop()}/prog.c`, 4)!;
      assert.equal(moved.line, 5);
      assert.equal(exe.lineToAddresses("other.c", 3), undefined);
      assert.equal(exe.lineToAddresses("prog.c", 99), undefined);
      assert.equal(exe.lineToAddresses("rog.c", 3), undefined, "suffix matching is by whole path components");
      // The header's inline function resolves too.
      assert.equal(exe.lineToAddresses("inc.h", 2)?.line, 2);

      // Address -> line round trip at every breakpoint address.
      for (const a of moved.addresses) assert.deepEqual(exe.addressToLine(a)?.line, 5);
      const sym = readElf(work.read(`${base}.elf`), `${base}.elf`).symbols.find((s) => s.name === "square")!;
      assert.equal(exe.addressToLine(sym.value)?.line, 2);
      assert.equal(exe.addressToLine(sym.value + 1)?.file, `${work.dir}/prog.c`);
      assert.equal(exe.addressToLine(0x10), undefined);
      // In the object, addresses are offsets in .text.
      assert.equal(obj.addressToLine(sym.value - 0x100000, ".text")?.line, 2);
    });
  }
}

for (const v of [{ tag: "DWARF 5", flags: ["--gdwarf-5"] }, { tag: "DWARF 4", flags: ["--gdwarf-4"] }, { tag: "DWARF 3 (as -g default)", flags: ["-g"] }]) {
  test(`assembly, as --32 ${v.flags.join(" ")} ${v.tag}: rows match objdump and breakpoints skip comment lines`, async () => {
    work.write("boot.S", ASM_SOURCE);
    const base = `s${v.tag.replace(/\W/g, "")}`;
    await work.run("as", ["--32", ...v.flags, "-o", `${base}.o`, "boot.S"]);
    await work.run("ld", ["-m", "elf_i386", "-Ttext=0x100000", "-o", `${base}.elf`, `${base}.o`]);
    await compareWithObjdump(`${base}.o`, Number(/DWARF (\d)/.exec(v.tag)![1]));
    const exe = await compareWithObjdump(`${base}.elf`);
    assert.deepEqual(exe.lineToAddresses("boot.S", 4), { line: 4, files: [`${work.dir}/boot.S`], addresses: [0x100000] });
    // Lines 6 and 7 have no code: the breakpoint moves to hlt on line 8 (cli 1 byte + mov 5 bytes).
    assert.deepEqual(exe.lineToAddresses("boot.S", 6)?.line, 8);
    assert.deepEqual(exe.lineToAddresses("boot.S", 6)?.addresses, [0x100006]);
    assert.deepEqual(exe.addressToLine(0x100003), { file: `${work.dir}/boot.S`, line: 5, column: 0 });
  });
}

test("a breakpoint near the top of a 200,000-line file resolves (every row after it is a candidate: too many to spread into Math.min)", async () => {
  work.write("big.S", `  .text\n_start:\n${"  nop\n".repeat(200_000)}  hlt\n`);
  await work.run("as", ["--32", "-g", "-o", "big.o", "big.S"]);
  await work.run("ld", ["-m", "elf_i386", "-Ttext=0x100000", "-e", "_start", "-o", "big.elf", "big.o"]);
  const exe = readLineTable(readElf(work.read("big.elf"), "big.elf"));
  assert.deepEqual(exe.lineToAddresses("big.S", 1), { line: 3, files: [`${work.dir}/big.S`], addresses: [0x100000] });
  assert.equal(exe.lineToAddresses("big.S", 200_003)?.addresses[0], 0x100000 + 200_000);
});

test("a file without .debug_line has an empty table", async () => {
  work.write("plain.s", "  .text\n  nop\n");
  await work.run("as", ["--32", "-o", "plain.o", "plain.s"]);
  const t = readLineTable(readElf(work.read("plain.o"), "plain.o"));
  assert.deepEqual(t.rows, []);
  assert.equal(t.addressToLine(0), undefined);
  assert.equal(t.lineToAddresses("plain.s", 1), undefined);
});

test("a version 2 line table (same layout as version 3) decodes like objdump", async () => {
  work.write("v2.S", ASM_SOURCE);
  await work.run("as", ["--32", "--gdwarf-2", "-o", "v3.o", "v2.S"]);
  const bytes = work.read("v3.o");
  const line = readElf(bytes, "v3.o").section(".debug_line")!;
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  assert.equal(view.getUint16(line.offset + 4, true), 3);
  view.setUint16(line.offset + 4, 2, true);
  work.writeBytes("v2.o", bytes);
  const t = await compareWithObjdump("v2.o", 2);
  assert.equal(t.lineToAddresses("v2.S", 7)?.line, 8);
});
