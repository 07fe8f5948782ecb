// Column mapping through cpp replacements: binary searches over a line's replacements, checked
// against the plain scan they replace, on random replacement lists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { collectDefines, expandLine, mapToSource, replacementOver, type Replacement } from "../../../core/asm/defines.js";
import { prng } from "../../prng.js";

/** The reference: walk the replacements in order. */
function scanColumn(reps: readonly Replacement[], col: number, isEnd: boolean): number {
  let delta = 0;
  for (const r of reps) {
    if (col < r.newStart || (isEnd && col === r.newStart)) break;
    if (col < r.newEnd || (isEnd && col === r.newEnd)) return isEnd ? r.end : r.start;
    delta = r.end - r.newEnd;
  }
  return col + delta;
}

test("mapToSource and replacementOver agree with a scan of the replacements (empty ones and adjacent ones included)", () => {
  const rnd = prng(17);
  for (let t = 0; t < 3000; t++) {
    const reps: Replacement[] = [];
    let src = 0;
    let out = 0;
    for (let i = Math.floor(rnd() * 7); i > 0; i--) {
      const gap = Math.floor(rnd() * 3);
      src += gap;
      out += gap;
      const oldLength = 1 + Math.floor(rnd() * 3);
      const newLength = Math.floor(rnd() * 4);
      reps.push({ start: src, end: src + oldLength, newStart: out, newEnd: out + newLength, macro: `M${i}` });
      src += oldLength;
      out += newLength;
    }
    for (let a = 0; a <= out + 2; a++) {
      for (let b = a; b <= out + 2; b++) {
        assert.deepEqual(mapToSource(reps, a, b), { start: scanColumn(reps, a, false), end: scanColumn(reps, b, true) });
        assert.equal(replacementOver(reps, a, b), reps.find((r) => a < r.newEnd && b > r.newStart));
      }
    }
  }
});

test("a line of many macro uses maps each back to its own use", () => {
  const table = collectDefines(["#define X cli", "#define EMPTY"], "", new Map());
  const uses = Array.from({ length: 2000 }, (_, i) => (i % 3 === 2 ? "EMPTY" : "X")).join("; ");
  const x = expandLine(`\t${uses}`, table)!;
  assert.equal(x.replacements.length, 2000);
  // (An empty expansion has no columns of its own to map back.)
  for (const [i, r] of x.replacements.entries()) {
    if (r.newEnd === r.newStart) continue;
    assert.deepEqual(mapToSource(x.replacements, r.newStart, r.newEnd), { start: r.start, end: r.end }, `use ${i}`);
    assert.equal(replacementOver(x.replacements, r.newStart, r.newEnd), r);
  }
});

test("#define expansion is bounded: an exponential chain stops with the line's not-analysed warning, a large but finite one is analysed", async () => {
  const { AsmAnalysis } = await import("../../../core/asm/analysis.js");
  const chain = (n: number) => ["#define A0 cli", ...Array.from({ length: n }, (_, k) => `#define A${k + 1} A${k}; A${k}`), `\tA${n}`].join("\n");
  // 2^16 uses of cli: 330 kB of expanded line, within the parser's limit.
  const finite = new AsmAnalysis(chain(16), { fileName: "chain.S" });
  assert.equal(finite.sites().length, 65536);
  assert.deepEqual(finite.parseDiagnostics(), []);
  // 2^30 would be 5 GB: the expansion stops, and the line says why it is not analysed.
  const endless = new AsmAnalysis(chain(30), { fileName: "chain.S" });
  assert.equal(endless.sites().length, 0);
  assert.ok(endless.parseDiagnostics().some((d) => /lines over 1048576 characters are not analysed/.test(d.message) && d.range.line === 31));
});

test("#define expansion has a budget per file: past it every line using a macro gets the not-analysed warning, before and after edits alike", async () => {
  const { AsmAnalysis } = await import("../../../core/asm/analysis.js");
  const defs = ["#define A0 cli", ...Array.from({ length: 30 }, (_, k) => `#define A${k + 1} A${k}; A${k}`), "#define IRQOFF cli"];
  // Three exponential lines spend the file's budget (each alone stops at its own): the ordinary use after them is not expanded either.
  const lines = [...defs, "\tIRQOFF", "\tA30", "\tA30", "\tA30", "\tIRQOFF", "\tsti"];
  const at = (re: RegExp) => lines.findIndex((t, i) => i > defs.length && re.test(t));
  const notAnalysed = (an: InstanceType<typeof AsmAnalysis>) => an.parseDiagnostics().filter((d) => /are not analysed/.test(d.message)).map((d) => d.range.line);
  const an = new AsmAnalysis(lines.join("\n"), { fileName: "chain.S" });
  const last = lines.length - 2;
  assert.deepEqual(notAnalysed(an), [defs.length + 1, defs.length + 2, defs.length + 3, last]);
  // The first IRQOFF, before the budget was spent, and the line without macros are analysed.
  assert.deepEqual(an.sites().map((s) => [s.range.line, s.entry.id]), [[defs.length, "cli"], [lines.length - 1, "sti"]]);
  // Edits keep showing what a fresh analysis of the text shows.
  const edits: (() => [number, string])[] = [() => [last, "\tIRQOFF; IRQOFF"], () => [at(/A30/), "\tnop"], () => [at(/A30/), "\tnop"], () => [at(/A30/), "\tnop"], () => [last, "\tIRQOFF"]];
  for (const next of edits) {
    const [line, text] = next();
    an.applyEdit({ start: { line, character: 0 }, end: { line, character: lines[line].length } }, text);
    lines[line] = text;
    const fresh = new AsmAnalysis(lines.join("\n"), { fileName: "chain.S" });
    assert.deepEqual(an.parseDiagnostics(), fresh.parseDiagnostics(), `after ${text} on line ${line}`);
    assert.deepEqual(an.sites().map((s) => [s.range, s.entry.id]), fresh.sites().map((s) => [s.range, s.entry.id]), `after ${text} on line ${line}`);
  }
  // With the exponential lines gone, the budget suffices again.
  assert.deepEqual(notAnalysed(an), []);
  assert.equal(an.sites().length, 3);
});

test("a comma pasted to an empty variadic argument (`, ## args`) goes, as GNU cpp deletes it; with an argument it stays", () => {
  const table = collectDefines(["#define REL(sym, off, opnd...) sym,##opnd ; .long off", "#define VA(a, ...) a , ## __VA_ARGS__"], "");
  // Blanks aside (the assembler does not mind them), what `gcc -E -x assembler-with-cpp` writes for each.
  const out = (line: string) => expandLine(line, table)!.text.replace(/\s+/g, "");
  assert.equal(out("\tljmpl $8,$REL(foo,6)"), "ljmpl$8,$foo;.long6");
  assert.equal(out("\tmov REL(foo,4,%eax)"), "movfoo,%eax;.long4");
  assert.equal(out("\tpush VA(%eax)"), "push%eax");
  assert.equal(out("\tmov VA(%eax, %ebx)"), "mov%eax,%ebx");
});

test("collectDefines skips the branches cpp surely drops (a header's C under #ifndef __ASSEMBLY__, #ifdef __APPLE__, #if 0); an unknown condition keeps both", () => {
  const d = collectDefines([
    "#ifndef __ASSEMBLY__", "#define ALIGN __attribute__((aligned(16)))", "#else", "#define ALIGN .align 16", "#endif",
    "#ifdef __APPLE__", "#define SYM(x) _##x", "#else", "#define SYM(x) x", "#endif",
    "#if 0", "#define GONE 1", "#endif",
    "#if defined(CONFIG_SMP)", "#define CPUS 8", "#else", "#define CPUS 1", "#endif",
    "#define TWO 2", "#if TWO > 1", "#define MANY yes", "#endif",
  ], "h.h");
  assert.equal(d.get("ALIGN")?.body, ".align 16");
  assert.equal(d.get("SYM")?.body, "x");
  assert.equal(d.has("GONE"), false);
  assert.equal(d.get("CPUS")?.body, "1");
  assert.equal(d.get("MANY")?.body, "yes");
});
