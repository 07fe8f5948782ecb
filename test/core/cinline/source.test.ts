import { test } from "node:test";
import assert from "node:assert/strict";
import { blankDirectiveComments } from "../../../core/cinline/source.js";
import { analyseC } from "../../../core/cinline/index.js";

test("comments inside directives are blanked, same length and line breaks; code, strings and other comments are untouched", () => {
  const src = [
    "#define A \"sti;\" /* why */ \"hlt\" // tail",
    "  #  define B 1 /* over",
    "   two lines */ + 2",
    "int x = 1; /* # not a directive */ char *s = \"# /* nor this */\";",
    "#define C \"/* kept: in a string */\" \\",
    "   /* blanked */ \"x\"",
    "/* #define D 1 /* in a comment */",
    "",
  ].join("\n");
  const out = blankDirectiveComments(src);
  assert.equal(out.length, src.length);
  assert.deepEqual(out.split("\n").map((l) => l.length), src.split("\n").map((l) => l.length));
  assert.deepEqual(out.split("\n"), [
    "#define A \"sti;\"           \"hlt\"        ",
    "  #  define B 1        ",
    "                + 2",
    "int x = 1; /* # not a directive */ char *s = \"# /* nor this */\";",
    "#define C \"/* kept: in a string */\" \\",
    "                 \"x\"",
    "/* #define D 1 /* in a comment */",
    "",
  ]);
});

test("a comment inside a #define no longer throws the C parse off: the define's value and the code after it are read", async () => {
  const r = await analyseC("#define SH \"sti;\" /* why */ \"hlt\"\nvoid f(void) { asm(SH); }\nvoid g(void) { asm(\"cli\"); }\n");
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1]), [["sti", 2], ["hlt", 2], ["cli", 3]]);
  assert.deepEqual(r.functions.map((f) => f.name), ["f", "g"]);
});

test("a backslash-CRLF line splice inside a template's literal (a file with Windows line breaks) is read as gcc reads it", async () => {
  const r = await analyseC('void f(void) {\r\n  asm volatile("nop; \\\r\ncli");\r\n}\r\n');
  assert.equal(r.statements[0]!.text, "nop; cli");
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line, s.range.start, s.range.end]), [["cli", 2, 0, 3]]);
  assert.deepEqual(r.diagnostics, []);
});
