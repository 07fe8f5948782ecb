// GNU as as ground truth: assemble a macro-heavy corpus with `as --32` and check the parser
// finds the same instructions (count and order of a marker subset) as objdump decodes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAsm } from "../../../core/asm/index.js";

const CORPUS = `
# A corpus exercising what gcc and kernel sources use.
	.text
	.macro SAVE_ALL base=%esp, extra:vararg
	pushl %eax; pushl %ebx
	movl 4(\\base), %ecx
	.ifnb \\extra
	pushl \\extra
	.endif
	.endm
	.macro RESTORE n
	.rept \\n
	popl %eax
	.endr
	.endm
	.macro LOOPER reg, count=3
	.irp r, \\reg, %ecx
	incl \\r
	.endr
lbl\\@:	decl \\reg\\()
	jnz lbl\\@
	.endm
	.macro OUTER x
	cli
	LOOPER \\x
	sti
	.endm
	.macro EARLY
	hlt
	.exitm
	nop
	.endm
entry:	SAVE_ALL
	SAVE_ALL %ebp, $5
	RESTORE 2
	OUTER %edx
	EARLY
	.pushsection .data
	.irpc c, 123
	.byte \\c
	.endr
	.popsection
1:	cli # comment ; not a statement
	cli; sti
	rep; movsl
	rep movsb
	lock incl (%eax)
	repne scasb
	movb $'#, %al
	movb $';, %bl /* a comment; with a separator */ ; nop
	jmp 1b
	jmp 1f
1:	.pushsection .rodata; .ascii "a;b#c"; .popsection
	ljmp $8, $2f
2:	movl %fs:4(,%ebx,4), %ecx
	fadd %st(1), %st
	call *%eax
	.if 2 > 1
	clts
	.else
	invd
	.endif
	.ifc foo,bar
	wbinvd
	.endif
	.rept 3
	.rept 2
	nop
	.endr
	.endr
	pushfl
	popfl
	/* multi-line
	cli
	comment */ hlt
`;

function objdumpMnemonics(source: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "asm-gas-"));
  try {
    const s = join(dir, "c.s");
    const o = join(dir, "c.o");
    writeFileSync(s, source);
    execFileSync("as", ["--32", "-o", o, s]);
    const out = execFileSync("objdump", ["-d", "--no-show-raw-insn", o], { encoding: "utf8" });
    const mn: string[] = [];
    for (const line of out.split("\n")) {
      const m = /^\s+[0-9a-f]+:\t(.*)$/.exec(line);
      if (m) mn.push(m[1].trim().split(/\s+/)[0]);
    }
    return mn;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function hasGas(): boolean {
  try {
    execFileSync("as", ["--version"]);
    execFileSync("objdump", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

test("instruction count and order match GNU as on a macro-heavy corpus", { skip: !hasGas() && "GNU as not installed" }, () => {
  const f = parseAsm(CORPUS, { fileName: "c.s" });
  assert.deepEqual(f.diagnostics, []);
  const ours = f.statements.filter((s) => s.statement.kind === "instruction");
  assert.ok(ours.every((s) => s.section === ".text"));
  const theirs = objdumpMnemonics(CORPUS);
  assert.equal(ours.length, theirs.length);
  assert.ok(ours.length > 40);
  // The markers privileged code cares about appear in the same order and number.
  const markers = new Set(["cli", "sti", "hlt", "clts", "invd", "wbinvd", "pushf", "popf", "nop"]);
  const norm = (m: string): string => m.replace(/^pushfl$/, "pushf").replace(/^popfl$/, "popf");
  const mine = ours.map((s) => (s.statement.kind === "instruction" ? norm(s.statement.mnemonic) : ""));
  assert.deepEqual(mine.filter((m) => markers.has(m)), theirs.filter((m) => markers.has(m)));
  // Data went where the section directives said.
  const data = f.statements.filter((s) => s.statement.kind === "directive" && (s.statement.name === ".byte" || s.statement.name === ".ascii"));
  assert.deepEqual(data.map((s) => s.section), [".data", ".data", ".data", ".rodata"]);
});

function hasGcc(): boolean {
  try {
    execFileSync("gcc", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

test("gcc -S -m32 output: no diagnostics, inline asm found inside #APP with its C line", { skip: !hasGcc() && "gcc not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "asm-gcc-"));
  try {
    const c = join(dir, "irq.c");
    writeFileSync(c, [
      "static inline void irq_off(void) { asm volatile(\"cli\" ::: \"memory\"); }",
      "unsigned long flags(void) {",
      "  unsigned long f;",
      "  asm volatile(\"pushfl; popl %0\" : \"=r\"(f));",
      "  irq_off();",
      "  return f;",
      "}",
      "const char *msg = \"a;b#c\";",
    ].join("\n"));
    const out = join(dir, "irq.s");
    execFileSync("gcc", ["-m32", "-O2", "-g", "-S", "-o", out, c]);
    const text = readFileSync(out, "utf8");
    const f = parseAsm(text, { fileName: "irq.s" });
    assert.deepEqual(f.diagnostics, []);
    const app = f.statements.filter((s) => s.inApp && s.statement.kind === "instruction");
    const names = app.map((s) => (s.statement.kind === "instruction" ? s.statement.mnemonic : ""));
    assert.ok(names.includes("cli") && names.includes("pushfl") && names.includes("popl"), names.join(","));
    const cli = app.find((s) => s.statement.kind === "instruction" && s.statement.mnemonic === "cli")!;
    assert.equal(cli.origin?.file, c);
    assert.equal(cli.origin?.line, 1);
    const pushf = app.find((s) => s.statement.kind === "instruction" && s.statement.mnemonic === "pushfl")!;
    assert.equal(pushf.origin?.line, 4);
    // Same number of instructions as GNU as assembles.
    assert.equal(f.statements.filter((s) => s.statement.kind === "instruction" && s.section.startsWith(".text")).length, objdumpMnemonics(text).length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
