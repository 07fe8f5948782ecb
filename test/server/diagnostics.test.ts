// Diagnostics from the bundled server over real JSON-RPC stdio.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { LspClient, range } from "./lsp-client.js";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterburn } from "../../core/burn/afterburn.js";

let client: LspClient;
before(async () => {
  client = await LspClient.start();
});
after(async () => {
  await client.stop();
});

const SRC = [
  ".macro IRQ_OFF",      // 0
  "\tcli",               // 1
  ".endm",               // 2
  "\t.text",             // 3
  "\t.globl _start",     // 4
  "_start:",             // 5
  "\tpopfl",             // 6
  "\tIRQ_OFF",           // 7
  "\tmovl %eax, %cr3",   // 8
  "\tmovl %eax, %ebx",   // 9
  "\tcpuid",             // 10
  ".afterburn_noannotate", // 11
  "\thlt",               // 12
  ".afterburn_annotate", // 13
].join("\n");

test("every sensitive site is a diagnostic with the catalogue id as code, the class, the why and the padding", async () => {
  const uri = "file:///tmp/afterburn-test/diag.S";
  const d = await client.openAndWait(uri, SRC);
  const sites = d.diagnostics.filter((x) => x.source === "afterburn" && x.code !== "noannotate-region");
  assert.deepEqual(sites.map((x) => [x.code, x.range.start.line]), [["popf", 6], ["cli", 7], ["mov-to-cr3", 8], ["cpuid", 10], ["hlt", 12]]);
  // The padding in each message is what the build's afterburner gives the same site.
  const burned = afterburn(SRC, { fileName: "diag.S" });
  for (const s of burned.sites.filter((x) => x.annotated)) {
    const diag = sites.find((x) => x.range.start.line === s.input.line - 1 && x.code === s.id);
    assert.ok(diag, `site ${s.id} at line ${s.input.line}`);
    assert.match(diag.message, new RegExp(`pads ${s.padding} bytes`));
  }
  const popf = sites[0];
  assert.equal(popf.severity, 2);
  assert.match(popf.message, /^popfl: sensitive but unprivileged — .*IF.*; afterburner pads \d+ bytes$/);
  assert.deepEqual(popf.range, range(6, 1, 6, 6));
  // What goes on the wire on every edit, and no more (docs/lsp.md): the code already names the entry,
  // the message the padding; nothing reads a data field back.
  assert.deepEqual(Object.keys(popf).sort(), ["code", "message", "range", "severity", "source"]);
  // cli from a macro: shown at the invocation, related information points at the macro and its body line.
  const cli = sites[1];
  assert.deepEqual(cli.range, range(7, 1, 7, 8));
  assert.match(cli.message, /privileged.*\(from macro irq_off\)/);
  assert.deepEqual(Object.keys(cli).sort(), ["code", "message", "range", "relatedInformation", "severity", "source"]);
  const rel = cli.relatedInformation ?? [];
  assert.ok(rel.some((r) => r.location.range.start.line === 0 && /macro irq_off is defined here/.test(r.message)));
  assert.ok(rel.some((r) => r.location.range.start.line === 1 && /body/.test(r.message)));
  // cpuid is a platform instruction: information by default.
  assert.equal(sites[3].severity, 3);
  // The noannotate region shows as such: the hlt inside is a hint, not annotated; the directive says so.
  assert.equal(sites[4].severity, 4);
  assert.match(sites[4].message, /not annotated: \.afterburn_noannotate region/);
  const region = d.diagnostics.find((x) => x.code === "noannotate-region");
  assert.equal(region?.range.start.line, 11);
});

test("parse errors are diagnostics too", async () => {
  const uri = "file:///tmp/afterburn-test/bad.s";
  const d = await client.openAndWait(uri, "\tmovl (%eax, %ebx\n\t.endm\n");
  const parse = d.diagnostics.filter((x) => x.source === "afterburn-parse");
  assert.ok(parse.length >= 1, JSON.stringify(d.diagnostics));
  assert.ok(parse.every((x) => x.severity === 1 || x.severity === 2));
});

test("incremental edits update the diagnostics: a one-line edit adds and removes a site", async () => {
  const uri = "file:///tmp/afterburn-test/edit.s";
  const lines = Array.from({ length: 2000 }, (_, i) => (i === 1000 ? "\tsti" : `\taddl $${i}, %eax`));
  let d = await client.openAndWait(uri, lines.join("\n"));
  assert.deepEqual(d.diagnostics.map((x) => [x.code, x.range.start.line]), [["sti", 1000]]);
  d = await client.changeAndWait(uri, 2, [{ range: range(500, 1, 500, 14), text: "lgdt gdt_desc" }]);
  assert.deepEqual(d.diagnostics.map((x) => [x.code, x.range.start.line]), [["lgdt", 500], ["sti", 1000]]);
  d = await client.changeAndWait(uri, 3, [{ range: range(1000, 0, 1001, 0), text: "" }]);
  assert.deepEqual(d.diagnostics.map((x) => [x.code, x.range.start.line]), [["lgdt", 500]]);
  // Inserting lines shifts later sites.
  d = await client.changeAndWait(uri, 4, [{ range: range(0, 0, 0, 0), text: "\tclts\n\n" }]);
  assert.deepEqual(d.diagnostics.map((x) => [x.code, x.range.start.line]), [["clts", 0], ["lgdt", 502]]);
});

test("severities come from the settings pulled with workspace/configuration; off hides a class", async () => {
  const c = await LspClient.start({ settings: { diagnostics: { privileged: "error", sensitive: "off", platform: "hint" } } });
  try {
    const uri = "file:///tmp/afterburn-test/sev.s";
    // The first publish may use the defaults while the settings are in flight; wait for the configured one.
    const pending = c.waitForDiagnostics(uri, (d) => d.diagnostics.some((x) => x.code === "cli" && x.severity === 1));
    c.open(uri, "\tcli\n\tpushfl\n\tcpuid\n");
    const d = await pending;
    assert.deepEqual(d.diagnostics.map((x) => [x.code, x.severity]), [["cli", 1], ["cpuid", 4]]);
    // Pushed configuration (didChangeConfiguration with settings) applies at once.
    const next = c.waitForDiagnostics(uri, (x) => x.diagnostics.some((y) => y.code === "pushf"));
    c.notify("workspace/didChangeConfiguration", { settings: { afterburn: { diagnostics: { privileged: "hint", sensitive: "error", platform: "off" } } } });
    const e = await next;
    assert.deepEqual(e.diagnostics.map((x) => [x.code, x.severity]), [["cli", 4], ["pushf", 1]]);
  } finally {
    await c.stop();
  }
});

test("afterburn.maxAnalysisLines caps the analysis with a message", async () => {
  const c = await LspClient.start({ settings: { maxAnalysisLines: 100 } });
  try {
    const uri = "file:///tmp/afterburn-test/huge.s";
    const text = Array.from({ length: 300 }, (_, i) => (i % 50 === 0 ? "\tcli" : "\tnop")).join("\n");
    const pending = c.waitForDiagnostics(uri, (d) => d.diagnostics.some((x) => x.code === "analysis-capped"));
    c.open(uri, text);
    const d = await pending;
    const capped = d.diagnostics.find((x) => x.code === "analysis-capped")!;
    assert.match(capped.message, /300 lines; only the first 100 are analysed \(setting afterburn.maxAnalysisLines\)/);
    assert.deepEqual(d.diagnostics.filter((x) => x.code === "cli").map((x) => x.range.start.line), [0, 50]);
  } finally {
    await c.stop();
  }
});

test("keystrokes sent back to back: the last version is published, equal to a fresh open of the same text", async () => {
  const uri = "file:///tmp/afterburn-test/burst.S";
  const lines = ["\t.text", "f:", ...Array.from({ length: 400 }, (_, i) => (i % 7 === 0 ? "\tcli" : `\tmovl ${i}(%esp), %eax`)), "\tret"];
  await client.openAndWait(uri, lines.join("\n"));
  const first = client.published.length;
  // Type "sti" over a quiet line, then turn another line into a popf: 1 + 40 changes with no pause.
  const typed = "\tsti # typed with no pause between keys".split("");
  let version = 1;
  const last = client.waitForDiagnostics(uri, (d) => d.version === 1 + typed.length + 1);
  client.change(uri, ++version, [{ range: range(5, 0, 5, lines[5].length), text: "" }]);
  for (let k = 0; k < typed.length; k++) client.change(uri, ++version, [{ range: range(5, k, 5, k), text: typed[k] }]);
  const final = await last;
  const text = lines.slice();
  text[5] = typed.join("");
  const fresh = await client.openAndWait("file:///tmp/afterburn-test/burst-fresh.S", text.join("\n"));
  const strip = (d: typeof final) => d.diagnostics.map((x) => [x.code, x.range.start.line, x.range.start.character, x.range.end.character, x.message]);
  assert.deepEqual(strip(final), strip(fresh));
  assert.ok(final.diagnostics.some((x) => x.code === "sti" && x.range.start.line === 5));
  // Every publish is of a version that was current when it was made, in order; superseded ones may be skipped.
  const versions = client.published.slice(first).filter((p) => p.params.uri === uri).map((p) => p.params.version ?? 0);
  assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
  assert.ok(versions.length >= 1 && versions.length <= typed.length + 1, `${versions.length} publishes`);
});

test("lines inserted and deleted around macros from the file and from a header: related information stays exact", async () => {
  const dir = mkdtempSync(join(tmpdir(), "afterburn-related-"));
  try {
    writeFileSync(join(dir, "irq.h"), ["/* irq.h */", ".macro IRQ_SAVE", "\tpushfl", "\tcli", ".endm", ""].join("\n"));
    const lines = [
      '#include "irq.h"',
      "\t.text",
      ".macro LOCAL_OFF",
      "\tcli",
      ".endm",
      "f:",
      ...Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? "\tIRQ_SAVE" : i % 5 === 2 ? "\tLOCAL_OFF" : `\tmovl ${i}, %eax`)),
      "\tret",
    ];
    const uri = pathToFileURL(join(dir, "entry.S")).href;
    await client.openAndWait(uri, lines.join("\n"));
    const full = (d: { diagnostics: { code?: unknown; range: unknown; message: string; relatedInformation?: unknown }[] }) =>
      d.diagnostics.map((x) => JSON.stringify([x.code, x.range, x.message, x.relatedInformation ?? []])).sort();
    // Above the local macro, between it and the sites, among the sites; insertions and deletions.
    // (Only the inserted nops are deleted again.)
    const edits: [number, boolean][] = [[1, true], [5, true], [12, true], [12, false], [0, true], [2, false], [5, false], [2, true]];
    let version = 1;
    for (const [at, insert] of edits) {
      const text = insert ? "\tnop\n" : "";
      const r = insert ? range(at, 0, at, 0) : range(at, 0, at + 1, 0);
      if (insert) lines.splice(at, 0, "\tnop");
      else assert.deepEqual(lines.splice(at, 1), ["\tnop"]);
      const got = await client.changeAndWait(uri, ++version, [{ range: r, text }]);
      const freshUri = pathToFileURL(join(dir, `fresh${version}.S`)).href;
      const fresh = await client.openAndWait(freshUri, lines.join("\n"));
      client.notify("textDocument/didClose", { textDocument: { uri: freshUri } });
      const norm = (xs: string[]) => xs.map((x) => x.split(freshUri).join(uri));
      assert.deepEqual(full(got), norm(full(fresh)), `after ${insert ? "inserting" : "deleting"} line ${at}`);
      assert.ok(got.diagnostics.some((x) => (x.relatedInformation ?? []).some((ri) => ri.location.uri.endsWith("/irq.h"))), "header macro related information");
      assert.ok(got.diagnostics.some((x) => (x.relatedInformation ?? []).some((ri) => ri.location.uri === uri)), "local macro related information");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a C edit whose range starts past the last line is clamped, and later edits land where the client put them", async () => {
  const uri = "file:///tmp/afterburn-test/clamp.c";
  await client.openAndWait(uri, 'void f(void) {\n  asm volatile("cli");\n}', "c");
  // An insertion at "line 4" of a 3-line document: it goes at the end.
  await client.changeAndWait(uri, 2, [{ range: range(4, 0, 5, 0), text: '\nvoid g(void) { asm("sti"); }' }]);
  // Then an edit on that new line, which lands there only if the document's line table is still right.
  const got = await client.changeAndWait(uri, 3, [{ range: range(3, 20, 3, 23), text: "hlt" }]);
  const text = 'void f(void) {\n  asm volatile("cli");\n}\nvoid g(void) { asm("hlt"); }';
  const fresh = await client.openAndWait("file:///tmp/afterburn-test/clamp-fresh.c", text, "c");
  const view = (d: typeof got) => d.diagnostics.map((x) => [x.code, x.range]);
  assert.deepEqual(view(got), view(fresh));
  assert.deepEqual(got.diagnostics.map((x) => x.code), ["cli", "hlt"]);
});

test("identical sites an expansion puts at one invocation are one diagnostic with their count; different ones stay apart", async () => {
  const uri = "file:///tmp/afterburn-test/merged.S";
  const d = await client.openAndWait(uri, [".rept 3", "\tcli", "\tsti", ".endr", ".irp r, cr0, cr3, cr0", "\tmovl %eax, %\\r", ".endr"].join("\n"));
  const sites = d.diagnostics.filter((x) => x.source === "afterburn");
  assert.deepEqual(sites.map((x) => [x.code, x.range.start.line]), [["cli", 0], ["sti", 0], ["mov-to-cr0", 4], ["mov-to-cr3", 4]]);
  assert.match(sites[0].message, /\(from \.rept\) — 3 such sites here$/);
  assert.match(sites[1].message, /\(from \.rept\) — 3 such sites here$/);
  // The two %cr0 moves are the same diagnostic; the %cr3 one is another.
  assert.match(sites[2].message, /— 2 such sites here$/);
  assert.doesNotMatch(sites[3].message, /such sites/);
  assert.equal(sites[3].relatedInformation?.[0]?.message, "`movl %eax, %cr3` comes from this line of the .irp body");
  // A large .rept of one instruction was that many copies of one diagnostic (400,000: 197 MB of JSON per publish).
  const big = await client.changeAndWait(uri, 2, [{ text: ".rept 200000\n\tcli\n.endr\n" }]);
  assert.equal(big.diagnostics.length, 1);
  assert.match(big.diagnostics[0].message, /— 200,000 such sites here$/);
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("a recursive macro: the server stays up, related information lists each level once, a hover counts the sites", async () => {
  const uri = "file:///tmp/afterburn-test/recursive.S";
  // Called twice per level, it makes 166,666 sites within the expansion budget, 100 levels deep: each
  // site listed 200 related locations, and the server ran out of memory on this six-line file.
  const text = [".macro m a", "\tcli", "\tm \\a", "\tm \\a", ".endm", "m 1"].join("\n");
  const d = await client.openAndWait(uri, text);
  const sites = d.diagnostics.filter((x) => x.source === "afterburn");
  assert.ok(sites.length >= 1 && sites.length <= 4, `${sites.length} site diagnostics`);
  for (const s of sites) {
    assert.equal(s.code, "cli");
    assert.ok((s.relatedInformation?.length ?? 0) <= 3, JSON.stringify(s.relatedInformation));
    assert.deepEqual(s.relatedInformation?.slice(0, 2).map((r) => [r.message, r.location.range.start.line]), [["macro m is defined here", 0], ["`cli` comes from this line of the macro body", 1]]);
  }
  const counted = sites.reduce((n, s) => n + Number(/— ([\d,]+) such sites here$/.exec(s.message)?.[1].replace(/,/g, "") ?? 1), 0);
  assert.equal(counted, 166_666);
  assert.ok(sites.some((s) => s.relatedInformation?.at(-1)?.message.startsWith("further expansion levels")), "the levels past the walk are said to be left out");
  assert.ok(d.diagnostics.some((x) => x.source === "afterburn-parse" && /nested too deeply/.test(x.message)));
  const hover = (await client.request("textDocument/hover", { textDocument: { uri }, position: { line: 5, character: 0 } })) as { contents: { value: string } };
  assert.match(hover.contents.value, /expands to 166,666 sensitive sites: `cli` \(`cli`, \+8 B\) ×166,666\./);
  assert.ok(hover.contents.value.length < 2000, `hover of ${hover.contents.value.length} characters`);
  assert.equal(client.exited, undefined);
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("past 5,000 different site diagnostics a document publishes no more, and says how many it leaves out", async () => {
  const uri = "file:///tmp/afterburn-test/capped.S";
  const n = 5_005;
  // Each expansion differs (its operand), so none merge: 5,005 different diagnostics at one line.
  const values = Array.from({ length: n }, (_, i) => String(i * 8)).join(", ");
  const d = await client.openAndWait(uri, [`.irp x, ${values}`, "\tlgdt \\x", ".endr", "\tcli"].join("\n"));
  const sites = d.diagnostics.filter((x) => x.source === "afterburn" && x.code === "lgdt");
  assert.equal(sites.length, 5_000);
  // The cli after the loop is past the limit as well.
  assert.ok(!d.diagnostics.some((x) => x.code === "cli"));
  const capped = d.diagnostics.filter((x) => x.code === "diagnostics-capped");
  assert.equal(capped.length, 1);
  assert.match(capped[0].message, /^afterburn: 6 more sensitive sites are not listed \(at most 5,000 per document\); hovers, inlay hints and the preview still show them$/);
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("keystrokes sent back to back in a macro definition (each a full pass, the superseded ones skipped): the last version equals a fresh open", async () => {
  const uri = "file:///tmp/afterburn-test/burst-macro.S";
  const lines = [".macro IRQ_OFF", "\tcli", ".endm", "\t.text", "f:", ...Array.from({ length: 300 }, (_, i) => (i % 5 === 0 ? "\tIRQ_OFF" : `\tmovl ${i}(%esp), %eax`)), "\tret"];
  await client.openAndWait(uri, lines.join("\n"));
  // Rename the macro's body instruction and add a parameter, a key at a time: every change is structural.
  const typed = ".macro IRQ_OFF flag=1".split("");
  let version = 1;
  const last = client.waitForDiagnostics(uri, (d) => d.version === typed.length + 3);
  client.change(uri, ++version, [{ range: range(0, 0, 0, lines[0].length), text: "" }]);
  for (let k = 0; k < typed.length; k++) client.change(uri, ++version, [{ range: range(0, k, 0, k), text: typed[k] }]);
  client.change(uri, ++version, [{ range: range(1, 1, 1, 4), text: "pushfl" }]);
  const final = await last;
  const text = lines.slice();
  text[0] = typed.join("");
  text[1] = "\tpushfl";
  const fresh = await client.openAndWait("file:///tmp/afterburn-test/burst-macro-fresh.S", text.join("\n"));
  const strip = (d: typeof final) => d.diagnostics.map((x) => [x.code, x.range.start.line, x.range.start.character, x.range.end.character, x.message, (x.relatedInformation ?? []).map((r) => [r.message, r.location.range])]);
  assert.deepEqual(strip(final), strip(fresh));
  assert.equal(final.diagnostics.filter((x) => x.code === "pushf").length, 60);
});

test("parse problems are capped too: an expansion making a different error each iteration publishes 2,000 and says how many more", async () => {
  const uri = "file:///tmp/afterburn-test/errors.S";
  // \@ makes each iteration's register name different: 3,000 different errors at one line (250,000 of
  // them, 49 MB per publish, took the server out of memory after a few edits; found by review).
  const d = await client.openAndWait(uri, [".macro m", "\tmovl %r\\@, %eax", ".endm", ".rept 3000", "\tm", ".endr", "\tcli"].join("\n"));
  const parse = d.diagnostics.filter((x) => x.source === "afterburn-parse");
  assert.equal(parse.length, 2_000);
  assert.match(parse[0].message, /unknown register '%r0'/);
  const capped = d.diagnostics.filter((x) => x.code === "diagnostics-capped");
  // About 1,000 more (a few of the names, %r8 to %r15, are registers).
  assert.equal(capped.length, 1);
  const more = Number(/^afterburn: ([\d,]+) more parse problems are not listed \(at most 2,000 per document\)$/.exec(capped[0].message)?.[1].replace(/,/g, ""));
  assert.ok(more > 950 && more <= 1000, capped[0].message);
  // The site after the loop is still listed: the caps are per kind.
  assert.ok(d.diagnostics.some((x) => x.code === "cli" && x.range.start.line === 6));
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("a hover on a .rept in a C asm template groups its sites (each one's full description was 271 MB)", async () => {
  const uri = "file:///tmp/afterburn-test/rept.c";
  await client.openAndWait(uri, ["void f(void)", "{", '\tasm volatile(".rept 2000\\n\\tcli\\n.endr");', "}"].join("\n"), "c");
  const hover = (await client.request("textDocument/hover", { textDocument: { uri }, position: { line: 2, character: 16 } })) as { contents: { value: string } };
  assert.match(hover.contents.value, /^`cli` — privileged; the afterburner pads \*\*8 bytes\*\*/);
  assert.match(hover.contents.value, / ×2,000$/);
  assert.ok(hover.contents.value.length < 5000, `${hover.contents.value.length} characters`);
  client.notify("textDocument/didClose", { textDocument: { uri } });
});

test("instructions written as .byte data in a code section are sites as the afterburner reports them: the same lines and ids, not annotated, warned; a typed edit that makes or breaks one follows", async () => {
  const uri = "file:///tmp/afterburn-test/bytes.S";
  const text = [
    ".macro XGETBV",                  // 0
    "\t.byte 0x0f, 0x01, 0xd0",       // 1
    ".endm",                          // 2
    "#define WRMSR .byte 0x0f,0x30",  // 3
    "\t.text",                        // 4
    "f:",                             // 5
    "\tXGETBV",                       // 6
    "\tWRMSR",                        // 7
    "\t.byte 0x0f",                   // 8
    "1:\t.byte 0x20, 0xd8",           // 9: a label does not part the run: mov %cr3, %eax
    "\tnop",                          // 10
    "\t.data",                        // 11
    "\t.byte 0xfa",                   // 12: data, not code
    "",
  ].join("\n");
  const opened = await client.openAndWait(uri, text);
  const shown = (d: typeof opened) => d.diagnostics.filter((x) => x.source === "afterburn").map((x) => [x.range.start.line, x.code]);
  assert.deepEqual(shown(opened), [[6, "xgetbv"], [7, "wrmsr"], [8, "mov-from-cr3"]]);
  for (const d of opened.diagnostics.filter((x) => x.source === "afterburn")) {
    assert.ok(d.severity! <= 3, `${d.code}: warned as its class says, not a hint`);
    assert.match(d.message, /not annotated: written as data: .* encodes '/);
  }
  // The afterburner's own list of the same text: the same lines and ids.
  const burnt = afterburn(text.replace("#define WRMSR .byte 0x0f,0x30", "").replace("\tWRMSR", "\t.byte 0x0f,0x30"), { fileName: "bytes.s" });
  assert.deepEqual(burnt.sites.map((s) => [s.input.line - 1, s.id, s.annotated]), [[6, "xgetbv", false], [7, "wrmsr", false], [8, "mov-from-cr3", false]]);
  // 0xfa typed into the run after `nop`'s line: a cli; then deleted again.
  const typed = await client.changeAndWait(uri, 2, [{ range: range(10, 1, 10, 4), text: ".byte 0xfa" }]);
  assert.deepEqual(shown(typed), [[6, "xgetbv"], [7, "wrmsr"], [8, "mov-from-cr3"], [10, "cli"]]);
  const back = await client.changeAndWait(uri, 3, [{ range: range(10, 1, 10, 11), text: "nop" }]);
  assert.deepEqual(shown(back), shown(opened));
});

test("afterburn.includePaths: a file no compile command covers finds <headers> in those folders, and their #defines expand; without it they are junk", async () => {
  const ws = mkdtempSync(join(tmpdir(), "ab-incpaths-"));
  try {
    mkdirSync(join(ws, "include", "kern"), { recursive: true });
    writeFileSync(join(ws, "include", "kern", "linkage.h"), ["#ifndef __ASSEMBLY__", "typedef unsigned long ulong;", "#define ENTRY(x) int x(void)", "#else", "#define ENTRY(x) .globl x; x:", "#endif", ""].join("\n"));
    const text = ["#include <kern/linkage.h>", "\t.text", "ENTRY(irq_off)", "\tcli", "\tret", ""].join("\n");
    const uri = pathToFileURL(join(ws, "entry.S")).href;
    const c = await LspClient.start({ rootPath: ws, settings: { includePaths: ["include"] } });
    try {
      await c.settingsApplied();
      const d = await c.openAndWait(uri, text);
      // The assembly branch of the header (__ASSEMBLY__, as kernel builds define it for .S files) expands.
      assert.deepEqual(d.diagnostics.map((x) => [x.code, x.range.start.line]), [["cli", 3]]);
    } finally {
      await c.stop();
    }
    const bare = await client.openAndWait(uri, text);
    assert.ok(bare.diagnostics.some((x) => x.source !== "afterburn" && x.range.start.line === 2 && /junk/.test(x.message)), JSON.stringify(bare.diagnostics));
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});
