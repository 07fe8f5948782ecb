import { test } from "node:test";
import assert from "node:assert/strict";
import { AsmDocument, parseAsm, splitLines } from "../../../core/asm/index.js";
import type { AsmFile, ParsedLine, Span } from "../../../core/asm/index.js";
import { prng as rng } from "../../prng.js";

const CORPUS = [
  "\tmovl\t8(%ebp), %eax", "1: cli # c", "cli; sti", "rep; movsl", "lock incl (%eax)", '.ascii "a;b#c"',
  ".macro m a, b=1", "  movl \\a, %eax", ".endm", "  m %ebx", ".rept 2", "nop", ".endr", ".irp r, eax, ebx", "pushl %\\r",
  "#APP", '# 3 "x.c" 1', "#NO_APP", "#if 0", "#endif", "movl /* x */ %eax, %ebx", "/* open", "close */ hlt", ".code16",
  ".pushsection .afterburn", ".popsection", "x = 1+2", "ljmp $8, $1f", "movl %fs:4(,%ebx,4), %ecx", "movb $'#, %al",
  "#define FOO \\", "  cli", ".if 1", ".else", ".endif", "%fs: lodsb", "fadd %st(1), %st", "jmp *%eax", "",
];

function randomText(r: () => number, len: number): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const k = r();
    if (k < 0.5) s += String.fromCharCode(32 + Math.floor(r() * 95));
    else if (k < 0.7) s += "%$()*,:;#/\\\"'.@{}\n\t"[Math.floor(r() * 19)];
    else if (k < 0.8) s += String.fromCharCode(Math.floor(r() * 0x10000));
    else s += "\uFFFD";
  }
  return s;
}

function randomDocument(r: () => number): string {
  const lines: string[] = [];
  const n = 1 + Math.floor(r() * 30);
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.6) lines.push(CORPUS[Math.floor(r() * CORPUS.length)]);
    else if (k < 0.8) {
      const base = CORPUS[Math.floor(r() * CORPUS.length)];
      const at = Math.floor(r() * (base.length + 1));
      lines.push(base.slice(0, at) + randomText(r, 1 + Math.floor(r() * 3)) + base.slice(at + Math.floor(r() * 3)));
    } else lines.push(randomText(r, Math.floor(r() * 40)));
  }
  return lines.join("\n");
}

function checkSpan(span: Span, texts: string[], expanded?: string): void {
  assert.ok(Number.isInteger(span.line) && span.line >= 0 && span.line < texts.length, `line ${span.line}`);
  const len = expanded !== undefined ? expanded.length : texts[span.line].length;
  assert.ok(span.start >= 0 && span.start <= span.end, JSON.stringify(span));
  assert.ok(span.end <= Math.max(len, span.start + 1), `${JSON.stringify(span)} beyond ${len}`);
}

function checkFile(f: AsmFile, text: string): void {
  const texts = splitLines(text);
  assert.equal(f.lines.length, texts.length);
  f.lines.forEach((pl, i) => {
    for (const s of pl.statements) {
      assert.equal(s.span.line, i);
      checkSpan(s.span, texts);
      if (s.kind === "instruction") {
        checkSpan(s.mnemonicSpan, texts);
        for (const o of s.operands) {
          checkSpan(o.span, texts);
          assert.ok(o.span.start >= s.span.start && o.span.end <= s.span.end);
        }
        assert.equal(texts[i].slice(s.span.start, s.span.end), s.text);
      }
    }
    for (const d of pl.diagnostics) checkSpan(d.span, texts);
  });
  for (const e of f.statements) {
    assert.ok(e.line >= 0 && e.line < texts.length);
    checkSpan(e.statement.span, texts, e.text);
  }
  for (const d of f.diagnostics) checkSpan(d.span, texts);
}

test("random and mutated documents never throw and give well-formed spans", () => {
  const r = rng(1234);
  for (let k = 0; k < 400; k++) {
    const text = randomDocument(r);
    let f: AsmFile;
    try {
      f = parseAsm(text, { fileName: k % 2 ? "a.S" : "a.s" });
    } catch (e) {
      assert.fail(`threw on ${JSON.stringify(text)}: ${e}`);
    }
    checkFile(f, text);
  }
});

test("binary garbage never throws", () => {
  const r = rng(99);
  for (let k = 0; k < 50; k++) {
    const bytes = new Uint8Array(2000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    const text = new TextDecoder("utf-8").decode(bytes); // invalid sequences become U+FFFD
    checkFile(parseAsm(text), text);
  }
});

function normalise(lines: ParsedLine[]): unknown {
  // origin/inApp/... are recomputed by the file pass; compare everything the lexer produced.
  return lines.map((l) => ({ statements: l.statements, diagnostics: l.diagnostics, origin: l.origin, inApp: l.inApp, skipped: l.skipped, template: l.template }));
}

test("AsmDocument: random edits give the same result as a full parse", () => {
  const r = rng(77);
  for (let round = 0; round < 40; round++) {
    const text = randomDocument(r);
    const doc = new AsmDocument(text, { fileName: "d.S" });
    for (let e = 0; e < 15; e++) {
      const n = doc.lineCount;
      const start = Math.floor(r() * (n + 1));
      const end = Math.min(n, start + Math.floor(r() * 3));
      const count = Math.floor(r() * 3);
      const repl: string[] = [];
      for (let i = 0; i < count; i++) repl.push(r() < 0.7 ? CORPUS[Math.floor(r() * CORPUS.length)] : randomText(r, 10).replace(/\n/g, " "));
      if (r() < 0.5) doc.applyChange(start, end, repl);
      else {
        const sl = Math.min(start, n - 1);
        const line = doc.lineText(sl);
        const sc = Math.floor(r() * (line.length + 1));
        doc.applyEdit({ start: { line: sl, character: sc }, end: { line: Math.min(n - 1, sl + Math.floor(r() * 2)), character: Math.floor(r() * 5) } }, repl.join("\n"));
      }
      const full = parseAsm(doc.text, { fileName: "d.S" });
      assert.deepEqual(normalise(doc.lines), normalise(full.lines), `round ${round} edit ${e}`);
      assert.deepEqual(doc.statements, full.statements);
      assert.deepEqual(doc.diagnostics, full.diagnostics);
    }
  }
});

test("AsmDocument re-lexes only changed lines unless the comment state changes", () => {
  const lines = Array.from({ length: 1000 }, (_, i) => `\tmovl $${i}, %eax`);
  const doc = new AsmDocument(lines.join("\n"));
  void doc.statements;
  assert.equal(doc.applyChange(500, 501, ["\tcli"]), 1);
  assert.equal(doc.version, 1);
  assert.equal(doc.statements[500].statement.kind === "instruction" && doc.statements[500].statement.mnemonic, "cli");
  // An edit that changes nothing structural is patched in without a full pass...
  assert.equal(doc.lastAnalysisWasPatch, true);
  doc.applyChange(501, 502, ["\tmovl %exx, %eax"]);
  assert.equal(doc.diagnostics.length, 1);
  assert.equal(doc.diagnostics[0].span.line, 501);
  assert.equal(doc.lastAnalysisWasPatch, true);
  // ...a structural one (here a section switch) is not.
  doc.applyChange(501, 502, ["\t.data"]);
  assert.equal(doc.diagnostics.length, 0);
  assert.equal(doc.statements[502].section, ".data");
  assert.equal(doc.lastAnalysisWasPatch, false);
  doc.applyChange(501, 502, ["\tnop"]);
  assert.equal(doc.statements[502].section, ".text");
  assert.equal(doc.applyChange(10, 10, ["/* open"]), 991);
  assert.equal(doc.statements.length, 10 + 0);
  assert.ok(doc.diagnostics.some((d) => /unterminated comment/.test(d.message) && d.span.line === 10));
  assert.equal(doc.applyChange(10, 11, ["nop"]), 991);
  assert.equal(doc.statements.length, 1001);
  // Inserted line shifts the following spans.
  doc.applyEdit({ start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, "cli\n");
  assert.equal(doc.lines[1001].statements[0].span.line, 1001);
  assert.equal(doc.statements[1001].line, 1001);
});

test("AsmDocument: an edit that turns a line into a macro invocation is not patched", () => {
  const doc = new AsmDocument([".macro m", "  cli", ".endm", "  nop", ".purgem m", "  nop"].join("\n"));
  void doc.statements;
  doc.applyChange(3, 4, ["  m"]);
  const full = parseAsm(doc.text);
  assert.deepEqual(doc.statements, full.statements);
  assert.ok(doc.statements.some((s) => s.expansion?.name === "m" && s.line === 3));
  doc.applyChange(5, 6, ["  m"]); // after .purgem: an ordinary instruction word
  assert.deepEqual(doc.statements, parseAsm(doc.text).statements);
});
