// Property: whatever text arrives (random bytes, invalid UTF-8, lone surrogates, mutated assembly and C, huge
// lines), the server answers every request and never exits; after any sequence of incremental edits its
// diagnostics equal those of the same text opened fresh.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { LspClient, type Diagnostic } from "./lsp-client.js";
import { prng as rng } from "../prng.js";

let client: LspClient;
before(async () => {
  client = await LspClient.start();
});
after(async () => {
  await client.stop();
});

const ASM_SAMPLE = [
  "#include \"missing.h\"", "#define F(x) movl x, %cr3", ".macro M a, b=1", "\tpushl \\a", "\tcli", ".endm",
  "\t.text", "_start:", "\tM %eax", "\tF(%eax)", "\tpopfl", ".rept 3", "\tin $0x60, %al", ".endr",
  "/* a comment", "still */ sti", "\t.afterburn_noannotate", "\thlt", "\t.afterburn_annotate", "1:\tjmp 1b", ".if 0", "\tlgdt x", ".endif",
].join("\n");
const C_SAMPLE = [
  "#define IRQ() asm volatile(\"cli\" ::: \"memory\")", "int f(int v) {", "  asm volatile(\"movl %0, %%cr3\\n\\t\"", "    \"popfl\" :: \"r\"(v));",
  "  asm goto(\"jmp %l0\" :::: out);", "out: return 0;", "}",
].join("\n");
const TOKENS = ["\\", "\"", "/*", "*/", ".macro", ".endm", "#define Q(a) a", "#if", "#endif", ".rept 2", ".endr", "%", "%[", "(", ")", ":", ";", "\n", "\t", "asm(", "\"cli\"", "\u0000", "\ud800", "é", "😀", "\r\n", "\r"];

function mutate(r: () => number, text: string, n: number): string {
  let t = text;
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (t.length + 1));
    const op = r();
    if (op < 0.4) t = t.slice(0, at) + TOKENS[Math.floor(r() * TOKENS.length)] + t.slice(at);
    else if (op < 0.7) t = t.slice(0, at) + t.slice(at + Math.floor(r() * 20));
    else t = t.slice(0, at) + String.fromCharCode(Math.floor(r() * 0x10000)) + t.slice(at + 1);
  }
  return t;
}

function randomDocument(r: () => number): { text: string; languageId: string } {
  const k = r();
  if (k < 0.2) {
    const bytes = Buffer.alloc(Math.floor(r() * 4000));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    return { text: bytes.toString(r() < 0.5 ? "latin1" : "utf8"), languageId: r() < 0.5 ? "gas-x86" : "c" };
  }
  if (k < 0.3) return { text: "\tcli ; ".repeat(5000 + Math.floor(r() * 15000)) + "\n\tnop", languageId: "gas-x86" }; // one huge line
  if (k < 0.7) return { text: mutate(r, ASM_SAMPLE, Math.floor(r() * 30)), languageId: "gas-x86" };
  return { text: mutate(r, C_SAMPLE, Math.floor(r() * 30)), languageId: "c" };
}

/** Each diagnostic whole (related locations in the document itself named alike for both URIs). */
function key(d: Diagnostic[], uri: string): string[] {
  return d.map((x) => `${x.code}@${x.range.start.line}:${x.range.start.character}-${x.range.end.line}:${x.range.end.character}/${x.severity} ${x.message} ${JSON.stringify(x.relatedInformation ?? []).split(JSON.stringify(uri).slice(1, -1)).join("<document>")}`).sort();
}

// The second seed is one that found bugs (an edit past the end of a C document, a CR joined to an LF).
// LSP_PROPERTY_SEED runs another seed instead.
const SEEDS = process.env.LSP_PROPERTY_SEED ? [Number(process.env.LSP_PROPERTY_SEED)] : [0xaf7e2b, 0x1234];
for (const seed of SEEDS) test(`random and mutated documents: the server answers everything and incremental = fresh (seed ${seed})`, async () => {
  const r = rng(seed);
  const lineCountOf = (t: string) => t.split(/\r\n|\r|\n/).length;
  for (let doc = 0; doc < 40; doc++) {
    const { text, languageId } = randomDocument(r);
    if (process.env.PROP_TRACE) console.error("doc", doc, languageId, text.length, Date.now());
    const uri = `file:///tmp/afterburn-prop/s${seed}-doc${doc}.${languageId === "c" ? "c" : "S"}`;
    await client.openAndWait(uri, text, languageId);
    let current = text;
    let version = 1;
    for (let e = 0; e < 4; e++) {
      const lines = lineCountOf(current);
      const sl = Math.floor(r() * (lines + 2)) - 1; // sometimes out of range
      const el = sl + Math.floor(r() * 3);
      const insert = mutate(r, r() < 0.5 ? "\tcli\n" : "", Math.floor(r() * 4));
      const range = { start: { line: sl, character: Math.floor(r() * 40) }, end: { line: el, character: Math.floor(r() * 40) } };
      version++;
      // Full replacement sometimes, as some clients send.
      if (r() < 0.2) {
        current = mutate(r, current.slice(0, 5000), 5);
        await client.changeAndWait(uri, version, [{ text: current }]);
      } else {
        await client.changeAndWait(uri, version, [{ range, text: insert }]);
        current = applyEdit(current, range, insert);
      }
      const pos = { line: Math.floor(r() * (lineCountOf(current) + 1)), character: Math.floor(r() * 60) };
      const td = { uri };
      const answers = await Promise.all([
        client.request("textDocument/hover", { textDocument: td, position: pos }),
        client.request("textDocument/inlayHint", { textDocument: td, range: { start: { line: 0, character: 0 }, end: { line: 1000, character: 0 } } }),
        client.request("textDocument/codeLens", { textDocument: td }),
        client.request("textDocument/codeAction", { textDocument: td, range: { start: pos, end: pos }, context: { diagnostics: [] } }),
        client.request("textDocument/semanticTokens/full", { textDocument: td }),
        client.request("textDocument/documentSymbol", { textDocument: td }),
        client.request("textDocument/foldingRange", { textDocument: td }),
        client.request("textDocument/completion", { textDocument: td, position: pos }),
        client.request("textDocument/definition", { textDocument: td, position: pos }),
        client.request("afterburn/preview", { uri, range: { start: pos, end: pos } }),
      ]);
      assert.equal(answers.length, 10);
      assert.ok(Array.isArray(answers[1]) && Array.isArray(answers[2]) && Array.isArray(answers[3]));
      assert.ok(answers[9] === null || typeof answers[9].text === "string");
    }
    // Incremental edits must end where a fresh analysis of the same text ends.
    const incremental = client.diagnostics.get(uri)!.diagnostics;
    const freshUri = uri.replace(/(\.\w+)$/, "-fresh$1");
    const fresh = await client.openAndWait(freshUri, current, languageId);
    assert.deepEqual(key(incremental, uri), key(fresh.diagnostics, freshUri), `document ${doc}: ${JSON.stringify(current.slice(0, 300))}`);
    client.notify("textDocument/didClose", { textDocument: { uri } });
    client.notify("textDocument/didClose", { textDocument: { uri: freshUri } });
  }
  assert.equal(client.exited, undefined, client.stderr);
});

test("raw invalid UTF-8 bytes on the wire are survived", async () => {
  const uri = "file:///tmp/afterburn-prop/raw.s";
  const body = Buffer.concat([
    Buffer.from(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"${uri}","languageId":"gas-x86","version":1,"text":"\\tcli \xff\xfe`, "latin1"),
    Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc]),
    Buffer.from(`\\n\\thlt"}}}`, "latin1"),
  ]);
  const p = client.waitForDiagnostics(uri);
  client.process.stdin!.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
  const d = await p;
  assert.ok(d.diagnostics.some((x) => x.code === "hlt"), JSON.stringify(d.diagnostics));
  const h = await client.request("textDocument/hover", { textDocument: { uri }, position: { line: 1, character: 2 } });
  assert.match(h.contents.value, /hlt/);
  assert.equal(client.exited, undefined);
});

function applyEdit(text: string, range: { start: { line: number; character: number }; end: { line: number; character: number } }, insert: string): string {
  // The LSP rule (as vscode-languageserver-textdocument and the server apply it): positions are clamped to the document.
  const lines = text.split(/\r\n|\r|\n/);
  const seps: string[] = [];
  const re = /\r\n|\r|\n/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) seps.push(m[0]);
  const offsetOf = (p: { line: number; character: number }) => {
    if (p.line < 0) return 0;
    if (p.line >= lines.length) return text.length;
    let o = 0;
    for (let i = 0; i < p.line; i++) o += lines[i].length + seps[i].length;
    return o + Math.min(Math.max(0, p.character), lines[p.line].length);
  };
  const a = Math.min(offsetOf(range.start), offsetOf(range.end));
  const b = Math.max(offsetOf(range.start), offsetOf(range.end));
  return text.slice(0, a) + insert + text.slice(b);
}
