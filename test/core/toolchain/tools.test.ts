import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  assemble,
  objdumpDisassemble,
  parseObjdumpDisassembly,
  readElf,
  realCompilerCommand,
  runTool,
  splitCommandLine,
  toolCommand,
  ToolFailedError,
  ToolMissingError,
  readAnnotationRecords,
} from "../../../core/toolchain/index.js";
import { Workdir } from "./fixtures.js";

const work = new Workdir();
after(() => work.dispose());

test("splitCommandLine splits words like a shell without running one", () => {
  assert.deepEqual(splitCommandLine("ccache gcc"), ["ccache", "gcc"]);
  assert.deepEqual(splitCommandLine("  gcc   -m32\t-O2 "), ["gcc", "-m32", "-O2"]);
  assert.deepEqual(splitCommandLine(`"/opt/my tools/gcc" -DX='a b' -DY="q\\"r" a\\ b`), ["/opt/my tools/gcc", "-DX=a b", '-DY=q"r', "a b"]);
  assert.deepEqual(splitCommandLine("gcc ''"), ["gcc", ""]);
  assert.deepEqual(splitCommandLine("echo $(rm -rf x); ls"), ["echo", "$(rm", "-rf", "x);", "ls"]);
  assert.throws(() => splitCommandLine(`gcc "unterminated`), /unterminated double quote/);
  assert.throws(() => splitCommandLine(`gcc 'x`), /unterminated single quote/);
});

test("tool commands come from AFTERBURN_* variables, else the plain tool name", () => {
  assert.deepEqual(toolCommand("as", {}), ["as"]);
  assert.deepEqual(toolCommand("as", { AFTERBURN_AS: "/usr/bin/x86_64-linux-gnu-as --32" }), ["/usr/bin/x86_64-linux-gnu-as", "--32"]);
  assert.deepEqual(toolCommand("objdump", { AFTERBURN_OBJDUMP: "  " }), ["objdump"]);
  assert.deepEqual(realCompilerCommand({ AFTERBURN_REAL_CC: "ccache gcc -m32" }), ["ccache", "gcc", "-m32"]);
  assert.deepEqual(realCompilerCommand({ AFTERBURN_GCC: "gcc-12" }), ["gcc-12"]);
  assert.deepEqual(realCompilerCommand({}), ["gcc"]);
});

test("a missing tool says which one and how to install it", async () => {
  const env = { ...process.env, AFTERBURN_AS: "/nonexistent/bin/as" };
  await assert.rejects(runTool("as", ["--version"], { env }), (e: Error) => {
    assert.ok(e instanceof ToolMissingError);
    assert.equal(e.tool, "as");
    assert.match(e.message, /as not found.*\/nonexistent\/bin\/as/);
    assert.match(e.message, /apt-get install binutils/);
    assert.match(e.message, /AFTERBURN_AS/);
    return true;
  });
  await assert.rejects(runTool("gcc", ["--version"], { env: { ...process.env, AFTERBURN_GCC: "/nonexistent/gcc" } }), /apt-get install gcc/);
});

test("a failing tool's exit code, stdout and stderr come back verbatim", async () => {
  const src = work.write("bad.s", "  .text\n  movl %eax\n");
  const result = await runTool("as", ["--32", "-o", work.path("bad.o"), src]);
  assert.equal(result.exitCode, 1);
  assert.match(result.stderr, /bad\.s:2: Error: number of operands mismatch for `mov'/);
  assert.deepEqual(result.command.slice(-1), [src]);
  const ok = await runTool("as", ["--version"]);
  assert.equal(ok.exitCode, 0);
  assert.match(ok.stdout, /GNU assembler/);
  // Standard input reaches the tool.
  const fromStdin = await runTool("as", ["--32", "-o", work.path("stdin.o"), "-"], { input: "nop\n" });
  assert.equal(fromStdin.exitCode, 0, fromStdin.stderr);
  assert.equal(readElf(work.read("stdin.o"), "stdin.o").section(".text")!.size, 1);
});

test("assemble returns object bytes and reports errors with the source file's name", async () => {
  const bytes = await assemble("  .text\n1: cli\n  nop\n  nop\n2:\n  .pushsection .afterburn\n  .balign 4\n  .long 1b, 2b\n  .popsection\n", { mode: 32, fileName: "src/site.S" });
  const elf = readElf(bytes, "site.o");
  assert.equal(elf.class, 32);
  assert.deepEqual(readAnnotationRecords(elf), [{ section: ".text", start: 0, end: 3 }]);
  const bytes64 = await assemble("  .text\n  swapgs\n", { mode: 64, fileName: "x.s", debug: true });
  const elf64 = readElf(bytes64, "x.o");
  assert.equal(elf64.machine, "EM_X86_64");
  assert.ok(elf64.section(".debug_line"), "debug: true emits a line table");
  await assert.rejects(assemble("  bogus %eax\n", { mode: 32, fileName: "dir/broken.S" }), (e: Error) => {
    assert.ok(e instanceof ToolFailedError);
    assert.equal(e.result.exitCode, 1);
    assert.match(e.result.stderr, /broken\.S:1: Error: no such instruction: `bogus %eax'/);
    return true;
  });
});

test("objdumpDisassemble parses objdump -d into section, offset, bytes and text", async () => {
  const src = work.write("dis.s", "  .text\n_start:\n  cli\n  movl %eax, %cr3\n  .section .text.init, \"ax\"\ninit:\n  lgdt (%eax)\n  hlt\n");
  await work.run("as", ["--32", "-o", "dis.o", src]);
  const rows = await objdumpDisassemble(work.path("dis.o"));
  assert.deepEqual(rows, [
    { section: ".text", offset: 0, bytes: [0xfa], text: "cli", symbol: "_start" },
    { section: ".text", offset: 1, bytes: [0x0f, 0x22, 0xd8], text: "mov %eax,%cr3", symbol: "_start" },
    { section: ".text.init", offset: 0, bytes: [0x0f, 0x01, 0x10], text: "lgdtl (%eax)", symbol: "init" },
    { section: ".text.init", offset: 3, bytes: [0xf4], text: "hlt", symbol: "init" },
  ]);
  // The bytes agree with the section contents read by the ELF reader.
  const elf = readElf(work.read("dis.o"), "dis.o");
  assert.deepEqual([...elf.section(".text")!.data()], rows.filter((r) => r.section === ".text").flatMap((r) => r.bytes));
});

test("parseObjdumpDisassembly ignores headers, relocation lines and skipped-zero markers", () => {
  const text = [
    "",
    "x.o:     file format elf32-i386",
    "",
    "Disassembly of section .text:",
    "",
    "00000000 <f>:",
    "   0:\te8 fc ff ff ff       \tcall   1 <f+0x1>",
    "\t\t\t1: R_386_PC32\tg",
    "\t...",
    "  10:\t90                   \tnop",
  ].join("\n");
  assert.deepEqual(parseObjdumpDisassembly(text), [
    { section: ".text", offset: 0, bytes: [0xe8, 0xfc, 0xff, 0xff, 0xff], text: "call 1 <f+0x1>", symbol: "f" },
    { section: ".text", offset: 0x10, bytes: [0x90], text: "nop", symbol: "f" },
  ]);
});
