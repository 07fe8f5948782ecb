// C inline asm through the bundled server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { LspClient, range } from "./lsp-client.js";
import { analyseC } from "../../core/cinline/index.js";
import { afterburn } from "../../core/burn/afterburn.js";

let client: LspClient;
before(async () => {
  client = await LspClient.start();
});
after(async () => {
  await client.stop();
});

const C = [
  "#include <stdint.h>",                                                          // 0
  "static inline void irq_off(void) { __asm__ volatile(\"cli\" ::: \"memory\"); }", // 1
  "static inline uint32_t flags(void) {",                                         // 2
  "  uint32_t f;",                                                                // 3
  "  asm volatile(\"pushfl\\n\\t\"",                                              // 4
  "               \"popl %0\" : \"=r\"(f));",                                     // 5
  "  return f;",                                                                  // 6
  "}",                                                                            // 7
  "uint32_t kmain(uint32_t magic) {",                                             // 8
  "  irq_off();",                                                                 // 9
  "  return flags() + magic;",                                                    // 10
  "}",                                                                            // 11
].join("\n");

test("sites in C inline asm are diagnostics at their exact columns", async () => {
  const uri = "file:///tmp/afterburn-test/guest.c";
  const d = await client.openAndWait(uri, C, "c");
  assert.deepEqual(d.diagnostics.map((x) => [x.code, x.range.start.line, x.range.start.character]), [["cli", 1, C.split("\n")[1].indexOf("cli")], ["pushf", 4, C.split("\n")[4].indexOf("pushfl")]]);
  const h = await client.request("textDocument/hover", { textDocument: { uri }, position: { line: 4, character: 18 } });
  assert.match(h.contents.value, /pushfl.*sensitive but unprivileged/s);
  const hints: any[] = await client.request("textDocument/inlayHint", { textDocument: { uri }, range: range(0, 0, 12, 0) });
  assert.equal(hints.length, 2);
});

test("code lens per C function with sites, and Afterburn & Run on kmain", async () => {
  const uri = "file:///tmp/afterburn-test/guest.c";
  const lenses: any[] = await client.request("textDocument/codeLens", { textDocument: { uri } });
  const titles = lenses.map((l) => [l.range.start.line, l.command.title]);
  assert.deepEqual(titles, [[1, "1 sensitive site"], [2, "1 sensitive site"], [8, "Afterburn & Run"]]);
});

test("preview of a C file burns the templates with the very same core/burn call", async () => {
  const uri = "file:///tmp/afterburn-test/guest.c";
  const p = await client.request("afterburn/preview", { uri });
  const analysis = await analyseC(C);
  const burned = afterburn(analysis.assembly, { fileName: "guest.c" });
  for (const line of burned.output.split("\n")) assert.ok(p.text.includes(line), line);
  assert.match(p.text, /# guest\.c:2\n.*cli; \.fill \d+,1,0x90/);
  assert.equal(p.sites, 2);
});

test("preview of a C file with a #define nobody uses: its asm comes under a heading that says so, with no line 0", async () => {
  const uri = "file:///tmp/afterburn-test/unused-macro.c";
  const text = ['#define IRQ_OFF asm volatile("cli")', '#define UNUSED asm volatile("hlt")', 'void f(void) { IRQ_OFF; asm("sti"); }', ""].join("\n");
  await client.openAndWait(uri, text, "c");
  const p = await client.request("afterburn/preview", { uri });
  assert.doesNotMatch(p.text, /unused-macro\.c:0\b/);
  assert.match(p.text, /# unused-macro\.c: #define bodies no code here uses[^\n]*\n# unused-macro\.c:2\n.*hlt; \.fill/);
});

test("Exclude from afterburning in C edits the template; the re-analysed site is not annotated", async () => {
  const uri = "file:///tmp/afterburn-test/exclude.c";
  const text = "void f(void) { asm volatile(\"cli\"); }\n";
  const d = await client.openAndWait(uri, text, "c");
  const actions: any[] = await client.request("textDocument/codeAction", { textDocument: { uri }, range: range(0, 30, 0, 30), context: { diagnostics: d.diagnostics } });
  const exclude = actions.find((a) => /Exclude/.test(a.title));
  const edits: any[] = exclude.edit.changes[uri];
  let out = text;
  for (const e of [...edits].sort((a, b) => b.range.start.character - a.range.start.character)) out = out.slice(0, e.range.start.character) + e.newText + out.slice(e.range.end.character);
  assert.equal(out, "void f(void) { asm volatile(\".afterburn_noannotate\\n\\tcli\\n\\t.afterburn_annotate\"); }\n");
  const after = await client.changeAndWait(uri, 2, [{ text: out }]);
  assert.equal(after.diagnostics.find((x) => x.code === "cli")?.severity, 4);
});

test("a C file without asm gets empty diagnostics; edits adding asm are picked up", async () => {
  const uri = "file:///tmp/afterburn-test/plain.c";
  const d = await client.openAndWait(uri, "int add(int a, int b) { return a + b; }\n", "c");
  assert.deepEqual(d.diagnostics, []);
  const e = await client.changeAndWait(uri, 2, [{ range: range(0, 24, 0, 24), text: "__asm__(\"hlt\"); " }]);
  assert.deepEqual(e.diagnostics.map((x) => [x.code, x.range.start.character]), [["hlt", 33]]);
});

test("a #define's site is shown as annotated or not by where the macro is used, not where it is defined", async () => {
  const uri = "file:///tmp/afterburn-test/macro-region.c";
  const text = ['#define OFF() asm volatile("cli")', "void f(void) {", '  asm(".afterburn_noannotate");', "  OFF();", '  asm(".afterburn_annotate");', "}", ""].join("\n");
  const d = await client.openAndWait(uri, text, "c");
  const cli = d.diagnostics.find((x) => x.code === "cli");
  // Severity 4 (hint): found, not annotated, as the Exclude action's result above.
  assert.deepEqual([cli?.range.start.line, cli?.severity], [0, 4]);
});

test("a template built with the file's function-like macros: each site's diagnostic is on the macro invocation's name, or on the argument it comes from", async () => {
  const uri = "file:///tmp/afterburn-test/fn-macros.c";
  const text = [
    "#define __stringify_1(x...) #x",
    "#define __stringify(x...) __stringify_1(x)",
    "#define CR(n) \"mov %%cr\" #n \", %0\"",
    "unsigned long f(void) { unsigned long v; asm volatile(CR(3) : \"=r\"(v)); return v; }",
    "void g(void) { asm volatile(\"nop; \" __stringify(hlt)); }",
    "",
  ].join("\n");
  const d = await client.openAndWait(uri, text, "c");
  const lines = text.split("\n");
  assert.deepEqual(
    d.diagnostics.map((x) => [x.code, x.range.start.line, lines[x.range.start.line]!.slice(x.range.start.character, x.range.end.character)]),
    [["mov-from-cr3", 3, "CR"], ["hlt", 4, "hlt"]],
  );
});
