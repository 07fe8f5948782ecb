// A large `.s` file's first diagnostics come from the afterburner's line scanner (server/quick-open.ts),
// before the full analysis exists. They must be exactly the site diagnostics the full analysis gives:
// checked on the burn tests' corpora (random compiler-style text and token soup, edge cases, gcc -S
// output of the burn corpus and the example guests), then over real JSON-RPC stdio on large files.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { countLines, OpenDocument } from "../../server/documents.js";
import { splitLines } from "../../core/asm/parse.js";
import { diagnosticsFor } from "../../server/features.js";
import { DEFAULT_SETTINGS, type Settings } from "../../server/settings.js";
import { QUICK_OPEN_LINES, quickAnalysis, quickDiagnostics, quickOpenAnalysis, quickOpenApplies } from "../../server/quick-open.js";
import { compilerStyleInputs, EDGE_CASES, gccInputs, REPEATED_CASES, tokenSoupInputs, type Input } from "../core/burn/corpora.js";
import { LspClient, type PublishedDiagnostics } from "./lsp-client.js";

function fullDiagnostics(text: string, mode: 32 | 64, settings: Settings = DEFAULT_SETTINGS, path = "/tmp/quick/t.s") {
  const doc = new OpenDocument(`file://${path}`, "asm", "gas-x86", 1, text, { maxLines: 1_000_000, includeDirs: [], mode });
  return diagnosticsFor(doc, settings);
}

/** Compares the quick diagnostics of `text` with the full analysis's; returns whether the quick scan applied. */
function agrees(input: Input, settings: Settings = DEFAULT_SETTINGS): boolean {
  const q = quickAnalysis(input.text, input.mode);
  if (q === undefined) return false;
  const full = fullDiagnostics(input.text, input.mode, settings).filter((d) => d.source !== "afterburn-parse");
  assert.deepEqual(quickDiagnostics(q, settings), full, input.name);
  return true;
}

test("the quick scan gives exactly the full analysis's site diagnostics on the burn corpora", () => {
  const inputs: Input[] = [
    ...compilerStyleInputs(),
    ...tokenSoupInputs(),
    ...[...EDGE_CASES, ...REPEATED_CASES].map((text, i) => ({ name: `edge ${i}: ${JSON.stringify(text)}`, text, mode: 32 as const })),
    ...gccInputs(),
  ];
  let applied = 0;
  for (const input of inputs) if (agrees(input)) applied++;
  // Most of them are what the scanner models; the rest it hands back (and the server analyses them in full).
  assert.ok(applied > inputs.length / 2, `the quick scan applied to ${applied} of ${inputs.length} inputs`);
});

test("the quick diagnostics follow the severity settings, and classes set to off drop out", () => {
  const settings: Settings = { ...DEFAULT_SETTINGS, diagnostics: { privileged: "error", sensitive: "off", platform: "information" } };
  let applied = 0;
  for (const input of compilerStyleInputs().slice(0, 120)) if (agrees(input, settings)) applied++;
  assert.ok(applied > 50);
  const q = quickAnalysis("\tcli\n\tpushfl\n\tcpuid\n.afterburn_noannotate\n\thlt\n.afterburn_annotate\n", 32)!;
  assert.deepEqual(quickDiagnostics(q, settings).map((d) => [d.code, d.severity]), [["cli", 1], ["cpuid", 3], ["hlt", 4], ["noannotate-region", 4]]);
});

test("only plain .s files without .include qualify, and the scanner declines what it does not model", () => {
  assert.equal(quickOpenApplies("/k/entry.s", "\tcli\n"), true);
  assert.equal(quickOpenApplies("/k/entry.S", "\tcli\n"), false, "cpp runs on .S files: #define and #include matter");
  assert.equal(quickOpenApplies("/k/entry.s", '\t.include "macros.inc"\n\tcli\n'), false, "an included file may define macros");
  assert.equal(quickAnalysis(".macro m\ncli\n.endm\nm\n", 32), undefined);
  assert.equal(quickAnalysis(".rept 2\ncli\n.endr\n", 32), undefined);
  // Only large documents, and only within the analysis cap (beyond it the capped analysis speaks).
  const text = "\tcli\n".repeat(QUICK_OPEN_LINES);
  const lines = QUICK_OPEN_LINES + 1;
  assert.equal(quickOpenAnalysis("/k/gen.s", text, lines, 200_000, 32)?.sites.length, QUICK_OPEN_LINES);
  assert.equal(quickOpenAnalysis("/k/gen.s", "\tcli\n", 2, 200_000, 32), undefined, "a small file is analysed in full at once");
  assert.equal(quickOpenAnalysis("/k/gen.s", text, lines, lines - 1, 32), undefined, "a file over afterburn.maxAnalysisLines");
  assert.equal(quickOpenAnalysis("/k/gen.S", text, lines, 200_000, 32), undefined);
});

test("a document counts its lines as the analysis splits them before the analysis exists", () => {
  for (const text of ["", "a", "a\n", "a\r\nb", "a\rb\r", "a\r\r\nb\n\r", "\n\n\r\n\r"]) {
    assert.equal(countLines(text), splitLines(text).length, JSON.stringify(text));
    const doc = new OpenDocument("file:///tmp/quick/count.s", "asm", "gas-x86", 1, text, { maxLines: 100, includeDirs: [], mode: 32 });
    assert.equal(doc.lineCount, splitLines(text).length);
    assert.equal(doc.analysed, false, "counting lines makes no analysis");
    assert.equal(doc.asm!.lineCount, doc.lineCount);
  }
});

// ---- over stdio -------------------------------------------------------------------------------

/** A gcc-like `.s` text of at least `lines` lines with a sensitive instruction every 40 lines. */
function bigS(lines: number): string[] {
  const out = ["\t.file\t\"big.c\"", "\t.text"];
  for (let f = 0; out.length < lines; f++) {
    out.push(`\t.globl\tf${f}`, `\t.type\tf${f}, @function`, `f${f}:`, "\t.cfi_startproc", "\tpushl\t%ebp", `\t.loc 1 ${f} 3`);
    for (let k = 0; k < 14; k++) out.push(`\tmovl\t${4 * k}(%esp), %eax`, "\taddl\t%eax, %ebx");
    out.push(f % 3 === 0 ? "\tcli" : f % 3 === 1 ? "\tmovl\t%eax, %cr3" : "\tpushfl", "\tpopl\t%ebp", "\tret", "\t.cfi_endproc", `\t.size\tf${f}, .-f${f}`);
  }
  return out;
}

let client: LspClient;
before(async () => {
  client = await LspClient.start();
  // Settings read after start re-publish every open document: not what these tests count.
  await client.settingsApplied();
});
after(async () => {
  await client.stop();
});

function publishedFor(uri: string): PublishedDiagnostics[] {
  return client.published.filter((p) => p.params.uri === uri).map((p) => p.params);
}

const canonical = (ds: readonly unknown[]) => JSON.stringify(ds);

test("a large .s file: the sites are published from the quick scan, once when the analysis adds nothing", async () => {
  const lines = bigS(QUICK_OPEN_LINES + 500);
  const text = lines.join("\n");
  const uri = "file:///tmp/quick/clean.s";
  client.published.length = 0;
  const first = await client.openAndWait(uri, text);
  const full = fullDiagnostics(text, 32, DEFAULT_SETTINGS, "/tmp/quick/clean.s");
  assert.ok(full.length > 500);
  assert.equal(canonical(first.diagnostics), canonical(full));
  // A request that needs the analysis, then time for any further publish to arrive: there is none.
  const hover = (await client.request("textDocument/hover", { textDocument: { uri }, position: { line: lines.indexOf("\tcli"), character: 2 } })) as { contents: { value: string } } | null;
  assert.match(hover!.contents.value, /cli/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(publishedFor(uri).length, 1);
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("a large .s file with a parse error: the quick sites first, then the full diagnostics with the error", async () => {
  const lines = bigS(QUICK_OPEN_LINES + 500);
  const bad = 7_001;
  lines[bad] = "\tmovl\t%eax,, %ebx";
  const text = lines.join("\n");
  const uri = "file:///tmp/quick/broken.s";
  client.published.length = 0;
  const first = await client.openAndWait(uri, text);
  assert.ok(!first.diagnostics.some((d) => d.source === "afterburn-parse"), "the scan parses no ordinary line");
  const second = await client.waitForDiagnostics(uri, (d) => d.diagnostics.some((x) => x.source === "afterburn-parse"));
  assert.equal(second.version, 1);
  assert.ok(second.diagnostics.some((d) => d.source === "afterburn-parse" && d.range.start.line === bad));
  assert.equal(canonical(second.diagnostics), canonical(fullDiagnostics(text, 32, DEFAULT_SETTINGS, "/tmp/quick/broken.s")));
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("an edit right after opening a large .s file is analysed on the text as opened, and no stale publish follows it", async () => {
  const lines = bigS(QUICK_OPEN_LINES + 500);
  const text = lines.join("\n");
  const uri = "file:///tmp/quick/edited.s";
  client.published.length = 0;
  client.open(uri, text);
  // Sent at once: it reaches the server before the analysis the open scheduled.
  const line = lines.indexOf("\tmovl\t%eax, %cr3");
  const edited = await client.changeAndWait(uri, 2, [{ range: { start: { line, character: 1 }, end: { line, character: 17 } }, text: "hlt" }]);
  const after = lines.slice();
  after[line] = "\thlt";
  assert.equal(canonical(edited.diagnostics), canonical(fullDiagnostics(after.join("\n"), 32, DEFAULT_SETTINGS, "/tmp/quick/edited.s")));
  await new Promise((r) => setTimeout(r, 300));
  const versions = publishedFor(uri).map((p) => p.version);
  assert.equal(versions[versions.length - 1], 2, `publishes in order: ${versions.join(", ")}`);
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("a whole-text change before the analysis is made replaces the text as opened", async () => {
  const lines = bigS(QUICK_OPEN_LINES + 500);
  const uri = "file:///tmp/quick/replaced.s";
  client.open(uri, lines.join("\n"));
  const replaced = "\tcpuid\n\tnop\n";
  const d = await client.changeAndWait(uri, 2, [{ text: replaced }]);
  assert.deepEqual(d.diagnostics.map((x) => [x.code, x.range.start.line]), [["cpuid", 0]]);
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("the quick diagnostics stop at the full analysis's limit of site diagnostics, with the same diagnostic saying how many more", () => {
  // 6,000 sites, no expansion: the full analysis lists 5,000; the quick publish listed all of them.
  const text = `\t.text\r\n${"\tcli\n\tmovl %eax, %ebx\n".repeat(6_000)}`;
  assert.ok(agrees({ name: "6,000 sites", text, mode: 32 }));
  const q = quickAnalysis(text, 32)!;
  const capped = quickDiagnostics(q, DEFAULT_SETTINGS).filter((d) => d.code === "diagnostics-capped");
  assert.equal(capped.length, 1);
  assert.match(capped[0].message as string, /^afterburn: 1,000 more sensitive sites are not listed/);
  assert.equal(capped[0].range.end.character, 6, "the first line, without its \\r");
});
