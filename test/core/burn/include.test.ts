// `.include`d files are afterburned as GNU as reads them: flattened at the directive (current
// directory, then -I folders), with line markers. Ground truth: GNU as assembles the plain file with
// its .include and the afterburned flattened one; the truth check compares the two objects.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flattenIncludes, prepareWithIncludes } from "../../../core/burn/include.js";
import { checkAfterburnedObject } from "./truth.js";

function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> | void {
  const dir = mkdtempSync(join(tmpdir(), "ab-include-"));
  const done = () => rmSync(dir, { recursive: true, force: true });
  try {
    const r = fn(dir);
    if (r instanceof Promise) return r.finally(done);
    done();
  } catch (e) {
    done();
    throw e;
  }
}

function as(cwd: string, args: string[]): { ok: boolean; stderr: string } {
  const r = spawnSync("as", ["--32", ...args], { cwd, encoding: "utf8" });
  return { ok: r.status === 0, stderr: r.stderr };
}

test("included files' sites are afterburned: GNU as's object of the original and of the afterburned flattened text agree", () =>
  withDir(async (dir) => {
    mkdirSync(join(dir, "inc"));
    mkdirSync(join(dir, "src"));
    // macros.inc defines a macro and has a site of its own; it includes another file from the -I folder.
    writeFileSync(join(dir, "inc", "macros.inc"), ['.macro SAVE_FLAGS reg', "\tpushfl", "\tpopl \\reg", ".endm", '.include "ports.inc"', "\tcli", ""].join("\n"));
    writeFileSync(join(dir, "inc", "ports.inc"), ["\toutb %al, $0x80", "1:\thlt"].join("\n")); // no final line break
    const text = ['\t.text', '\t.include "macros.inc"', "entry:", "\tSAVE_FLAGS %eax", "\tjmp 1b", "\tsti", ""].join("\n");
    writeFileSync(join(dir, "src", "a.s"), text);
    // GNU as: the current directory first, then -I; the including file's folder is not searched (a
    // decoy there with a sensitive instruction would add a site GNU as never assembles).
    writeFileSync(join(dir, "src", "macros.inc"), "\tlgdt (%eax)\n");
    assert.ok(as(dir, ["-I", "inc", "src/a.s", "-o", "plain.o"]).ok);
    const burnt = prepareWithIncludes(text, { fileName: "src/a.s", mode: 32, includes: { cwd: dir, searchDirs: ["inc"] } });
    // Each site is named where it is: the included files' own lines, the input's own (not shifted by the inserted text).
    assert.deepEqual(burnt.sites.map((s) => [s.id, s.input.file, s.input.line, s.annotated]), [
      ["out-imm", "inc/ports.inc", 1, true],
      ["hlt", "inc/ports.inc", 2, true],
      ["cli", "inc/macros.inc", 6, true],
      ["pushf", "src/a.s", 4, true],
      ["sti", "src/a.s", 6, true],
    ]);
    writeFileSync(join(dir, "burnt.s"), burnt.outputString());
    const b = as(dir, ["burnt.s", "-o", "burnt.o"]);
    assert.ok(b.ok, b.stderr);
    await checkAfterburnedObject(join(dir, "plain.o"), join(dir, "burnt.o"), burnt.sites, 32);
    // GNU as's own messages name the included file's line: an error there reads as it would without us.
    writeFileSync(join(dir, "inc", "ports.inc"), "\toutb %al, $0x80\n\tbogus_insn\n");
    const broken = prepareWithIncludes(text, { fileName: "src/a.s", mode: 32, includes: { cwd: dir, searchDirs: ["inc"] } });
    writeFileSync(join(dir, "broken.s"), broken.outputString());
    assert.match(as(dir, ["broken.s", "-o", "broken.o"]).stderr, /inc\/ports\.inc:2: Error: no such instruction: `bogus_insn'/);
  }));

test("flattening: a file not found, an .include in a macro body, and one including itself are left for GNU as", () =>
  withDir((dir) => {
    writeFileSync(join(dir, "self.inc"), '\tnop\n.include "self.inc"\n');
    const text = ['.include "missing.inc"', ".macro M f", '.include "\\f"', ".endm", '.include "self.inc"', ""].join("\n");
    const flat = flattenIncludes(text, { fileName: "t.s", cwd: dir })!;
    assert.deepEqual(flat.text.split("\n"), [
      '.include "missing.inc"',
      ".macro M f",
      '.include "\\f"',
      ".endm",
      '# 1 "self.inc"',
      "\tnop",
      '.include "self.inc"',
      '# 6 "t.s"',
      "",
    ]);
    assert.deepEqual(flat.problems.map((p) => [p.file, p.line]), [["self.inc", 2]]);
    assert.match(flat.problems[0]!.message, /includes itself/);
    assert.deepEqual(flat.origins.map((o) => `${o.file}:${o.line}`), ["t.s:1", "t.s:2", "t.s:3", "t.s:4", "t.s:5", "self.inc:1", "self.inc:2", "t.s:5", "t.s:6"]);
    assert.equal(flattenIncludes("\tcli\n", { fileName: "t.s", cwd: dir }), undefined);
  }));

test("after cpp, the line the text resumes at is the one cpp's markers say", () =>
  withDir((dir) => {
    writeFileSync(join(dir, "m.inc"), "\tcli\n");
    const text = ['# 1 "a.S"', '# 10 "a.S"', '.include "m.inc"', "\tsti", ""].join("\n");
    const flat = flattenIncludes(text, { fileName: "/tmp/x.s", cwd: dir })!;
    assert.deepEqual(flat.text.split("\n").slice(2), ['# 1 "m.inc"', "\tcli", '# 11 "a.S"', "\tsti", ""]);
  }));

test("GNU as's messages name the same lines after a flattened .include in a loop body, and one inside a /* comment */ is left alone", () =>
  withDir((dir) => {
    writeFileSync(join(dir, "b.s"), "\tcli\n");
    writeFileSync(join(dir, "c.s"), "\tcli\n*/\n\tsti\n");
    const cases = [
      ["loop.s", "\tnop\n.rept 2\n.include \"b.s\"\n.endr\n\thlt\n\tmovl %eax, %ebx, %ecx\n"],
      ["comment.s", "/* disabled:\n.include \"c.s\"\n*/\n\tnop\n\tmovl %eax, %ebx, %ecx\n"],
      ["trailing.s", ".include \"b.s\" # a comment\n\tmovl %eax, %ebx, %ecx\n"],
    ];
    for (const [name, text] of cases) {
      writeFileSync(join(dir, name), text);
      const plain = as(dir, [name, "-o", "plain.o"]).stderr.split("\n").filter((l) => /Error/.test(l));
      const burnt = prepareWithIncludes(text, { fileName: name, includes: { cwd: dir } });
      writeFileSync(join(dir, "burnt.s"), burnt.outputString());
      // Unflattened output has no marker: as names the file it reads, which stands for the input.
      const ours = as(dir, ["burnt.s", "-o", "burnt.o"]).stderr.split("\n").filter((l) => /Error/.test(l)).map((l) => l.replace(/^burnt\.s:/, `${name}:`));
      assert.ok(plain.length > 0, name);
      assert.deepEqual(ours, plain, name);
    }
    assert.equal(flattenIncludes(cases[1]![1], { fileName: "comment.s", cwd: dir }), undefined, "nothing to flatten in a comment");
  }));

test("including an already afterburned file: it is read as it is, and the including file's own sites still get records", () =>
  withDir(async (dir) => {
    writeFileSync(join(dir, "inc.s"), prepareWithIncludes("\tcli\n", { fileName: "inc.s", includes: { cwd: dir } }).outputString());
    const text = '\tsti\n.include "inc.s"\n\thlt\n';
    writeFileSync(join(dir, "a.s"), text);
    assert.ok(as(dir, ["a.s", "-o", "plain.o"]).ok);
    const burnt = prepareWithIncludes(text, { fileName: "a.s", includes: { cwd: dir } });
    assert.deepEqual(burnt.sites.map((s) => [s.id, s.annotated]), [["sti", true], ["hlt", true]]);
    assert.ok(burnt.diagnostics.some((d) => /already afterburned/.test(d.message) && d.line === 2));
    writeFileSync(join(dir, "burnt.s"), burnt.outputString());
    const b = as(dir, ["burnt.s", "-o", "burnt.o"]);
    assert.ok(b.ok, b.stderr);
    const records = spawnSync("objdump", ["-s", "-j", ".afterburn", join(dir, "burnt.o")], { encoding: "utf8" }).stdout.split("\n").filter((l) => /^ [0-9a-f]{4} /.test(l)).join(" ");
    assert.equal(records.split(/\s+/).filter((w) => /^[0-9a-f]{8}$/.test(w)).length, 6, "three records: sti, the included cli, hlt");
  }));
