// Hover, inlay hints, code actions, code lens, preview and navigation from the bundled server over stdio.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { LspClient, range } from "./lsp-client.js";
import { afterburn } from "../../core/burn/afterburn.js";
import { SEMANTIC_TOKEN_MODIFIERS, SEMANTIC_TOKEN_TYPES } from "../../core/asm/navigate.js";

let client: LspClient;
let ws: string;
let mainUri: string;
let mainText: string;

before(async () => {
  ws = mkdtempSync(join(tmpdir(), "afterburn-lsp-"));
  mkdirSync(join(ws, "include"));
  writeFileSync(join(ws, "include", "irq.inc"), [
    "/* interrupt helpers */",
    "#define SAVE_FLAGS pushfl",
    ".macro IRQ_RESTORE",
    "\tpopfl",
    ".endm",
  ].join("\n"));
  writeFileSync(join(ws, "lib.S"), ["\t.globl puts", "puts:", "\toutb %al, %dx", "\tret"].join("\n"));
  mainText = [
    "#include \"include/irq.inc\"",      // 0
    "#define COM1 0x3f8",               // 1
    "#define OUTB(port) movw $port, %dx; outb %al, %dx", // 2
    "\t.section .multiboot, \"a\"",     // 3
    "\t.long 0x1BADB002",               // 4
    "\t.text",                          // 5
    "\t.globl _start",                  // 6
    "_start:",                          // 7
    "\tSAVE_FLAGS",                     // 8
    "\tcli",                            // 9
    "\tOUTB(COM1)",                     // 10
    "\tIRQ_RESTORE",                    // 11
    "\tcall puts",                      // 12
    "\tjmp 1f",                         // 13
    "1:\thlt",                          // 14
    "helper:",                          // 15
    "\tmovl %eax, %ebx",                // 16
    "\tret",                            // 17
  ].join("\n");
  mainUri = pathToFileURL(join(ws, "main.S")).href;
  writeFileSync(join(ws, "main.S"), mainText);
  client = await LspClient.start({ rootPath: ws });
  await client.openAndWait(mainUri, mainText);
});
after(async () => {
  await client.stop();
});

test("cpp #defines and .macros from an included header are expanded: sites map to exact columns", async () => {
  const d = client.diagnostics.get(mainUri)!;
  const sites = d.diagnostics.filter((x) => x.source === "afterburn").map((x) => [x.code, x.range.start.line, x.range.start.character, x.range.end.character]);
  assert.deepEqual(sites, [
    ["pushf", 8, 1, 11],   // SAVE_FLAGS (object-like #define from the header)
    ["cli", 9, 1, 4],
    ["out-dx", 10, 1, 11], // OUTB(COM1) (function-like #define): the whole invocation
    ["popf", 11, 1, 12],   // IRQ_RESTORE (.macro from the header)
    ["hlt", 14, 3, 6],
  ]);
  const popf = d.diagnostics.find((x) => x.code === "popf")!;
  assert.ok(popf.relatedInformation?.some((r) => r.location.uri.endsWith("/include/irq.inc") && r.location.range.start.line === 2), JSON.stringify(popf.relatedInformation));
  const pushf = d.diagnostics.find((x) => x.code === "pushf")!;
  assert.ok(pushf.relatedInformation?.some((r) => r.location.uri.endsWith("/include/irq.inc") && r.location.range.start.line === 1 && /#define SAVE_FLAGS/.test(r.message)));
});

test("hover: a site shows meaning, class, padding and the per-backend table; registers, directives, labels, macros too", async () => {
  const h = await client.request("textDocument/hover", { textDocument: { uri: mainUri }, position: { line: 9, character: 2 } });
  const md: string = h.contents.value;
  assert.match(md, /privileged/);
  assert.match(md, /pads \*\*\d+ bytes\*\*/);
  for (const b of ["raw", "trap", "vtx", "xen", "l4"]) assert.match(md, new RegExp(`\\| ${b} \\|`));
  const reg = await client.request("textDocument/hover", { textDocument: { uri: mainUri }, position: { line: 16, character: 14 } });
  assert.match(reg.contents.value, /register.*%ebx/);
  const dir = await client.request("textDocument/hover", { textDocument: { uri: mainUri }, position: { line: 5, character: 3 } });
  assert.match(dir.contents.value, /directive.*\.text/);
  const label = await client.request("textDocument/hover", { textDocument: { uri: mainUri }, position: { line: 13, character: 6 } });
  assert.match(label.contents.value, /label.*`1f`.*line 15/);
  const macro = await client.request("textDocument/hover", { textDocument: { uri: mainUri }, position: { line: 11, character: 4 } });
  assert.match(macro.contents.value, /macro.*irq_restore.*irq\.inc:3.*popfl/s);
  const plain = await client.request("textDocument/hover", { textDocument: { uri: mainUri }, position: { line: 16, character: 2 } });
  assert.match(plain.contents.value, /not virtualization-sensitive/);
});

test("hover through the bundled server: a name that is neither an instruction nor a macro is called unknown, not 'not sensitive'", async () => {
  const uri = pathToFileURL(join(ws, "unknown.s")).href;
  await client.openAndWait(uri, "\t.text\n\tfrobnicate %eax\n\taddl %eax, %ebx\n");
  const unknown = await client.request("textDocument/hover", { textDocument: { uri }, position: { line: 1, character: 3 } });
  assert.match(unknown.contents.value, /`frobnicate` is not a known instruction, nor a macro/);
  const add = await client.request("textDocument/hover", { textDocument: { uri }, position: { line: 2, character: 3 } });
  assert.match(add.contents.value, /not virtualization-sensitive/);
});

test("inlay hints show each site's padding and can be switched off", async () => {
  const hints: { position: { line: number; character: number }; label: string }[] = await client.request("textDocument/inlayHint", { textDocument: { uri: mainUri }, range: range(0, 0, 20, 0) });
  const burned = afterburn("\tcli\n\thlt\n");
  const cliPad = burned.sites[0].padding;
  assert.ok(hints.some((h) => h.position.line === 9 && h.position.character === 4 && h.label === `+${cliPad} B`), JSON.stringify(hints));
  assert.equal(hints.length, 5);
  const off = await LspClient.start({ settings: { inlayHints: { padding: false } } });
  try {
    const uri = "file:///tmp/afterburn-test/nohints.s";
    const p = off.waitForDiagnostics(uri);
    off.open(uri, "\tcli\n");
    await p;
    await new Promise((r) => setTimeout(r, 200)); // let the configuration round trip finish
    const none = await off.request("textDocument/inlayHint", { textDocument: { uri }, range: range(0, 0, 1, 0) });
    assert.deepEqual(none, []);
  } finally {
    await off.stop();
  }
});

test("code actions: preview, exclude from afterburning (an edit that removes the site's annotation), per-backend", async () => {
  const uri = "file:///tmp/afterburn-test/actions.s";
  const text = "f:\n\tpushl %eax\n\tcli\n\tret\n";
  const d = await client.openAndWait(uri, text);
  const actions: any[] = await client.request("textDocument/codeAction", { textDocument: { uri }, range: range(2, 1, 2, 4), context: { diagnostics: d.diagnostics } });
  const titles = actions.map((a) => a.title);
  assert.ok(titles.some((t) => /preview afterburned form/i.test(t)));
  const preview = actions.find((a) => /preview/i.test(a.title));
  assert.equal(preview.command.command, "afterburn.previewAfterburned");
  assert.equal(preview.command.arguments[0], uri);
  const backends = actions.find((a) => /per-backend/.test(a.title));
  assert.equal(backends.command.command, "afterburn.showBackends");
  assert.deepEqual(backends.command.arguments, [uri, { line: 2, character: 1 }]);
  const exclude = actions.find((a) => /Exclude/.test(a.title));
  assert.equal(exclude.kind, "quickfix");
  assert.equal(exclude.diagnostics[0].code, "cli");
  // Apply the edit as an editor would; the site must then be found but not annotated.
  const edits: { range: any; newText: string }[] = exclude.edit.changes[uri];
  const lines = text.split("\n");
  const sorted = [...edits].sort((a, b) => b.range.start.line - a.range.start.line || b.range.start.character - a.range.start.character);
  let out = text;
  const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  const burned = afterburn(out);
  assert.equal(burned.sites.length, 1);
  assert.equal(burned.sites[0].annotated, false);
  const after = await client.changeAndWait(uri, 2, [{ text: out }]);
  const cli = after.diagnostics.find((x) => x.code === "cli")!;
  assert.equal(cli.severity, 4);
});

test("afterburn/preview returns exactly what core/burn makes of the text, for the file or a range", async () => {
  const uri = "file:///tmp/afterburn-test/preview.s";
  const text = "\tcli\n\tnop\n\tsti\n\thlt\n";
  await client.openAndWait(uri, text);
  const whole = await client.request("afterburn/preview", { uri });
  const burned = afterburn(text, { fileName: "preview.s" });
  assert.equal(whole.text, burned.output);
  assert.equal(whole.sites, 3);
  const part = await client.request("afterburn/preview", { uri, range: range(2, 0, 2, 4) });
  assert.equal(part.text, burned.output.split("\n")[2]);
  assert.equal(part.sites, 1);
  assert.equal(await client.request("afterburn/preview", { uri: "file:///nope.s" }), null);
});

test("afterburn/preview reads .include'd files as the build does: the same text as `afterburn burn`, and a range keeps what its .include brings", async () => {
  mkdirSync(join(ws, "inc"), { recursive: true });
  writeFileSync(join(ws, "inc", "irqoff.inc"), "\tcli\n\tnop\n");
  const text = ["\t.text", "entry:", "\t.include \"inc/irqoff.inc\"", "\tsti", "\tret", ""].join("\n");
  writeFileSync(join(ws, "with-include.s"), text);
  const uri = pathToFileURL(join(ws, "with-include.s")).href;
  await client.openAndWait(uri, text);
  const built = spawnSync(process.execPath, [join(__dirname, "..", "..", "bin", "afterburn.js"), "burn", "with-include.s"], { cwd: ws, encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  const whole = await client.request("afterburn/preview", { uri });
  assert.equal(whole.text, built.stdout);
  assert.equal(whole.sites, 2);
  assert.match(whole.text, /cli; \.fill/);
  // The .include line's range: the included file's lines, between their markers.
  const part = await client.request("afterburn/preview", { uri, range: range(2, 0, 2, 0) });
  assert.deepEqual(part.text.split("\n").map((l: string) => l.trim().split(/[;:]/)[0]), ['# 1 "inc/irqoff.inc"', ".Lab_sens_0", "nop", '# 4 "with-include.s"']);
  assert.equal(part.sites, 1);
});

test("afterburn/preview answers for the document's current version: an edit between two requests shows", async () => {
  const uri = "file:///tmp/afterburn-test/preview-follow.s";
  const text = "\tcli\n\tnop\n";
  await client.openAndWait(uri, text, "gas-x86", 3);
  const first = await client.request("afterburn/preview", { uri });
  assert.equal(first.version, 3);
  assert.equal((await client.request("afterburn/preview", { uri, range: range(0, 0, 0, 3) })).version, 3);
  // The second line becomes `hlt`: a new burn, not the one kept for version 3.
  await client.changeAndWait(uri, 4, [{ range: range(1, 1, 1, 4), text: "hlt" }]);
  const second = await client.request("afterburn/preview", { uri });
  assert.equal(second.version, 4);
  assert.equal(second.text, afterburn("\tcli\n\thlt\n", { fileName: "preview-follow.s" }).output);
  assert.equal(second.sites, 2);
  assert.notEqual(second.text, first.text);
});

test("code lens: N sensitive sites per label, Afterburn & Run on a runnable guest's _start", async () => {
  const lenses: any[] = await client.request("textDocument/codeLens", { textDocument: { uri: mainUri } });
  const start = lenses.filter((l) => l.range.start.line === 7);
  assert.ok(start.some((l) => l.command.title === "5 sensitive sites" && l.command.command === "afterburn.previewAfterburned"), JSON.stringify(lenses));
  assert.ok(start.some((l) => l.command.title === "Afterburn & Run" && l.command.command === "afterburn.runGuest" && l.command.arguments[0] === mainUri));
  assert.ok(!lenses.some((l) => l.range.start.line === 15), "helper has no sites: no lens");
});

test("navigation: symbols, definition (file, header, workspace), references, workspace symbols", async () => {
  const symbols: any[] = await client.request("textDocument/documentSymbol", { textDocument: { uri: mainUri } });
  const names = symbols.map((s) => s.name);
  for (const n of ["_start", "helper", "COM1", "OUTB", ".multiboot", ".text"]) assert.ok(names.includes(n), `${n} in ${names}`);
  // Local label 1f.
  const def1: any[] = await client.request("textDocument/definition", { textDocument: { uri: mainUri }, position: { line: 13, character: 6 } });
  assert.equal(def1[0].range.start.line, 14);
  // Header macro.
  const defMacro: any[] = await client.request("textDocument/definition", { textDocument: { uri: mainUri }, position: { line: 11, character: 3 } });
  assert.ok(defMacro[0].uri.endsWith("/include/irq.inc"));
  assert.equal(defMacro[0].range.start.line, 2);
  // A cpp define in the file.
  const defCpp: any[] = await client.request("textDocument/definition", { textDocument: { uri: mainUri }, position: { line: 10, character: 7 } });
  assert.equal(defCpp[0].range.start.line, 1); // COM1
  const defFn: any[] = await client.request("textDocument/definition", { textDocument: { uri: mainUri }, position: { line: 10, character: 2 } });
  assert.equal(defFn[0].range.start.line, 2); // OUTB
  // A label in another workspace file (indexed after start-up).
  let defPuts: any[] | null = null;
  for (let i = 0; i < 50 && !defPuts; i++) {
    defPuts = await client.request("textDocument/definition", { textDocument: { uri: mainUri }, position: { line: 12, character: 8 } });
    if (!defPuts) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(defPuts && defPuts[0].uri.endsWith("/lib.S"));
  assert.equal(defPuts![0].range.start.line, 1);
  const refs: any[] = await client.request("textDocument/references", { textDocument: { uri: mainUri }, position: { line: 12, character: 8 }, context: { includeDeclaration: true } });
  assert.ok(refs.some((r) => r.uri === mainUri && r.range.start.line === 12));
  assert.ok(refs.some((r) => r.uri.endsWith("/lib.S") && r.range.start.line === 1));
  const wsym: any[] = await client.request("workspace/symbol", { query: "put" });
  assert.ok(wsym.some((s) => s.name === "puts" && s.location.uri.endsWith("/lib.S")));
  const defInclude: any[] = await client.request("textDocument/definition", { textDocument: { uri: mainUri }, position: { line: 0, character: 14 } });
  assert.ok(defInclude[0].uri.endsWith("/include/irq.inc"));
});

test("folding, semantic tokens with a sensitive modifier, completion", async () => {
  const uri = "file:///tmp/afterburn-test/fold.S";
  const text = [".macro M", "\tcli", ".endm", "#if 0", "\tnop", "#endif", ".afterburn_noannotate", "\thlt", ".afterburn_annotate", "\tmovl %eax, %ebx"].join("\n");
  await client.openAndWait(uri, text);
  const folds: any[] = await client.request("textDocument/foldingRange", { textDocument: { uri } });
  const pairs = folds.map((f) => [f.startLine, f.endLine]);
  for (const p of [[0, 2], [3, 5], [6, 8]]) assert.ok(pairs.some((q) => q[0] === p[0] && q[1] === p[1]), `${p} in ${JSON.stringify(pairs)}`);
  const tokens: { data: number[] } = await client.request("textDocument/semanticTokens/full", { textDocument: { uri } });
  const decoded: { line: number; start: number; length: number; type: string; mods: string[] }[] = [];
  let line = 0;
  let start = 0;
  for (let i = 0; i < tokens.data.length; i += 5) {
    const [dl, ds, len, type, mods] = tokens.data.slice(i, i + 5);
    line += dl;
    start = dl === 0 ? start + ds : ds;
    decoded.push({ line, start, length: len, type: SEMANTIC_TOKEN_TYPES[type], mods: SEMANTIC_TOKEN_MODIFIERS.filter((_, k) => mods & (1 << k)) });
  }
  const hlt = decoded.find((t) => t.line === 7);
  assert.deepEqual(hlt, { line: 7, start: 1, length: 3, type: "keyword", mods: ["sensitive", "privileged", "notAnnotated"] });
  const movl = decoded.find((t) => t.line === 9 && t.start === 1);
  assert.deepEqual(movl?.mods, []);
  assert.ok(decoded.some((t) => t.line === 9 && t.type === "variable"));
  const items: any[] = await client.request("textDocument/completion", { textDocument: { uri }, position: { line: 9, character: 1 } });
  const popf = items.find((i) => i.label === "popf");
  assert.match(popf.detail, /sensitive/);
  const regs: any[] = await client.request("textDocument/completion", { textDocument: { uri }, position: { line: 9, character: 7 } });
  assert.ok(regs.some((r) => r.label === "%cr3" && /privileged/.test(r.detail)));
});

test("what an expansion makes stays bounded in completions, definitions, code actions and the preview", async () => {
  const uri = pathToFileURL(join(ws, "made.S")).href;
  const text = [
    ".macro m", ".Lmade_\\@:", "\tmovl %r\\@, %eax", ".endm", // 0-3: a label and a parse error per call
    ".rept 3000", "\tm", ".endr", // 4-6
    ".rept 3000", "x:", ".endr", // 7-9: one label defined 3,000 times, all at the .rept
    "\tjmp x", "\t.L", // 10-11
  ].join("\n");
  await client.openAndWait(uri, text);
  // 3,000 labels made by the expansion: past 2,000 only those starting with the typed word, and the list says it is incomplete.
  const typed = (await client.request("textDocument/completion", { textDocument: { uri }, position: { line: 11, character: 3 } })) as { isIncomplete: boolean; items: { label: string }[] };
  assert.equal(typed.isIncomplete, true);
  assert.equal(typed.items.filter((i) => i.label.startsWith(".Lmade_")).length, 2_000);
  assert.ok(typed.items.every((i) => i.label.startsWith(".")));
  // Go to definition: the 3,000 definitions of x are one place.
  const def = (await client.request("textDocument/definition", { textDocument: { uri }, position: { line: 10, character: 5 } })) as { range: { start: { line: number } } }[];
  assert.deepEqual(def.map((d) => d.range.start.line), [7]);
  // A code action names at most 100 of the diagnostics the client sends it.
  const many = Array.from({ length: 3000 }, () => ({ range: range(5, 1, 5, 2), source: "afterburn", code: "cli", message: "cli" }));
  await client.changeAndWait(uri, 2, [{ range: range(1, 0, 1, 0), text: "\tcli\n" }]);
  const actions = (await client.request("textDocument/codeAction", { textDocument: { uri }, range: range(5, 0, 5, 3), context: { diagnostics: many } })) as { diagnostics?: unknown[] }[];
  assert.ok(actions.some((a) => a.diagnostics?.length === 100));
  assert.ok(actions.every((a) => (a.diagnostics?.length ?? 0) <= 100));
  // The preview lists 50 of the errors, then how many more.
  const preview = (await client.request("afterburn/preview", { uri, range: range(0, 0, 1, 0) })) as { text: string };
  const lines = preview.text.split("\n");
  assert.equal(lines.filter((l) => /^# afterburn: .*unknown register/.test(l)).length, 50);
  assert.ok(lines.some((l) => /^# afterburn: and [\d,]+ more errors$/.test(l)), lines.slice(48, 53).join("\n"));
  assert.ok(preview.text.length < 20_000, `${preview.text.length} characters`);
});
