// The afterburner's file output (prepareAfterburn().writeTo) must write exactly the
// bytes of afterburn(text).output as writeFileSync writes them, for every input: the fast-path test
// corpora (random compiler-style input, token soup, edge cases, gcc -S output), input only the full
// parser handles, CRLF, non-ASCII and invalid UTF-8, lone surrogates, and inputs large enough that
// the writer's chunk fills and flushes many times, given as text and as bytes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterburn, prepareAfterburn, type BurnOptions } from "../../../core/burn/afterburn.js";
import { FileSplice, StringSplice, type Splice } from "../../../core/burn/output.js";
import { compilerStyleInputs, EDGE_CASES, FULL_PARSE_CASES, gccInputs, random, REPEATED_CASES, SOUP_TOKENS, tokenSoupInputs, type Input } from "./corpora.js";

const dir = mkdtempSync(join(tmpdir(), "ab-out-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, "out.s");

/** What prepareAfterburn(input).writeTo() puts in a file; also checks the byte count it returns. */
function written(input: string | Uint8Array, options: BurnOptions): Buffer {
  const fd = openSync(file, "w");
  let n: number;
  try {
    n = prepareAfterburn(input, options).writeTo(fd);
  } finally {
    closeSync(fd);
  }
  const bytes = readFileSync(file);
  assert.equal(n, bytes.length, "writeTo returns the number of bytes written");
  return bytes;
}

/** Fails unless the file output of text (and of its UTF-8 bytes) is the string path's output, encoded as writeFileSync encodes it. */
function sameBytes(text: string, label: string, options: BurnOptions = {}): void {
  const r = afterburn(text, options);
  const want = Buffer.from(r.output, "utf8");
  assert.ok(written(text, options).equals(want), `${label}: file output from text differs`);
  const p = prepareAfterburn(text, options);
  assert.equal(p.outputString(), r.output, `${label}: outputString differs`);
  assert.deepEqual(p.sites, r.sites, `${label}: sites differ`);
  assert.deepEqual(p.diagnostics, r.diagnostics, `${label}: diagnostics differ`);
  // The bytes of a file: decoded as readFileSync(path, "utf8") decodes them (unpaired surrogates do not survive UTF-8).
  const bytes = Buffer.from(text, "utf8");
  const fromBytes = afterburn(bytes.toString("utf8"), options);
  assert.ok(written(bytes, options).equals(Buffer.from(fromBytes.output, "utf8")), `${label}: file output from bytes differs`);
  assert.deepEqual(prepareAfterburn(bytes, options).sites, fromBytes.sites, `${label}: sites from bytes differ`);
}

function sameAll(inputs: readonly Input[], extra: BurnOptions = {}): void {
  for (const { name, text, mode } of inputs) sameBytes(text, name, { mode, fileName: "t.s", ...extra });
}

const asInputs = (texts: readonly string[]): Input[] => texts.map((text) => ({ name: JSON.stringify(text), text, mode: 32 }));

/** One text holding all the inputs, one after another: large enough to fill and flush the writer's chunk many times. */
function concatenated(inputs: readonly Input[], name: string): Input {
  return { name, text: inputs.map((i) => i.text).join("\n"), mode: 32 };
}

/** A gcc -S–like file of `lines` lines; one function in `every` holds sensitive inline asm; `decorate` rewrites each line. */
function kernel(lines: number, every: number, decorate: (line: string, n: number) => string = (l) => l): string {
  const out = ['\t.file "big.c"', "\t.text"];
  const body = ["\tpushl\t%ebp", "\tmovl\t%esp, %ebp", "\tmovl\t8(%ebp), %eax", "#APP", "\tcli", "\tmovl\t%eax, %cr3", "#NO_APP", "\tpushfl", "\tpopl\t%eax", "\tpopl\t%ebp", "\tret"];
  for (let n = 0; out.length < lines; n++) {
    out.push(`\t.globl\tf${n}`, `f${n}:`);
    for (const l of body) if (n % every === 0 || !/cli|%cr3|pushfl|APP/.test(l)) out.push(decorate(l, n));
  }
  return out.join("\n") + "\n";
}

test("random compiler-style input and token soup: file output = string output", () => {
  sameAll(compilerStyleInputs());
  sameAll(tokenSoupInputs());
});

test("edge cases, repeated lines with LF and CRLF, and input only the full parser handles", () => {
  sameAll(asInputs(EDGE_CASES));
  sameAll(asInputs(REPEATED_CASES));
  sameAll(asInputs(REPEATED_CASES.map((t) => t.replace(/\n/g, "\r\n"))));
  sameAll(asInputs(FULL_PARSE_CASES));
  sameAll(asInputs(["", "\n", "cli", "cli\n", "\r\n", "é", "cli é\n", "😀\n\tcli\n"]));
});

test("the full parser's edits, --no-annotate and already-afterburned input", () => {
  const some = compilerStyleInputs().slice(0, 120);
  sameAll(some, { fullParse: true });
  sameAll(some, { annotate: false });
  sameAll(asInputs([...EDGE_CASES, ...REPEATED_CASES]), { fullParse: true });
  const burnt = afterburn(kernel(2000, 3)).output;
  assert.equal(prepareAfterburn(burnt).alreadyAfterburned, true);
  sameBytes(burnt, "already afterburned");
});

test("gcc -S output of the burn corpus and the example guests: file output = string output", () => {
  const inputs = gccInputs();
  assert.ok(inputs.length >= 10, `only ${inputs.length} inputs`);
  sameAll(inputs);
  sameAll(inputs, { fullParse: true });
  sameAll([concatenated(inputs, "all gcc output in one file")]);
});

test("large inputs: ASCII, CRLF, non-ASCII, with sites dense and sparse, through many chunk flushes", () => {
  const emoji = (l: string, n: number) => (n % 3 === 0 && l.startsWith("\tpush") ? `${l} # ${"😀é".repeat(n % 17)}` : l);
  const labels = (l: string, n: number) => l.replace(/^f(\d+):/, "fé$1:");
  for (const [every, size] of [[2, 40_000], [200, 40_000], [1, 5_000]] as const) {
    const ascii = kernel(size, every);
    sameBytes(ascii, `ascii every ${every}`);
    sameBytes(ascii.replace(/\n/g, "\r\n"), `crlf every ${every}`);
    sameBytes(kernel(size, every, emoji), `emoji comments every ${every}`);
    sameBytes(kernel(size, every, labels), `non-ASCII labels every ${every}`);
  }
  // Comments dense with surrogate pairs: the UTF-8 chunk boundaries fall inside pairs too.
  sameBytes(kernel(20_000, 2, (l) => (l === "\tcli" ? l : `${l} # ${"😀".repeat(40)}`)), "pair-dense");
  sameAll([concatenated([...tokenSoupInputs(), ...compilerStyleInputs()], "all random inputs in one file")]);
});

test("unpaired surrogates in text are encoded as writeFileSync encodes them; bytes that are not UTF-8 are kept", () => {
  const tokens = [...SOUP_TOKENS, "\ud83d", "\ude00", "😀", "\ud83d\ud83d", "x\ud83d", "\ude00x", "cli\ud83d", "\ud83dcli", ".afterburn_annotate\ud83d", "\ude00.afterburn_annotate"];
  const soup = tokenSoupInputs(tokens, 7_000, 400);
  sameAll(soup);
  sameAll(soup.slice(0, 100), { fullParse: true });
  sameAll([concatenated(soup, "surrogate soup in one file")]);
  sameBytes(kernel(30_000, 2, (l, n) => (n % 5 === 0 ? `${l} # \ud83d` : n % 7 === 0 ? `${l}\ude00` : l)), "lone surrogates, large");

  // Bytes that are not UTF-8 are one character each (latin1) and come out as they went in, as GNU as
  // takes them: decoded as UTF-8 they became U+FFFD in the object.
  const bad = Buffer.concat([Buffer.from("\t.text\n\tcli # "), Buffer.from([0x80, 0xff, 0xc3]), Buffer.from("\n\tsti\n\tmovl %eax, %cr3 # "), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from("\n")]);
  writeFileSync(join(dir, "bad.s"), bad);
  const want = Buffer.from(afterburn(readFileSync(join(dir, "bad.s"), "latin1")).output, "latin1");
  assert.ok(written(bad, {}).equals(want));
  assert.ok(written(bad, {}).includes(Buffer.from([0x80, 0xff, 0xc3])));
  // A Uint8Array that is a view into a larger buffer, not a Buffer.
  const big = Buffer.from("junk" + kernel(3000, 2) + "junk");
  const view = new Uint8Array(big.buffer, big.byteOffset + 4, big.length - 8);
  assert.ok(written(view, {}).equals(Buffer.from(afterburn(kernel(3000, 2)).output)));
});

test("writeTo writes to a path (truncating it) or at a descriptor's current position", () => {
  const text = kernel(3000, 2);
  const want = Buffer.from(afterburn(text, { fileName: "k.s" }).output);
  writeFileSync(file, "x".repeat(want.length * 2));
  const r = prepareAfterburn(Buffer.from(text), { fileName: "k.s" });
  assert.equal(r.writeTo(file), want.length);
  assert.deepEqual(r.sites, afterburn(text, { fileName: "k.s" }).sites);
  assert.ok(readFileSync(file).equals(want));
  const fd = openSync(file, "w");
  try {
    writeSync(fd, "# prefix\n");
    prepareAfterburn(text, { fileName: "k.s" }).writeTo(fd);
    writeSync(fd, "# suffix\n");
  } finally {
    closeSync(fd);
  }
  assert.equal(readFileSync(file, "utf8"), `# prefix\n${want.toString()}# suffix\n`);
});

test("FileSplice: random pieces of random text, pairs split at every kind of boundary", () => {
  const rnd = random(99);
  const alphabet = ["a", "b", "\n", "é", "€", "😀", "\ud83d", "\ude00", "\u0800", "\uffff"];
  const randomText = (n: number) => {
    let s = "";
    while (s.length < n) s += alphabet[Math.floor(rnd() * alphabet.length)]!;
    return s;
  };
  for (let round = 0; round < 40; round++) {
    const text = randomText(round < 30 ? 2_000 : 300_000);
    const ascii = round % 4 === 0;
    const source = ascii ? text.replace(/[^\x00-\x7f]/g, "z") : text;
    const bytes = ascii && round % 8 === 0 ? Buffer.from(source, "latin1") : undefined;
    const ops: ((s: Splice) => void)[] = [];
    for (let at = 0; at < source.length; ) {
      const to = Math.min(source.length, at + Math.floor(rnd() * (rnd() < 0.05 ? 100_000 : 200)));
      const [a, b] = [at, to];
      ops.push((s) => s.copy(a, b));
      const insert = randomText(Math.floor(rnd() * 6));
      ops.push((s) => s.insert(insert));
      at = to + (rnd() < 0.3 ? 1 : 0); // sometimes skip a character: a deletion
    }
    const joined = new StringSplice(source);
    for (const op of ops) op(joined);
    const fd = openSync(file, "w");
    let n: number;
    try {
      const out = new FileSplice(fd, source, bytes, ascii);
      for (const op of ops) op(out);
      n = out.finish();
    } finally {
      closeSync(fd);
    }
    const want = Buffer.from(joined.result(), "utf8");
    assert.equal(n, want.length, `round ${round}: byte count`);
    assert.ok(readFileSync(file).equals(want), `round ${round}: bytes differ`);
  }
});
