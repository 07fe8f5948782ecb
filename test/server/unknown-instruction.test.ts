// Hover on a name that is neither an instruction nor a macro the analysis knows: it says so, instead
// of "not sensitive". GNU as is the oracle: what the hover calls unknown, `as` rejects as no such
// instruction; what `as` assembles (and objdump and gcc print), the hover never calls unknown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { OpenDocument } from "../../server/documents.js";
import { hoverFor } from "../../server/features.js";
import { isKnownInstruction } from "../../server/instruction-names.js";

function hoverText(doc: OpenDocument, line: number): string {
  const h = hoverFor(doc, { line, character: 2 });
  return h === null ? "" : (h.contents as { value: string }).value;
}

/** GNU as's verdict on one statement after the prelude (includes, macros): its error, or "" when it assembles. */
function gnuAs(dir: string, prelude: readonly string[], statement: string, mode: 32 | 64): string {
  const src = join(dir, "one.s");
  writeFileSync(src, [...prelude, statement, ""].join("\n"));
  const r = spawnSync("as", [`--${mode}`, "-I", dir, "-o", join(dir, "one.o"), src], { encoding: "utf8" });
  return r.status === 0 ? "" : r.stderr;
}

test("hover on an unknown name says it is not a known instruction or macro, as GNU as rejects it; known names keep their hovers", () => {
  const dir = mkdtempSync(join(tmpdir(), "afterburn-unknown-"));
  try {
    writeFileSync(join(dir, "macros.inc"), ".macro from_include\n\tcli\n.endm\n");
    const lines = [
      "\t.include \"macros.inc\"",
      ".macro here r",
      "\tmovl \\r, %eax",
      ".endm",
      "\t.text",
      "\tfrobnicate %eax", // 5: nothing at all
      "\tclii", //            6: a misspelt sensitive instruction
      "\tmovx %eax, %ebx", // 7
      "\tundefined_macro", // 8
      "\there %ebx", //       9: a macro of this file
      "\tfrom_include", //   10: a macro of an included file
      "\taddl %eax, %ebx", // 11: ordinary instructions, with and without suffixes and aliases
      "\tpushfl", //         12
      "\tcmovnae %eax, %ebx", // 13
      "\tmovzbl %al, %eax", // 14
      "\tfildll (%eax)", //  15
      "\tcltd", //           16
      "\tcli", //            17
      "",
    ];
    const path = join(dir, "k.s");
    writeFileSync(path, lines.join("\n"));
    const doc = new OpenDocument(pathToFileURL(path).href, "asm", "gas-x86", 1, lines.join("\n"), { maxLines: 200_000, includeDirs: [dir], mode: 32 });
    for (let line = 5; line <= 17; line++) {
      const statement = lines[line]!;
      const hover = hoverText(doc, line);
      const verdict = gnuAs(dir, lines.slice(0, 5), statement, 32);
      if (/no such instruction/.test(verdict)) {
        assert.match(hover, /is not a known instruction, nor a macro this file or its includes define/, `${statement}: ${hover}`);
        assert.match(hover, /its sensitive sites, if any, are not known/);
        assert.doesNotMatch(hover, /not virtualization-sensitive|not sensitive/, statement);
      } else {
        assert.equal(verdict, "", `${statement}: GNU as assembles it`);
        assert.doesNotMatch(hover, /not a known instruction/, `${statement}: ${hover}`);
        assert.notEqual(hover, "", statement);
      }
    }
    assert.equal([5, 6, 7, 8].filter((l) => /no such instruction/.test(gnuAs(dir, lines.slice(0, 5), lines[l]!, 32))).length, 4, "the oracle rejects the four unknown names");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("no instruction that objdump prints or gcc emits is called unknown", () => {
  const dir = mkdtempSync(join(tmpdir(), "afterburn-unknown-"));
  try {
    const names = new Set<string>();
    const take = (mnemonic: string | undefined) => {
      if (mnemonic !== undefined && /^[a-z][a-z0-9]*$/.test(mnemonic)) names.add(mnemonic);
    };
    // The disassembler of GNU binutils, over the C library: the spellings GNU as reads back.
    for (const lib of ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib/x86_64-linux-gnu/libc.so.6"]) {
      if (!existsSync(lib)) continue;
      const r = spawnSync("objdump", ["-d", "--no-show-raw-insn", lib], { encoding: "utf8", maxBuffer: 1 << 30 });
      for (const row of r.stdout.split("\n")) {
        const words = row.split("\t")[1]?.trim().split(/\s+/) ?? [];
        // Prefixes objdump shows before the instruction they modify.
        while (words.length > 1 && /^(rep|repz|repnz|repe|repne|lock|notrack|bnd|data16|addr32|cs|ds|es|fs|gs|ss|rex.*|xacquire|xrelease)$/.test(words[0]!)) words.shift();
        take(words[0]);
      }
      break;
    }
    // gcc's own output (suffixed AT&T), 32- and 64-bit, integer, x87 and vector code.
    const c = join(dir, "k.c");
    writeFileSync(c, [
      "long double ld(long double a, long long b) { return a * b + (long double)(unsigned)b; }",
      "double d(double *v, int n) { double s = 0; for (int i = 0; i < n; i++) s += v[i] * v[i]; return s; }",
      "float f(float *v, unsigned char *c, short *s, int n) { float t = 0; for (int i = 0; i < n; i++) t += v[i] * c[i] - s[i]; return t; }",
      "long long q(long long a, long long b) { return a / b + (a % b) * (a >> 3) + __builtin_popcountll(a) + __builtin_ctzll(b | 1); }",
      "int m(int a, int b) { return a < b ? a : b; }",
    ].join("\n"));
    for (const flags of [["-m32", "-O2"], ["-m64", "-O2"], ["-m64", "-O3", "-mavx2", "-mfma"], ["-m32", "-O1", "-march=i686"], ["-m64", "-O2", "-mavx512f", "-mbmi2", "-mpopcnt"]]) {
      const r = spawnSync("gcc", [...flags, "-S", "-o", "-", c], { encoding: "utf8" });
      assert.equal(r.status, 0, `gcc ${flags.join(" ")}: ${r.stderr}`);
      for (const row of r.stdout.split("\n")) if (/^\t[a-z]/.test(row)) take(row.trim().split(/\s+/)[0]);
    }
    assert.ok(names.size > 200, `a corpus of ${names.size} names`);
    assert.deepEqual([...names].filter((n) => !isKnownInstruction(n)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("REX written as a prefix statement (rex.w ... rex.wrxb) is known, as GNU as --64 takes it; rex.bw, which it rejects, is not", () => {
  for (const m of ["rex.w", "rex.wrxb", "REX.R", "rex.xb"]) {
    assert.equal(spawnSync("as", ["--64", "-o", "/dev/null", "-"], { input: `\t${m}\n\tnop\n`, encoding: "utf8" }).status, 0, `as takes ${m}`);
    assert.equal(isKnownInstruction(m), true, m);
  }
  assert.notEqual(spawnSync("as", ["--64", "-o", "/dev/null", "-"], { input: "\trex.bw\n\tnop\n", encoding: "utf8" }).status, 0);
  assert.equal(isKnownInstruction("rex.bw"), false);
});

test("GNU as's pseudo-prefixes ({disp32}, {vex3}, {load}) are not called unknown: the hover says what they are", () => {
  const lines = ["\t.text", "\t{disp32} movl %eax, 4(%ebx)", "\t{vex3} vpaddd %xmm0, %xmm1, %xmm2", "\t{load} movl %eax, %ebx", ""];
  assert.equal(spawnSync("as", ["--64", "-o", "/dev/null", "-"], { input: lines.join("\n"), encoding: "utf8" }).status, 0, "GNU as takes them");
  const doc = new OpenDocument("file:///tmp/afterburn-pseudo/p.s", "asm", "gas-x86", 1, lines.join("\n"), { maxLines: 200_000, includeDirs: [], mode: 64 });
  for (let line = 1; line <= 3; line++) {
    const hover = hoverText(doc, line);
    assert.doesNotMatch(hover, /not a known instruction/, lines[line]);
    assert.match(hover, /pseudo-prefix/, lines[line]);
  }
});
