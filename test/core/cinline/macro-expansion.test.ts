import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { concatenate, Expander, ExpansionStopped, macroDef, MAX_MACRO_TOKENS, tokenize, type MacroDefs } from "../../../core/cinline/macro-expansion.js";

/** Macros from `#define` lines (one per line, no continuations). */
function defs(lines: string[]): MacroDefs {
  const out: MacroDefs = new Map();
  lines.forEach((l, row) => {
    const m = /^#define\s+([A-Za-z_]\w*)(\([^)]*\))?\s*(.*)$/.exec(l);
    if (m === null) throw new Error(l);
    out.set(m[1]!, macroDef(m[1]!, m[2], m[3]!, row) ?? null);
  });
  return out;
}

/** The expansion of `text` as cpp writes it (a space where a token had whitespace before it). */
function expand(d: MacroDefs, text: string): string {
  const ts = new Expander(d, Number.POSITIVE_INFINITY, false).expand(tokenize(text));
  return ts.map((t, k) => (k > 0 && t.space ? " " : "") + t.text).join("");
}

// C11 6.10.3.5 EXAMPLE 3 and 4, with the results the standard gives.
const EXAMPLE_4 = [
  "#define str(s) # s",
  "#define xstr(s) str(s)",
  '#define debug(s, t) printf("x" # s "= %d, x" # t "= %s", x ## s, x ## t)',
  "#define INCFILE(n) vers ## n",
  "#define glue(a, b) a ## b",
  "#define xglue(a, b) glue(a, b)",
  '#define HIGHLOW "hello"',
  '#define LOW LOW ", world"',
];
const EXAMPLE_3 = [
  "#define x 2",
  "#define f(a) f(x * (a))",
  "#define g f",
  "#define z z[0]",
  "#define h g(~",
  "#define m(a) a(w)",
  "#define w 0,1",
  "#define t(a) a",
];

test("# stringifies an argument as written: whitespace runs one space, quotes and backslashes in literals escaped", () => {
  const d = defs(EXAMPLE_4);
  assert.equal(expand(d, "debug(1, 2)"), 'printf("x" "1" "= %d, x" "2" "= %s", x1, x2)');
  assert.equal(expand(d, "str(strncmp(\"abc\\0d\", \"abc\", '\\4') /* a comment */\n   == 0) str(: @\\n)"), String.raw`"strncmp(\"abc\\0d\", \"abc\", '\\4') == 0" ": @\n"`);
  assert.equal(expand(d, "xstr(INCFILE(2).h)"), '"vers2.h"');
  assert.equal(expand(d, "str(  )"), '""');
});

test("## pastes before the result is rescanned; an argument of # or ## is not expanded first", () => {
  const d = defs(EXAMPLE_4);
  assert.equal(expand(d, "glue(HIGH, LOW)"), '"hello"');
  assert.equal(expand(d, "xglue(HIGH, LOW)"), '"hello" ", world"');
  assert.equal(expand(d, "str(HIGHLOW) xstr(HIGHLOW)"), '"HIGHLOW" "\\"hello\\""');
});

test("a macro is not expanded again inside its own expansion, even after rescanning (C11 EXAMPLE 3)", () => {
  const d = defs(EXAMPLE_3);
  // The standard prints its results with spacing of its own: compared without whitespace.
  const bare = (s: string): string => s.replace(/\s+/g, "");
  assert.equal(bare(expand(d, "f(y+1) + f(f(z)) % t(t(g)(0) + t)(1);")), bare("f(2 * (y+1)) + f(2 * (f(2 * (z[0])))) % f(2 * (0)) + t(1);"));
  assert.equal(bare(expand(d, "g(x+(3,4)-w) | h 5) & m\n(f)^m(m);")), bare("f(2 * (2+(3,4)-0,1)) | f(2 * (~ 5)) & f(2 * (0,1))^m(0,1);"));
});

test("variadic macros: x... and __VA_ARGS__ take the commas of the rest; GNU's , ## __VA_ARGS__ drops the comma when empty", () => {
  const d = defs([
    "#define __stringify_1(x...) #x",
    "#define __stringify(x...) __stringify_1(x)",
    "#define showlist(...) puts(#__VA_ARGS__)",
    '#define report(test, ...) ((test)?puts(#test): printf(__VA_ARGS__))',
    "#define e(fmt, args...) p(fmt , ## args)",
    "#define TWO 2",
  ]);
  assert.equal(expand(d, "__stringify(a, b ,c)"), '"a, b ,c"');
  assert.equal(expand(d, "__stringify(TWO)"), '"2"');
  assert.equal(expand(d, "showlist(The first, second, and third items.)"), 'puts("The first, second, and third items.")');
  assert.equal(expand(d, 'report(x>y, "x is %d but y is %d", x, y)'), '((x>y)?puts("x>y"): printf("x is %d but y is %d", x, y))');
  assert.equal(expand(d, 'e("a")'), 'p("a")');
  assert.equal(expand(d, 'e("a", 1, 2)'), 'p("a" , 1, 2)');
});

test("what cannot be expanded stops with a reason: a bad paste, a wrong argument count, no closing parenthesis, a runaway expansion", () => {
  const d = defs(["#define P(a, b) a ## b", "#define ONE(a) a", "#define B0 x", ...Array.from({ length: 20 }, (_, i) => `#define B${i + 1} B${i} B${i}`)]);
  const stops = (text: string): string => {
    try {
      expand(d, text);
    } catch (e) {
      if (e instanceof ExpansionStopped) return e.message;
      throw e;
    }
    return "expanded";
  };
  assert.match(stops('P("a", "b")'), /pasting/);
  assert.match(stops("ONE(1, 2)"), /takes 1 argument, given 2/);
  assert.match(stops("ONE((1)"), /no closing parenthesis/);
  assert.match(stops("B20"), new RegExp(`over ${MAX_MACRO_TOKENS} tokens`));
  assert.equal(stops("B10"), "expanded");
});

test("a name the file does not define may be a header's macro: stringifying it after expansion stops when the file includes headers", () => {
  const d = defs(["#define __stringify_1(x...) #x", "#define __stringify(x...) __stringify_1(x)"]);
  const run = (headers: boolean, text: string): string => {
    try {
      return new Expander(d, Number.POSITIVE_INFINITY, headers).expand(tokenize(text)).map((t) => t.text).join(" ");
    } catch (e) {
      return (e as Error).message;
    }
  };
  assert.equal(run(false, "__stringify(VECTOR)"), '"VECTOR"');
  assert.match(run(true, "__stringify(VECTOR)"), /VECTOR may be a macro/);
  // #x of the argument as written: no expansion, nothing to know.
  assert.equal(run(true, "__stringify_1(VECTOR)"), '"VECTOR"');
  // gcc predefines names like i386 (-m32 makes __stringify(i386) "1").
  assert.match(run(false, "__stringify(i386)"), /i386 may be a macro/);
});

test("a macro defined after a use is not in force there", () => {
  const d = defs(["#define A 1", "#define B 2"]);
  const ts = new Expander(d, 1, false).expand(tokenize("A B"));
  assert.deepEqual(ts.map((t) => t.text), ["1", "B"]);
});

test("adjacent string literals concatenate; each character remembers where it is when it came from the text read", () => {
  const d = defs(["#define ID(s) s", "#define S(x) #x"]);
  const call = tokenize('ID("c\\x41") S(ab)').map((t, k) => ({ ...t, at: { row: 0, column: k } }));
  const s = concatenate(new Expander(d, Number.POSITIVE_INFINITY, false).expand(call))!;
  assert.equal(s.text, "cAab");
  // Token k stands at column k here: "c\x41" is token 2 (c at +1, the escape at +2), ab is token 6.
  assert.deepEqual(s.pos, [{ row: 0, column: 3 }, { row: 0, column: 4 }, { row: 0, column: 6 }, { row: 0, column: 7 }]);
  assert.equal(concatenate(tokenize('"a" x')), undefined);
  assert.equal(concatenate(tokenize('L"a"')), undefined);
});

test("the expansions agree with gcc -E", (t) => {
  const lines = [
    "#define __stringify_1(x...) #x",
    "#define __stringify(x...) __stringify_1(x)",
    "#define CAT(a, b) a ## b",
    "#define XCAT(a, b) CAT(a, b)",
    "#define EMPTY",
    "#define V(f, ...) f , ## __VA_ARGS__",
    '#define Q(x) #x "\\n\\t" # x',
    "#define N 0x80",
  ];
  const uses = [
    "__stringify(N)",
    "__stringify( a  +  b\t)",
    "__stringify(CAT(N, 1))",
    "__stringify(XCAT(N, 1))",
    "__stringify(\"q\\\"\" '\\\\')",
    "__stringify(V(a))",
    "__stringify(V(a, b, c))",
    "__stringify(EMPTY x EMPTY)",
    "Q(  x  \"y\" )",
    "CAT(,)",
    "CAT(x,)",
    "CAT(, y)",
  ];
  const gcc = spawnSync("gcc", ["-E", "-P", "-x", "c", "-"], { input: [...lines, ...uses.map((u) => `@${u}@`)].join("\n") + "\n", encoding: "utf8" });
  if (gcc.status !== 0) return t.skip(`gcc -E failed here: ${gcc.stderr}`);
  const truth = gcc.stdout.split("\n").filter((l) => l.startsWith("@")).map((l) => l.replace(/^@ ?| ?@$/g, ""));
  const d = defs(lines);
  assert.deepEqual(uses.map((u) => expand(d, u)), truth);
});
