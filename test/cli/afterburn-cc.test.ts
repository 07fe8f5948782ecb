// afterburn-cc as a build system meets it: a drop-in gcc under make -j, with deps, -g and errors intact.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterburn } from "../../core/burn/afterburn.js";
import { readAnnotationRecords, readElf, readLineTable } from "../../core/toolchain/index.js";
import { readerGoesAway } from "./stdio-helpers.js";

const bin = join(__dirname, "..", "..", "bin", "afterburn-cc.js");

function cc(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "ab-cc-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const C_SRC = `/* irq */
#include "io.h"
void off(void) { __asm__ __volatile__("cli"); }
void port(void) { outb(1, 0x80); }
`;
const IO_H = `static inline void outb(unsigned char v, unsigned short p) { __asm__ __volatile__("outb %b0, %w1" : : "a"(v), "Nd"(p)); }\n`;
const S_SRC = `#define DS 0x10
	.text
	.globl entry
entry:
	movl $DS, %eax
	movl %eax, %ds
	cli
	hlt
`;

test("-c of C and .S produces objects with records; other invocations pass through", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "irq.c"), C_SRC);
    writeFileSync(join(dir, "io.h"), IO_H);
    writeFileSync(join(dir, "entry.S"), S_SRC);
    let r = cc(["-m32", "-O2", "-ffreestanding", "-c", "irq.c"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    r = cc(["-m32", "-c", "entry.S", "-o", "entry.o"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const irq = readElf(readFileSync(join(dir, "irq.o")), "irq.o");
    assert.equal(readAnnotationRecords(irq).length, 2, "cli and outb");
    const entry = readElf(readFileSync(join(dir, "entry.o")), "entry.o");
    assert.equal(readAnnotationRecords(entry).length, 3, "mov %eax,%ds; cli; hlt");
    // Link step: passed through to gcc untouched.
    r = cc(["-m32", "-nostdlib", "-static", "-Wl,-e,entry", "irq.o", "entry.o", "-o", "k.elf"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const k = readElf(readFileSync(join(dir, "k.elf")), "k.elf");
    assert.equal(readAnnotationRecords(k).length, 5, "records survive the link");
    assert.equal(cc(["--version"]).stdout, execFileSync("gcc", ["--version"], { encoding: "utf8" }));
  });
});

test("gcc's exit code and diagnostics come through unchanged", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "bad.c"), "int f(void) {\n  return nosuch;\n}\n");
    const r = cc(["-m32", "-c", "bad.c"], { cwd: dir });
    const g = spawnSync("gcc", ["-m32", "-c", "bad.c", "-o", "/dev/null"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, g.status);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /bad\.c:2:10: error: .nosuch. undeclared/);
  });
});

test("-MD dependency files name the real object, as gcc's do", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "irq.c"), C_SRC);
    writeFileSync(join(dir, "io.h"), IO_H);
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    execFileSync("gcc", ["-m32", "-MD", "-c", "irq.c", "-o", "a/irq.o"], { cwd: dir });
    const r = cc(["-m32", "-MD", "-c", "irq.c", "-o", "b/irq.o"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const want = readFileSync(join(dir, "a", "irq.d"), "utf8").replace("a/irq.o", "b/irq.o");
    assert.equal(readFileSync(join(dir, "b", "irq.d"), "utf8"), want);
    // kbuild's form
    const k = cc(["-m32", "-Wp,-MMD,b/.irq.o.d", "-c", "irq.c", "-o", "b/irq2.o"], { cwd: dir });
    assert.equal(k.status, 0, k.stderr);
    assert.match(readFileSync(join(dir, "b", ".irq.o.d"), "utf8"), /^b\/irq2\.o: irq\.c io\.h/);
  });
});

test("-g line info points at the original .S and .c lines", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "irq.c"), C_SRC);
    writeFileSync(join(dir, "io.h"), IO_H);
    writeFileSync(join(dir, "entry.S"), S_SRC);
    for (const [src, obj] of [["entry.S", "entry.o"], ["irq.c", "irq.o"]]) {
      const r = cc(["-m32", "-g", "-O1", "-c", src, "-o", obj], { cwd: dir });
      assert.equal(r.status, 0, r.stderr);
    }
    execFileSync("ld", ["-m", "elf_i386", "-e", "entry", "entry.o", "irq.o", "-o", "k.elf"], { cwd: dir });
    const elf = readElf(readFileSync(join(dir, "k.elf")), "k.elf");
    const lines = readLineTable(elf);
    const recs = readAnnotationRecords(elf);
    const where = recs.map((r) => lines.addressToLine(r.start)).map((l) => `${l?.file.split("/").pop()}:${l?.line}`);
    assert.ok(where.includes("entry.S:6"), where.join(" "));
    assert.ok(where.includes("entry.S:7"), where.join(" "));
    assert.ok(where.includes("irq.c:3"), where.join(" "));
  });
});

test("AFTERBURN_REAL_CC may be a command with arguments; make -j CC=afterburn-cc builds everything", () => {
  withDir((dir) => {
    const files = ["a", "b", "c", "d"];
    for (const f of files) writeFileSync(join(dir, `${f}.c`), `void ${f}(void) { __asm__ __volatile__("cli; sti"); }\n`);
    writeFileSync(join(dir, "s.S"), S_SRC);
    writeFileSync(
      join(dir, "Makefile"),
      `CFLAGS = -m32 -O2 -ffreestanding\nobjs = ${files.map((f) => `${f}.o`).join(" ")} s.o\nall: $(objs)\n%.o: %.S\n\t$(CC) $(CFLAGS) -c $< -o $@\n`,
    );
    const r = spawnSync("make", ["-j4", `CC=${process.execPath} ${bin}`], { cwd: dir, encoding: "utf8", env: { ...process.env, AFTERBURN_REAL_CC: "env gcc" } });
    assert.equal(r.status, 0, r.stderr);
    const objs = readdirSync(dir).filter((f) => f.endsWith(".o"));
    assert.equal(objs.length, 5);
    for (const o of objs) {
      const n = readAnnotationRecords(readElf(readFileSync(join(dir, o)), o)).length;
      assert.equal(n, o === "s.o" ? 3 : 2, o);
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(".preburn") || f.startsWith(".afterburn")), [], "no temporary files left");
  });
});

test("AFTERBURN_KEEP keeps the intermediate files; -m64 objects get 8-byte records", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "x.c"), 'void x(void) { __asm__ __volatile__("cli"); }\n');
    const r = cc(["-m64", "-c", "x.c"], { cwd: dir, env: { AFTERBURN_KEEP: "1" } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readdirSync(dir).includes(".preburn_x.s"));
    assert.match(readFileSync(join(dir, ".afterburn_x.s"), "utf8"), /\.quad/);
    const elf = readElf(readFileSync(join(dir, "x.o")), "x.o");
    assert.equal(elf.class, 64);
    assert.equal(readAnnotationRecords(elf).length, 1);
  });
});

test("the afterburned .s it assembles is byte for byte the string transform's output (C, .S, .s; ASCII or not)", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "irq.c"), C_SRC + 'const char *greeting = "h\u00e9llo \u{1f600}";\n/* caf\u00e9 */ int f\u00e9(void) { __asm__ __volatile__("cli # \u00e9t\u00e9"); return 0; }\n');
    writeFileSync(join(dir, "io.h"), IO_H);
    writeFileSync(join(dir, "entry.S"), S_SRC + "\t/* r\u00e9sum\u00e9 */ sti\n");
    writeFileSync(join(dir, "macro.s"), ".macro m r\n\tmovl %eax, \\r\n.endm\n\t.text\n\tm %cr3\n\tm %ebx\n\tpushfl # \u00fc\n");
    writeFileSync(join(dir, "crlf.s"), "\t.text\r\nf:\r\n\tcli\r\n\tmovl %eax, %ebx\r\n\tpopf\r\n\tret\r\n");
    const big = Array.from({ length: 3000 }, (_, i) => `void f${i}(void) { __asm__ __volatile__("${i % 3 ? "nop" : "cli"}"); }`).join("\n");
    writeFileSync(join(dir, "big.c"), big + "\n");
    for (const [src, mode] of [["irq.c", 32], ["irq.c", 64], ["entry.S", 32], ["macro.s", 32], ["crlf.s", 64], ["big.c", 32]] as const) {
      const stem = src.replace(/\.\w+$/, "");
      const r = cc([`-m${mode}`, "-O2", "-ffreestanding", "-c", src], { cwd: dir, env: { AFTERBURN_KEEP: "1" } });
      assert.equal(r.status, 0, r.stderr);
      const input = src.endsWith(".s") ? join(dir, src) : join(dir, `.preburn_${stem}.s`);
      // A .s input is assembled from the temporary file: a line marker first names the source.
      const marker = src.endsWith(".s") ? `# 1 "${src}"\n` : "";
      const want = Buffer.from(marker + afterburn(readFileSync(input, "utf8"), { mode, fileName: src }).output);
      assert.ok(readFileSync(join(dir, `.afterburn_${stem}.s`)).equals(want), `${src} -m${mode}`);
      assert.ok(readAnnotationRecords(readElf(readFileSync(join(dir, `${stem}.o`)), `${stem}.o`)).length > 0, `${src}: records`);
    }
  });
});

test("@file response files (quoted, nested) are read as gcc reads them; the compile inside is afterburned", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "irq.c"), C_SRC);
    writeFileSync(join(dir, "io.h"), IO_H);
    writeFileSync(join(dir, "flags.rsp"), "-O2\n-ffreestanding -DNAME=\\\"x\\\"\n");
    writeFileSync(join(dir, "cc.rsp"), `-m32 -c 'irq.c' -o "irq out.o" @flags.rsp\n`);
    const r = cc(["@cc.rsp"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const elf = readElf(readFileSync(join(dir, "irq out.o")), "irq out.o");
    assert.equal(readAnnotationRecords(elf).length, 2, "cli and outb");
    // an @file that cannot be read is gcc's to report, as without afterburn-cc
    const missing = cc(["-m32", "-c", "@nosuch.rsp"], { cwd: dir });
    const plain = spawnSync("gcc", ["-m32", "-c", "@nosuch.rsp"], { cwd: dir, encoding: "utf8" });
    assert.equal(missing.status, plain.status);
    assert.notEqual(missing.status, 0);
  });
});

test("a compiler step killed by a signal: afterburn-cc dies of the same signal and leaves no temporary files", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "killed.sh"), "#!/bin/sh\nkill -TERM $$\n");
    writeFileSync(join(dir, "x.c"), "void f(void) { __asm__ volatile(\"cli\"); }\n");
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    const r = spawnSync(process.execPath, [bin, "-m32", "-c", "x.c"], { cwd: dir, encoding: "utf8", env: { ...process.env, AFTERBURN_REAL_CC: `sh ${join(dir, "killed.sh")}`, TMPDIR: tmp } });
    assert.equal(r.signal, "SIGTERM", `status ${r.status}, stderr: ${r.stderr}`);
    assert.deepEqual(readdirSync(tmp), []);
  });
});

test("Ctrl-C while the compiler runs (SIGINT to the process group): afterburn-cc dies of it and leaves no temporary files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-cc-"));
  try {
    // A compiler that announces itself, then takes its time; the signal ends it as it would gcc.
    writeFileSync(join(dir, "slow.sh"), `#!/bin/sh\ntouch ${join(dir, "started")}\nsleep 20\n`);
    writeFileSync(join(dir, "x.c"), 'void f(void) { __asm__ volatile("cli"); }\n');
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    const child = spawn(process.execPath, [bin, "-m32", "-c", "x.c"], {
      cwd: dir,
      detached: true, // its own process group, as a terminal gives make and everything it runs
      stdio: "ignore",
      env: { ...process.env, AFTERBURN_REAL_CC: `sh ${join(dir, "slow.sh")}`, TMPDIR: tmp },
    });
    const ended = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_code, signal) => r(signal)));
    while (!existsSync(join(dir, "started"))) await new Promise((r) => setTimeout(r, 50));
    assert.equal(readdirSync(tmp).length, 1, "the temporary folder exists while the compiler runs");
    process.kill(-child.pid!, "SIGINT");
    assert.equal(await ended, "SIGINT");
    assert.deepEqual(readdirSync(tmp), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every warning reaches a piped stderr, however many: none is cut off when afterburn-cc exits", () => {
  withDir((dir) => {
    // A prefix from a macro before each instruction: one "not annotated" warning per site, ~500 KB in all,
    // far more than a pipe holds while the reader catches up.
    const sites = 3000;
    const lines = [".macro pfx", "\trep", ".endm", "\t.text"];
    for (let i = 0; i < sites; i++) lines.push("\tpfx", "\tinsb");
    writeFileSync(join(dir, "many.s"), lines.join("\n") + "\n");
    const r = cc(["-m32", "-c", "many.s"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr.slice(-500));
    assert.equal(r.stderr.split("\n").filter((l) => /^many\.s:\d+:\d+: warning: /.test(l)).length, sites);
  });
});

test("the afterburner's warnings show without AFTERBURN_VERBOSE, at the .S line cpp came from", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "fixed.S"), "#define BASE 0\n/* two\n   lines */\n\t.text\nstart:\n\tcli\n\t.org start+BASE+4\n\tret\n");
    const r = cc(["-m32", "-c", "fixed.S"], { cwd: dir });
    assert.notEqual(r.status, 0, "GNU as refuses the .org, as the warning says");
    assert.match(r.stderr, /^fixed\.S:7:2: warning: \.org after 1 padded site in \.text/m);
  });
});

/** The .afterburn records of an object, or 0 when it has none. */
function records(path: string): number {
  return readAnnotationRecords(readElf(readFileSync(path), path)).length;
}

const IRQ_C = 'int f(int x) { __asm__ __volatile__("cli"); return x + 1; }\n';

test("an output that is one of the inputs: gcc refuses, and the source is left as it was", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "irq.c"), IRQ_C);
    writeFileSync(join(dir, "a.s"), "\tcli\n");
    for (const [src, out] of [["irq.c", "irq.c"], ["a.s", "./a.s"]]) {
      const before = readFileSync(join(dir, src), "utf8");
      const r = cc(["-m32", "-c", src, "-o", out], { cwd: dir });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /same as output file/);
      assert.equal(readFileSync(join(dir, src), "utf8"), before, `${src} is untouched`);
    }
  });
});

test("auxiliary outputs are named after the object as gcc names them; -gdwarf-4 keeps its line table version", () => {
  withDir((dir) => {
    mkdirSync(join(dir, "sub"));
    mkdirSync(join(dir, "out"));
    mkdirSync(join(dir, "ref"));
    writeFileSync(join(dir, "sub", "irq.c"), IRQ_C);
    const flags = ["-m32", "-O2", "-fstack-usage", "--coverage", "-gdwarf-4", "-gsplit-dwarf", "-c", "sub/irq.c"];
    let r = cc([...flags, "-o", "out/irq.o"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const g = spawnSync("gcc", [...flags, "-o", "ref/irq.o"], { cwd: dir, encoding: "utf8" });
    assert.equal(g.status, 0, g.stderr);
    assert.deepEqual(readdirSync(join(dir, "out")).sort(), readdirSync(join(dir, "ref")).sort(), "the same files: .o, .su, .gcno, .dwo");
    const text = (p: string) => readFileSync(join(dir, p)).toString("latin1");
    assert.ok(text("out/irq.o").includes(join(dir, "out", "irq.gcda")), "the .gcda path built into the code is the object's");
    assert.ok(text("out/irq.o").includes("out/irq.dwo"), "the skeleton names the .dwo beside the object");
    const version = (p: string) => /DWARF Version:\s+(\d+)/.exec(execFileSync("readelf", ["--debug-dump=rawline", join(dir, p)], { encoding: "utf8" }))?.[1];
    assert.equal(version("out/irq.dwo") ?? version("out/irq.o"), version("ref/irq.dwo") ?? version("ref/irq.o"));
    assert.equal(version("out/irq.o"), "4");
    assert.equal(records(join(dir, "out", "irq.o")), 1);
    // Without a folder: the object's own name, in the current one.
    r = cc(["-m32", "-fstack-usage", "-c", "sub/irq.c"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readdirSync(dir).includes("irq.su"));
  });
});

test("code size from AFTERBURN_REAL_CC's own flags; long options, -v, .i inputs; a dependency target quoted for make", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "irq.c"), IRQ_C);
    let r = cc(["-c", "irq.c", "-o", "cc32.o"], { cwd: dir, env: { AFTERBURN_REAL_CC: "gcc -m32" } });
    assert.equal(r.status, 0, r.stderr);
    const elf = readElf(readFileSync(join(dir, "cc32.o")), "cc32.o");
    assert.equal(elf.class, 32);
    assert.equal(readAnnotationRecords(elf).length, 1);
    for (const [args, object] of [
      [["--compile", "irq.c", "--output", "long.o"], "long.o"],
      [["--compile", "irq.c", "--output=eq.o"], "eq.o"],
      [["-v", "-c", "irq.c", "-o", "v.o"], "v.o"],
      [["-dumpbase", "named", "-c", "irq.c", "-o", "db.o"], "db.o"],
    ] as const) {
      r = cc(["-m32", ...args], { cwd: dir });
      assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(records(join(dir, object)), 1, args.join(" "));
    }
    execFileSync("gcc", ["-m32", "-E", "irq.c", "-o", "pre.i"], { cwd: dir });
    r = cc(["-m32", "-c", "pre.i"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(records(join(dir, "pre.o")), 1, "a .i file is compiled and afterburned");
    mkdirSync(join(dir, "a dir"));
    r = cc(["-m32", "-MMD", "-c", "irq.c", "-o", "a dir/x$y.o"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(join(dir, "a dir", "x$y.d"), "utf8").startsWith("a\\ dir/x$$y.o:"));
  });
});

test("what cannot be afterburned says so; pass-through compiles see <afterburn.h>; every source of several is compiled", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "irq.c"), IRQ_C);
    writeFileSync(join(dir, "bad.c"), "int g( {\n");
    writeFileSync(join(dir, "hdr.h"), "int h(void);\n");
    writeFileSync(join(dir, "uses.c"), "#include <afterburn.h>\n#ifndef __AFTERBURN__\n#error no\n#endif\nint u;\n");
    let r = cc(["-m32", "-masm=intel", "-c", "irq.c"], { cwd: dir });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /-masm=intel: the afterburner reads AT&T syntax only/);
    r = cc(["-mx32", "-c", "irq.c"], { cwd: dir });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /-mx32 is not supported/);
    // A source on standard input is afterburned, without a word: build probes (Xen's as-insn) take
    // any output for a failure. gcc's own messages still name it as gcc does.
    for (const [lang, text] of [["c", IRQ_C], ["assembler-with-cpp", "#define X cli\n\tX\n"], ["assembler", "\tcli\n"]]) {
      const stdin = spawnSync(process.execPath, [bin, "-m32", "-x", lang, "-c", "-", "-o", "in.o"], { cwd: dir, input: text, encoding: "utf8" });
      assert.equal(stdin.status, 0, stdin.stderr);
      assert.equal(stdin.stderr + stdin.stdout, "", lang);
      assert.equal(records(join(dir, "in.o")), 1, lang);
    }
    const bad = spawnSync(process.execPath, [bin, "-m32", "-x", "c", "-c", "-"], { cwd: dir, input: "int g( {\n", encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^<stdin>:1:/m);
    for (const step of ["-E", "-S", "-fsyntax-only"]) {
      r = cc(["-m32", step, "uses.c", "-o", step === "-fsyntax-only" ? "/dev/null" : `uses${step}`], { cwd: dir });
      assert.equal(r.status, 0, `${step}: ${r.stderr}`);
    }
    r = cc(["-m32", "-c", "bad.c", "irq.c"], { cwd: dir });
    assert.equal(r.status, 1);
    assert.equal(records(join(dir, "irq.o")), 1, "irq.c is compiled although bad.c failed");
    r = cc(["-m32", "-x", "c-header", "-c", "hdr.h"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readdirSync(dir).includes("hdr.h.gch"), "a header becomes a precompiled header, as with gcc");
    r = cc(["-m32", "-c", "irq.c", "-o"], { cwd: dir });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing filename after/);
    r = cc(["-m32", "-c", "irq.c", "-o", "tmp.o"], { cwd: dir, env: { TMPDIR: join(dir, "no such folder") } });
    assert.equal(r.status, 0, r.stderr);
    r = cc(["-m32", "-c", "irq.c", "-o", "loop.o"], { cwd: dir, env: { AFTERBURN_REAL_CC: `${process.execPath} ${bin}` } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /AFTERBURN_REAL_CC runs afterburn-cc again/);
  });
});

test("a .s input: assembler errors and -g line info name the source, not the temporary file", () => {
  withDir((dir) => {
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "bad.s"), "\t.text\nf:\n\tcli\n\tbadinsn %eax\n\tret\n");
    let r = cc(["-m32", "-c", "sub/bad.s", "-o", "bad.o"], { cwd: dir });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^sub\/bad\.s:4: Error: no such instruction/m);
    writeFileSync(join(dir, "sub", "ok.s"), "\t.text\nf:\n\tcli\n\tnop\n\tret\n");
    r = cc(["-m32", "-g", "-c", "sub/ok.s", "-o", "ok.o"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const lines = execFileSync("objdump", ["-dl", join(dir, "ok.o")], { encoding: "utf8" });
    assert.match(lines, /sub\/ok\.s:3\n/);
    assert.doesNotMatch(lines, /afterburn_/);
  });
});

test("compile and link in one command (cc -o prog a.c b.S c.o): every source is afterburned, objects link as given", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "a.c"), 'void a(void) { __asm__ __volatile__("cli"); }\n');
    writeFileSync(join(dir, "entry.S"), "\t.text\n\t.globl _start\n_start:\n\tcall a\n\tcall c\n\thlt\n");
    writeFileSync(join(dir, "c.src"), 'void c(void) { __asm__ __volatile__("sti"); }\n');
    // c.o is compiled plainly: its sti stays without a record, as the object was given.
    execFileSync("gcc", ["-m32", "-ffreestanding", "-fno-pic", "-c", "-x", "c", "c.src", "-o", "c.o"], { cwd: dir });
    const link = ["-m32", "-ffreestanding", "-fno-pic", "-nostdlib", "-static", "-Wl,-Ttext=0x100000", "-Wl,-e,_start"];
    const r = cc([...link, "-o", "k.elf", "entry.S", "-x", "c", "a.c", "-x", "none", "c.o"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(records(join(dir, "k.elf")), 2, "hlt and cli: the sources' sites, not c.o's sti");
    const syms = execFileSync("nm", [join(dir, "k.elf")], { encoding: "utf8" });
    for (const f of ["a", "c", "_start"]) assert.match(syms, new RegExp(`\\b${f}$`, "m"));
    assert.deepEqual(readdirSync(dir).sort(), ["a.c", "c.o", "c.src", "entry.S", "k.elf"], "no objects or temporary files left beside the sources");
    // A source that fails stops the link, with gcc's status.
    writeFileSync(join(dir, "bad.c"), "int g( {\n");
    const b = cc([...link, "-o", "bad.elf", "entry.S", "bad.c"], { cwd: dir });
    assert.equal(b.status, 1);
    assert.ok(!readdirSync(dir).includes("bad.elf"));
  });
});

test("-save-temps keeps what gcc keeps, where gcc keeps it (the .s is the afterburned one); a compile-and-link's .su and .d land as gcc's do", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "a.c"), 'void a(void) { __asm__ __volatile__("cli"); }\n');
    writeFileSync(join(dir, "m.c"), "void m(void) { }\n");
    writeFileSync(join(dir, "e.S"), "\t.text\n\t.globl _start\n_start:\n\tcall a\n\thlt\n");
    writeFileSync(join(dir, "one.S"), "\t.text\n\t.globl _start\n_start:\n\thlt\n");
    const link = ["-m32", "-ffreestanding", "-nostdlib", "-static", "-Wl,-e,_start"];
    const cases: [string, string[]][] = [
      ["compile", ["-m32", "-save-temps", "-c", "../a.c", "-o", "obj/x.o"]],
      ["compile, temps in the current folder", ["-m32", "-save-temps=cwd", "-fstack-usage", "-c", "../a.c", "-o", "obj/x.o"]],
      [".S", ["-m32", "-save-temps", "-c", "../e.S", "-o", "obj/e.o"]],
      ["link", [...link, "-save-temps", "-o", "obj/prog", "../e.S", "../a.c", "../m.c"]],
      ["link: .su and .d", [...link, "-fstack-usage", "-MD", "-o", "obj/prog", "../e.S", "../a.c", "../m.c"]],
      ["link, -dumpbase", [...link, "-save-temps", "-dumpbase", "foo", "-o", "obj/prog", "../e.S", "../a.c", "../m.c"]],
      ["link, -dumpdir", [...link, "-save-temps", "-dumpdir", "obj/", "-o", "prog", "../e.S", "../a.c"]],
      ["link, one source, no -o", [...link, "-save-temps", "../one.S"]],
      ["link, -gsplit-dwarf", [...link, "-g", "-gsplit-dwarf", "-o", "obj/prog", "../e.S", "../a.c"]],
      ["compile, -dumpbase", ["-m32", "-save-temps", "-dumpbase", "foo", "-c", "../a.c"]],
      ["compile, -dumpdir", ["-m32", "-save-temps", "-dumpdir", "obj/", "-c", "../a.c"]],
    ];
    for (const [what, args] of cases) {
      const listing: Record<string, string[]> = {};
      for (const tool of ["gcc", "ours"]) {
        const work = join(dir, tool);
        rmSync(work, { recursive: true, force: true });
        mkdirSync(join(work, "obj"), { recursive: true });
        const r = tool === "gcc" ? spawnSync("gcc", args, { cwd: work, encoding: "utf8" }) : cc(args, { cwd: work });
        assert.equal(r.status, 0, `${what} (${tool}): ${r.stderr}`);
        listing[tool] = [...readdirSync(work).map((f) => f), ...readdirSync(join(work, "obj")).map((f) => `obj/${f}`)].sort();
      }
      assert.deepEqual(listing.ours, listing.gcc, what);
      if (what === "link: .su and .d") assert.equal(readFileSync(join(dir, "ours", "obj", "prog.d"), "utf8"), readFileSync(join(dir, "gcc", "obj", "prog.d"), "utf8"));
      if (what === "link") {
        // The kept assembly is what was assembled: the afterburned text, with its record.
        assert.match(readFileSync(join(dir, "ours", "obj", "prog-a.s"), "utf8"), /\.afterburn/);
        assert.equal(records(join(dir, "ours", "obj", "prog-a.o")), 1);
      }
    }
    // A .s input is its own assembly: nothing is written over it.
    writeFileSync(join(dir, "t.s"), "\t.text\n\tcli\n");
    const r = cc(["-m32", "-save-temps", "-c", "t.s"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, "t.s"), "utf8"), "\t.text\n\tcli\n");
    assert.equal(records(join(dir, "t.o")), 1);
  });
});

test(".include in .S and .s sources: the included files' sites are afterburned, found where GNU as finds them (current folder, -Wa,-I)", () => {
  withDir((dir) => {
    mkdirSync(join(dir, "asm"));
    writeFileSync(join(dir, "asm", "flags.inc"), ".macro IRQ_OFF\n\tpushfl\n\tcli\n.endm\n\thlt\n");
    writeFileSync(join(dir, "entry.S"), '#define X 1\n\t.text\n\t.include "flags.inc"\nentry:\tIRQ_OFF\n\tsti\n');
    writeFileSync(join(dir, "plain.s"), '\t.text\n\t.include "asm/flags.inc"\n\tIRQ_OFF\n');
    // gcc hands as its own -I folders first, then -Wa,-I ones: the first flags.inc found is the one assembled.
    mkdirSync(join(dir, "other"));
    writeFileSync(join(dir, "other", "flags.inc"), ".macro IRQ_OFF\n\tnop\n.endm\n");
    for (const [flags, expected] of [[["-Iasm", "-Wa,-Iother"], 4], [["-Wa,-Iother", "-I", "asm"], 4], [["-Wa,-Iother"], 1]] as const) {
      const plain = spawnSync("gcc", ["-m32", ...flags, "-c", "entry.S", "-o", "g.o"], { cwd: dir, encoding: "utf8" });
      assert.equal(plain.status, 0, plain.stderr);
      const q = cc(["-m32", ...flags, "-c", "entry.S", "-o", "q.o"], { cwd: dir });
      assert.equal(q.status, 0, q.stderr);
      assert.equal(records(join(dir, "q.o")), expected, flags.join(" "));
      // The same code as gcc's, but for the padding: as many instructions that are not NOPs.
      const insns = (o: string) => execFileSync("objdump", ["-d", join(dir, o)], { encoding: "utf8" }).split("\n").filter((l) => /^\s+[0-9a-f]+:\t/.test(l) && !/\tnop\s*$/.test(l)).length;
      assert.equal(insns("q.o"), insns("g.o"), flags.join(" "));
    }
    let r = cc(["-m32", "-g", "-Wa,-I,asm", "-c", "entry.S"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(records(join(dir, "entry.o")), 4, "hlt in flags.inc, pushf and cli from its macro, sti");
    assert.doesNotMatch(r.stderr, /include/, "no warning that an included file goes unseen");
    // -g line info names the included file for its own instruction.
    const lines = execFileSync("objdump", ["-dl", join(dir, "entry.o")], { encoding: "utf8" });
    assert.match(lines, /flags\.inc:5/);
    r = cc(["-m32", "-c", "plain.s"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(records(join(dir, "plain.o")), 3);
    // Bytes that are not UTF-8, in an included file and around the .include, reach the object as they were.
    writeFileSync(join(dir, "latin.inc"), Buffer.from('\t.data\n\t.ascii "na\xefve"\n', "latin1"));
    writeFileSync(join(dir, "latin.s"), Buffer.from('\t.include "latin.inc"\n\t.ascii "\xff"\n\t.text\n\tcli\n', "latin1"));
    r = cc(["-m32", "-c", "latin.s"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(execFileSync("objdump", ["-s", "-j", ".data", join(dir, "latin.o")], { encoding: "latin1" }), /6e61ef76 65ff/);
    assert.equal(records(join(dir, "latin.o")), 1);
    // Not found (no -I): GNU as says so, as it would without us, and the afterburner warns first.
    r = cc(["-m32", "-c", "entry.S", "-o", "x.o"], { cwd: dir });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /flags\.inc/);
  });
});

test("what reaches the afterburner has been through cpp: a '#if 0' left in it (a header shared by C and as) is a comment, as GNU as reads it", () => {
  withDir((dir) => {
    // The header's assembler part hides its C part from as behind `.if 0`, and its macros from cpp behind `#if 0`.
    writeFileSync(join(dir, "dual.h"), '#if 0\n.if 0\n#endif\n#ifndef DUAL_H\nasm(".include \\"dual.h\\"");\n#endif\n#if 0\n.endif\n.macro IRQ_OFF\n\tcli\n.endm\n#endif\n');
    writeFileSync(join(dir, "use.c"), '#include "dual.h"\nvoid off(void) { asm volatile("IRQ_OFF"); }\nvoid raw(void) { asm volatile("#if 0\\n\\thlt\\n#endif"); }\n');
    const r = cc(["-m64", "-O2", "-c", "use.c"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(records(join(dir, "use.o")), 2, "the cli of the included macro and the hlt between '#' comment lines");
  });
});

test("a reader that goes away: afterburn-cc's own messages end it quietly with 141; gcc's output on a closed pipe ends as gcc's does", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-cc-"));
  try {
    const src = join(dir, "s.c");
    writeFileSync(src, 'void f(void) { __asm__ __volatile__("cli"); }\n');
    // Verbose: a line per step on stderr, whose reader leaves after the first.
    const r = await readerGoesAway(bin, ["-m32", "-c", src, "-o", join(dir, "s.o")], "stderr", undefined, { ...process.env, AFTERBURN_VERBOSE: "1" });
    assert.equal(r.status, 141, `status ${r.status} ${r.signal ?? ""}: ${r.other}`);
    assert.equal(r.other, "", "nothing on stdout, no stack trace anywhere");
    // -E passes through: stdout is gcc's own, and so is what a closed pipe does to it.
    const big = join(dir, "big.c");
    writeFileSync(big, Array.from({ length: 20_000 }, (_, i) => `int f${i}(void) { return ${i}; }\n`).join(""));
    const ours = await readerGoesAway(bin, ["-E", big], "stdout");
    const gcc = await new Promise<number | null>((resolve) => {
      const child = spawn("gcc", ["-E", big], { stdio: ["ignore", "pipe", "ignore"] });
      child.stdout.once("data", () => child.stdout.destroy());
      child.on("close", (status, signal) => resolve(status ?? 128 + (signal === "SIGPIPE" ? 13 : 0)));
    });
    assert.equal(ours.status, gcc, `afterburn-cc -E: ${ours.other}`);
    assert.doesNotMatch(ours.other, /afterburn-cc|EPIPE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("AFTERBURN_SITES with the object going to a device (a build probe's -o /dev/null): no sites file beside the device", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "s.c"), 'void f(void) { __asm__ __volatile__("cli"); }\n');
    // A link to /dev/null stands for it: the sites file would land here, not in /dev.
    symlinkSync("/dev/null", join(dir, "sink"));
    const r = cc(["-m32", "-c", "s.c", "-o", "sink"], { cwd: dir, env: { AFTERBURN_SITES: "1" } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr + r.stdout, "");
    assert.deepEqual(readdirSync(dir).sort(), ["s.c", "sink"]);
  });
});

test("an intermediate or sites file that cannot be written is an error naming it (status 3), not a stack trace", () => {
  withDir((dir) => {
    writeFileSync(join(dir, "s.c"), 'void f(void) { __asm__ __volatile__("cli"); }\n');
    // A folder where the file goes: it fails for root too.
    mkdirSync(join(dir, "s.o.sites.json"));
    const sites = cc(["-m32", "-c", "s.c", "-o", "s.o"], { cwd: dir, env: { AFTERBURN_SITES: "1" } });
    assert.equal(sites.status, 3, sites.stderr);
    assert.equal(sites.stderr, "afterburn-cc: s.o.sites.json: cannot write: EISDIR\n");
    mkdirSync(join(dir, ".afterburn_k.s"));
    const kept = cc(["-m32", "-c", "s.c", "-o", "k.o"], { cwd: dir, env: { AFTERBURN_KEEP: "1" } });
    assert.equal(kept.status, 3, kept.stderr);
    assert.equal(kept.stderr, "afterburn-cc: .afterburn_k.s: cannot write: EISDIR\n");
    assert.deepEqual(readdirSync(dir).sort(), [".afterburn_k.s", ".preburn_k.s", "s.c", "s.o.sites.json"], "no object, no temporary file");
  });
});

test("a link that loses the .afterburn records (--gc-sections, a /DISCARD/) says so on stderr, with gcc's status; one that keeps them is silent", () => {
  withDir((dir) => {
    const src = ['\t.section .text.used,"ax",@progbits', "\t.globl _start", "_start:", "\tcli", "\thlt", '\t.section .text.spare,"ax",@progbits', "spare:", "\tsti", "\tret", ""].join("\n");
    writeFileSync(join(dir, "k.s"), src);
    assert.equal(cc(["-m32", "-c", "k.s"], { cwd: dir }).status, 0);
    const link = (out: string, ...extra: string[]) => cc(["-m32", "-nostdlib", "-static", ...extra, "-o", out, "k.o"], { cwd: dir });
    // Kept whole: no word.
    let r = link("plain.elf");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    // --gc-sections: the section nothing refers to goes, and with it every record.
    r = link("gc.elf", "-Wl,--gc-sections");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readElf(readFileSync(join(dir, "gc.elf")), "gc.elf").section(".afterburn"), undefined);
    assert.match(r.stderr, /afterburn-cc: warning: gc\.elf: the link kept 0 of the 24 bytes of \.afterburn records its 1 afterburned object brought: the section is gone \(--gc-sections removes it unless the linker script says KEEP\(\*\(\.afterburn\)\)\)/);
    // The same compiled and linked in one command.
    r = cc(["-m32", "-nostdlib", "-static", "-Wl,--gc-sections", "-o", "one.elf", "k.s"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /one\.elf: the link kept 0 of the 24 bytes/);
    // KEEP in the script: kept, silent.
    writeFileSync(join(dir, "keep.ld"), "SECTIONS { . = 0x100000; .text : { *(.text*) } .afterburn 0 : { KEEP(*(.afterburn)) } }\n");
    r = link("keep.elf", "-Wl,--gc-sections", "-T", "keep.ld");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    // Memory annotations (.afterburn.<kind>) are records too: counted with .afterburn's.
    writeFileSync(join(dir, "mo.s"), "\t.globl _start\n_start:\n\t.afterburn_memop pte_set\n\tmovl %eax, (%ebx)\n\thlt\n");
    assert.equal(cc(["-m32", "-c", "mo.s"], { cwd: dir }).status, 0);
    r = cc(["-m32", "-nostdlib", "-static", "-Wl,--gc-sections", "-o", "mo.elf", "mo.o"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /mo\.elf: the link kept 0 of the 16 bytes of \.afterburn records/);
    // A 64-bit kernel linked in the top half (addresses past 2^53): checked all the same.
    assert.equal(cc(["-m64", "-c", "k.s", "-o", "k64.o"], { cwd: dir }).status, 0);
    r = cc(["-m64", "-nostdlib", "-static", "-Wl,--gc-sections", "-Wl,-Ttext=0xffffffff81000000", "-o", "high.elf", "k64.o"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /high\.elf: the link kept 0 of the 48 bytes of \.afterburn records/);
    // A probe linking to /dev/null, or a flat binary (no ELF to read the section from): nothing to say.
    assert.equal(link("/dev/null", "-Wl,--gc-sections").stderr, "");
    assert.equal(link("flat.bin", "-Wl,--oformat=binary", "-Wl,-Ttext=0x100000").stderr, "");
    // A failed link keeps gcc's status and says nothing more.
    r = link("bad.elf", "-Wl,--no-such-flag");
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stderr, /afterburn-cc: warning/);
  });
});
