// Go to definition and references of labels through the bundled server, checked against what GNU as
// resolves: numeric labels (1b/1f) are resolved per use, .L and numeric labels are local to their file,
// and includeDeclaration: false leaves the definitions out.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LspClient } from "./lsp-client.js";

let client: LspClient;
let ws: string;
let aUri: string;
let bUri: string;

const A = [
  "\t.text", //                          0
  "\t.globl puts", //                    1
  ".Lloop:", //                          2
  "1:\tnop", //                          3
  "\tjmp 1b", //                         4
  "\tjmp 1f", //                         5
  "1:\tinc %eax", //                     6
  "\tjmp 1b", //                         7
  "1: jmp 1f; 1: inc %ecx; jmp 1b", //   8
  "\tjmp 1b", //                         9
  "\tjmp .Lloop", //                    10
  "puts:\tret", //                      11
  "\tcall puts", //                     12
];
const B = ["\t.text", ".Lloop:", "\tjmp .Lloop", "1:\tjmp 1b", "\tcall puts"];

before(async () => {
  ws = mkdtempSync(join(tmpdir(), "afterburn-refs-"));
  writeFileSync(join(ws, "a.s"), A.join("\n") + "\n");
  writeFileSync(join(ws, "b.s"), B.join("\n") + "\n");
  aUri = pathToFileURL(join(ws, "a.s")).href;
  bUri = pathToFileURL(join(ws, "b.s")).href;
  client = await LspClient.start({ rootPath: ws });
  await client.openAndWait(aUri, A.join("\n") + "\n");
  // The workspace index is built shortly after start-up: wait until b.s's puts is found.
  for (let i = 0; i < 50; i++) {
    const refs = await references(aUri, 12, 7, true);
    if (refs.some((r) => r.uri === bUri)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});
after(async () => {
  await client.stop();
  rmSync(ws, { recursive: true, force: true });
});

type Loc = { uri: string; range: { start: { line: number; character: number }; end: { line: number; character: number } } };

function references(uri: string, line: number, character: number, includeDeclaration: boolean): Promise<Loc[]> {
  return client.request<Loc[]>("textDocument/references", { textDocument: { uri }, position: { line, character }, context: { includeDeclaration } });
}

const where = (locs: readonly Loc[]) => locs.map((l) => `${l.uri === aUri ? "a" : l.uri === bUri ? "b" : l.uri}:${l.range.start.line}:${l.range.start.character}-${l.range.end.character}`).sort();

/** Every `Nb`/`Nf` use in A with the position of the `N:` that GNU as resolves it to (from objdump's jump targets). */
function resolvedByAs(): { line: number; character: number; def: { line: number; character: number } }[] {
  const s = join(ws, "a.s");
  const o = join(ws, "a.o");
  execFileSync("as", ["--32", "-o", o, s]);
  const dump = execFileSync("objdump", ["-d", "--no-show-raw-insn", o], { encoding: "utf8" });
  const insns = [...dump.matchAll(/^ *([0-9a-f]+):\t(\S+)[ \t]*(.*)$/gm)].map((m) => ({ at: parseInt(m[1], 16), text: `${m[2]} ${m[3]}`.trim() }));
  // Each label in A precedes an instruction written only once (nop, inc %eax, inc %ecx).
  const labelOf = (text: string) => {
    const [mn, op] = text.split(/\s+/);
    const line = A.findIndex((l) => new RegExp(`\\b${mn}\\b\\s*${(op ?? "").replace(/[%$]/g, "\\$&")}`).test(l));
    const column = A[line].lastIndexOf("1:", A[line].search(new RegExp(`\\b${mn}\\b`)));
    return { line, character: column };
  };
  const uses: { line: number; character: number }[] = [];
  A.forEach((l, line) => {
    for (const m of l.matchAll(/\b1[bf]\b/g)) uses.push({ line, character: m.index! });
  });
  // objdump writes a jump as `jmp    5 <puts-0xc>`; the numeric uses are A's first jumps (.Lloop's comes after them).
  const jumps = insns.filter((i) => /^jmp [0-9a-f]+\b/.test(i.text)).slice(0, uses.length);
  assert.equal(jumps.length, uses.length, dump);
  return uses.map((u, k) => {
    const target = parseInt(jumps[k].text.split(/\s+/)[1], 16);
    return { ...u, def: labelOf(insns.find((i) => i.at === target)!.text) };
  });
}

test("go to definition of 1b/1f lands on the label GNU as resolves, also between statements of one line", async () => {
  for (const u of resolvedByAs()) {
    const defs = await client.request<Loc[] | null>("textDocument/definition", { textDocument: { uri: aUri }, position: { line: u.line, character: u.character + 1 } });
    assert.deepEqual(defs?.map((d) => [d.range.start.line, d.range.start.character]), [[u.def.line, u.def.character]], `1${A[u.line][u.character + 1]} at ${u.line}:${u.character}`);
  }
});

test("references of a numeric label are the uses that resolve to it, in this file only", async () => {
  const expected = new Map<string, string[]>();
  for (const u of resolvedByAs()) {
    const key = `${u.def.line}:${u.def.character}`;
    expected.set(key, [...(expected.get(key) ?? [`a:${key}-${u.def.character + 1}`]), `a:${u.line}:${u.character}-${u.character + 2}`]);
  }
  for (const u of resolvedByAs()) {
    const want = expected.get(`${u.def.line}:${u.def.character}`)!.sort();
    assert.deepEqual(where(await references(aUri, u.line, u.character, true)), want, `from the use at ${u.line}:${u.character}`);
    // From the definition itself too, and without it when the client asks so.
    assert.deepEqual(where(await references(aUri, u.def.line, u.def.character, true)), want, `from the label at ${u.def.line}:${u.def.character}`);
    assert.deepEqual(where(await references(aUri, u.line, u.character, false)), want.filter((w) => w !== `a:${u.def.line}:${u.def.character}-${u.def.character + 1}`));
  }
});

test("references of a .L label stay in its file; includeDeclaration: false leaves out every definition", async () => {
  assert.deepEqual(where(await references(aUri, 10, 6, true)), ["a:10:5-11", "a:2:0-6"]);
  assert.deepEqual(where(await references(aUri, 10, 6, false)), ["a:10:5-11"]);
  // A global label: uses in every file, its definition only when asked for.
  assert.deepEqual(where(await references(aUri, 12, 7, true)), ["a:11:0-4", "a:12:6-10", "a:1:8-12", "b:4:6-10"]);
  assert.deepEqual(where(await references(aUri, 12, 7, false)), ["a:12:6-10", "a:1:8-12", "b:4:6-10"]);
});

test("go to definition on a .s file's .include line opens the included file", async () => {
  writeFileSync(join(ws, "m.inc"), ".macro SAVE\n\tpushfl\n.endm\n");
  const uri = pathToFileURL(join(ws, "c.s")).href;
  await client.openAndWait(uri, '\t.include "m.inc"\n\tSAVE\n');
  const defs = await client.request<Loc[] | null>("textDocument/definition", { textDocument: { uri }, position: { line: 0, character: 13 } });
  assert.deepEqual(defs?.map((d) => [d.uri, d.range.start.line]), [[pathToFileURL(join(ws, "m.inc")).href, 0]]);
});

test("go to definition of a symbol set twice goes to the .set in force at the use; without declarations, references leave out every .set", async () => {
  const uri = pathToFileURL(join(ws, "set.s")).href;
  await client.openAndWait(uri, ["\t.text", ".set x, 1", "\tmovl $x, %eax", ".set x, 2", "\tmovl $x, %ebx", ""].join("\n"));
  for (const [use, def] of [[2, 1], [4, 3]]) {
    const defs = await client.request<Loc[] | null>("textDocument/definition", { textDocument: { uri }, position: { line: use, character: 8 } });
    assert.deepEqual(defs?.map((d) => d.range.start.line), [def], `use at line ${use}`);
  }
  const refs = await client.request<Loc[]>("textDocument/references", { textDocument: { uri }, position: { line: 2, character: 8 }, context: { includeDeclaration: false } });
  assert.deepEqual(refs.map((r) => r.range.start.line), [2, 4]);
});

test("references find uses as immediates ($sym, $1f): the $ prefix is no part of the name", async () => {
  const uri = pathToFileURL(join(ws, "imm.s")).href;
  await client.openAndWait(uri, ["\t.text", "\tpushl $handler", "\tljmp $8, $1f", "1:\tnop", "handler:\tiret", "\tmovl $a$handler, %eax", ""].join("\n"));
  const refs = await client.request<Loc[]>("textDocument/references", { textDocument: { uri }, position: { line: 1, character: 10 }, context: { includeDeclaration: true } });
  assert.deepEqual(where(refs), ["imm.s:1:8-15", "imm.s:4:0-7"].map((w) => w.replace("imm.s", uri)).sort());
  const local = await client.request<Loc[]>("textDocument/references", { textDocument: { uri }, position: { line: 3, character: 0 }, context: { includeDeclaration: true } });
  assert.deepEqual(where(local), [`${uri}:2:11-13`, `${uri}:3:0-1`]);
});
