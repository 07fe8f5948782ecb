// The "Exclude … from afterburning" quick fix on assembly: applied as an editor applies it, the file
// must still assemble (GNU as) and the afterburner must then leave exactly the chosen sites unannotated
// and every other site annotated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TextEdit } from "vscode-languageserver";
import { OpenDocument } from "../../server/documents.js";
import { codeActionsFor } from "../../server/features.js";
import { afterburn } from "../../core/burn/afterburn.js";

function open(text: string, name = "x.s"): OpenDocument {
  return new OpenDocument(`file:///tmp/afterburn-exclude/${name}`, "asm", "gas-x86", 1, text, { maxLines: 200_000, includeDirs: [], mode: 32 });
}

/** Applies edits to text (LSP positions in lines split at \n, UTF-16 columns), last first, as an editor does. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lines = text.split("\n");
  const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

/**
 * The text after the exclude quick fix for the lines start..end, applied to `text` (the text the
 * editor holds: an assembly document's own `text` has its lines joined by LF whatever its breaks).
 */
function excluded(doc: OpenDocument, start: number, end = start, endCharacter = 0, text = doc.text): string {
  const range = { start: { line: start, character: 0 }, end: { line: end, character: endCharacter } };
  const action = codeActionsFor(doc, range, []).find((a) => /^Exclude/.test(a.title));
  assert.ok(action?.edit?.changes, "an exclude action with an edit");
  return applyEdits(text, action.edit.changes[doc.uri]);
}

function assembles(text: string): void {
  const dir = mkdtempSync(join(tmpdir(), "afterburn-exclude-"));
  try {
    writeFileSync(join(dir, "x.s"), afterburn(text).output);
    execFileSync("as", ["--32", "-o", join(dir, "x.o"), join(dir, "x.s")], { stdio: "pipe" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mnemonic and annotation of every site the afterburner finds, in order. */
function annotation(text: string): string[] {
  return afterburn(text).sites.map((s) => `${s.text.trim().split(/\s/)[0]}${s.annotated ? "" : " (excluded)"}`);
}

test("exclude on a .rept line wraps the whole loop: the annotate directive does not land inside its body", () => {
  const text = ["\t.text", ".rept 3", "\tcli", ".endr", "\tsti", ""].join("\n");
  const doc = open(text);
  const out = excluded(doc, 1);
  assembles(out);
  assert.deepEqual(annotation(out), ["cli (excluded)", "cli (excluded)", "cli (excluded)", "sti"], out);
});

test("exclude on an .irp line, and on a selection that ends inside a .rept body, wraps the loop", () => {
  const text = ["\t.text", ".irp r, 1, 2", "\tpushfl", ".endr", ".rept 2", "\tcli", "\thlt", ".endr", "\tsti", ""].join("\n");
  const doc = open(text);
  let out = excluded(doc, 1);
  assembles(out);
  assert.deepEqual(annotation(out), ["pushfl (excluded)", "pushfl (excluded)", "cli", "hlt", "cli", "hlt", "sti"], out);
  out = excluded(doc, 4, 5, 2);
  assembles(out);
  assert.deepEqual(annotation(out), ["pushfl", "pushfl", "cli (excluded)", "hlt (excluded)", "cli (excluded)", "hlt (excluded)", "sti"], out);
});

test("exclude on a line whose comment runs on: the annotate directive goes after the comment ends", () => {
  const text = ["\t.text", "\tcli /* interrupts stay off", "\t       until the handler is installed */", "\tsti", ""].join("\n");
  const doc = open(text);
  const out = excluded(doc, 1);
  assembles(out);
  assert.deepEqual(annotation(out), ["cli (excluded)", "sti"], out);
});

test("exclude on a site after a comment that began on an earlier line: the noannotate directive goes before the comment", () => {
  const text = ["\t.text", "\tsti", "/* the handler", "   is installed */ cli", "\thlt", ""].join("\n");
  const doc = open(text);
  const out = excluded(doc, 3);
  assembles(out);
  assert.deepEqual(annotation(out), ["sti", "cli (excluded)", "hlt"], out);
});

test("exclude in C wraps the whole asm template: its title counts every site the template holds, not only the selected line's", async () => {
  const text = ["void f(void) {", '\tasm volatile("pushfl\\n\\t"', '\t             "popfl");', "}", ""].join("\n");
  const doc = new OpenDocument("file:///tmp/afterburn-exclude/f.c", "c", "c", 1, text, { maxLines: 200_000, includeDirs: [], mode: 32 });
  await doc.cAnalysis();
  const action = codeActionsFor(doc, { start: { line: 1, character: 16 }, end: { line: 1, character: 16 } }, []).find((a) => /^Exclude/.test(a.title));
  assert.equal(action?.title, "Exclude 2 sensitive sites from afterburning");
  const out = applyEdits(text, action!.edit!.changes![doc.uri]);
  assert.match(out, /"\.afterburn_noannotate\\n\\tpushfl\\n\\t"\n\t *"popfl\\n\\t\.afterburn_annotate"/);
});

test("exclude inserts the document's own line break: a CRLF file stays CRLF, an LF file LF", () => {
  const lines = ["\t.text", "f:", "\tcli", "\tsti", "\tret", ""];
  for (const br of ["\r\n", "\n"]) {
    const out = excluded(open(lines.join(br)), 2, 2, 0, lines.join(br));
    assert.equal(out, ["\t.text", "f:", "\t.afterburn_noannotate", "\tcli", "\t.afterburn_annotate", "\tsti", "\tret", ""].join(br), JSON.stringify(out));
    assembles(out);
    assert.deepEqual(annotation(out), ["cli (excluded)", "sti"]);
  }
  // A file that had no line break until CRLF lines were typed into it.
  const doc = open("\tnop");
  doc.applyChanges([{ range: { start: { line: 0, character: 4 }, end: { line: 0, character: 4 } }, text: "\r\n\tcli\r\n\tsti" }], 2);
  const typed = excluded(doc, 1, 1, 0, "\tnop\r\n\tcli\r\n\tsti");
  assert.doesNotMatch(typed, /[^\r]\n/, JSON.stringify(typed));
  assert.match(typed, /\.afterburn_noannotate\r\n\tcli\r\n\t\.afterburn_annotate/);
});
