// Grammar tests: tokenize fixture files with vscode-textmate + vscode-oniguruma (the engine VS Code
// uses) and compare with reviewed snapshot files. UPDATE_SNAPSHOTS=1 rewrites the snapshots; review
// the diff before committing. Also: the generated grammars on disk match the catalogue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as oniguruma from "vscode-oniguruma";
import * as vsctm from "vscode-textmate";
import { grammarFiles, GAS_SCOPE, INJECTION_SCOPE, sensitiveSpellings } from "../../client/grammar";
import { CATALOGUE } from "../../core/isa/index";

const root = join(__dirname, "..", "..");
const fixtures = join(__dirname, "fixtures", "grammar");
const realCGrammar = join(root, ".e2e", "code-server", "node_modules", "code-server", "lib", "vscode", "extensions", "cpp", "syntaxes", "c.tmLanguage.json");

let onigReady: Promise<void> | undefined;
function onig(): Promise<void> {
  onigReady ??= oniguruma.loadWASM(readFileSync(join(dirname(require.resolve("vscode-oniguruma")), "onig.wasm")).buffer as ArrayBuffer);
  return onigReady;
}

async function registry(cGrammarPath: string): Promise<vsctm.Registry> {
  await onig();
  const files: Record<string, string> = {
    [GAS_SCOPE]: join(root, "syntaxes", "gas-x86.tmLanguage.json"),
    [INJECTION_SCOPE]: join(root, "syntaxes", "c-asm-injection.tmLanguage.json"),
    "source.c": cGrammarPath,
  };
  return new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      const p = files[scopeName];
      if (!p) return null; // e.g. source.asm, which VS Code's C grammar includes and nobody provides here
      return vsctm.parseRawGrammar(readFileSync(p, "utf8"), p);
    },
    getInjections: (scopeName) => (scopeName === "source.c" ? [INJECTION_SCOPE] : undefined),
  });
}

interface Token {
  text: string;
  scopes: string[];
}

async function tokenize(scope: string, text: string, cGrammar = join(fixtures, "host-c.tmLanguage.json")): Promise<Token[][]> {
  const grammar = await (await registry(cGrammar)).loadGrammar(scope);
  assert.ok(grammar, `grammar ${scope} loads`);
  let state = vsctm.INITIAL;
  return text.split("\n").map((line) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes.slice(1) }));
  });
}

/** One line per token: `text ⟶ scope scope`, tokens with only the root scope left bare. */
function render(lines: Token[][], source: string): string {
  const src = source.split("\n");
  const out: string[] = [];
  lines.forEach((tokens, i) => {
    if (src[i] === "" && i === src.length - 1) return;
    out.push(`> ${src[i]}`);
    for (const t of tokens) {
      if (t.text.trim() === "" && t.scopes.length === 0) continue;
      out.push(`  ${JSON.stringify(t.text)}${t.scopes.length ? " ⟶ " + t.scopes.join(" ") : ""}`);
    }
  });
  return out.join("\n") + "\n";
}

async function checkSnapshot(fixture: string, scope: string): Promise<void> {
  const source = readFileSync(join(fixtures, fixture), "utf8");
  const actual = render(await tokenize(scope, source), source);
  const snapshot = join(fixtures, `${fixture}.snap`);
  if (process.env.UPDATE_SNAPSHOTS === "1" || !existsSync(snapshot)) {
    writeFileSync(snapshot, actual);
    if (process.env.UPDATE_SNAPSHOTS !== "1") assert.fail(`${snapshot} did not exist; written now: review it and run again`);
    return;
  }
  assert.equal(actual, readFileSync(snapshot, "utf8"), `${fixture} tokens differ from ${fixture}.snap (UPDATE_SNAPSHOTS=1 to accept after review)`);
}

function scopesOf(lines: Token[][], line: number, text: string): string[] {
  const t = lines[line]!.find((x) => x.text === text);
  assert.ok(t, `token ${JSON.stringify(text)} on line ${line + 1}: ${JSON.stringify(lines[line]!.map((x) => x.text))}`);
  return t.scopes;
}

test("generated grammars in syntaxes/ match the catalogue (run `npm run grammar` when this fails)", () => {
  for (const [name, text] of Object.entries(grammarFiles())) {
    assert.equal(readFileSync(join(root, "syntaxes", name), "utf8"), text, `syntaxes/${name} is stale`);
  }
});

test("every catalogue spelling is in the grammar's sensitive sets", () => {
  const s = sensitiveSpellings();
  const covered = new Set([...[...s.always.values()].flat(), ...s.withRegister.flatMap((g) => g.mnemonics)]);
  for (const e of CATALOGUE) {
    if (e.class === "memory") continue;
    for (const m of e.mnemonics) assert.ok(covered.has(m), `${m} (${e.id}) is not highlighted as sensitive`);
  }
});

test("GAS grammar: IA-32 kernel source with cpp, macros and sensitive instructions", () => checkSnapshot("kernel.S", GAS_SCOPE));
test("GAS grammar: x86-64 gcc -S output", () => checkSnapshot("long.s", GAS_SCOPE));
test("C injection: asm templates inside C", () => checkSnapshot("inline.c", "source.c"));

test("sensitive scopes follow the operands: mov is sensitive only with a control/debug/segment register", async () => {
  const lines = await tokenize(GAS_SCOPE, "movl %cr3, %eax\nmovl %eax, %ebx\nmovl %fs:4, %eax\nmov %ax, %ss\nPUSHFL\npushl %fs");
  assert.ok(scopesOf(lines, 0, "movl").includes("keyword.other.instruction.sensitive.privileged.gas-x86"));
  assert.deepEqual(scopesOf(lines, 1, "movl"), ["meta.instruction.gas-x86", "keyword.other.instruction.gas-x86"]);
  assert.deepEqual(scopesOf(lines, 2, "movl"), ["meta.instruction.gas-x86", "keyword.other.instruction.gas-x86"], "a segment override is not a segment register operand");
  assert.ok(scopesOf(lines, 3, "mov").includes("keyword.other.instruction.sensitive.sensitive.gas-x86"));
  assert.ok(scopesOf(lines, 4, "PUSHFL").includes("keyword.other.instruction.sensitive.sensitive.gas-x86"), "mnemonics are case-insensitive");
  assert.ok(scopesOf(lines, 5, "pushl").includes("keyword.other.instruction.sensitive.sensitive.gas-x86"));
});

test("C injection inside VS Code's own C grammar (when code-server is installed)", async (t) => {
  if (!existsSync(realCGrammar)) {
    t.skip(`no ${realCGrammar}; run scripts/install-code-server.sh to test against VS Code's C grammar`);
    return;
  }
  const source = readFileSync(join(fixtures, "inline.c"), "utf8");
  const lines = await tokenize("source.c", source, realCGrammar);
  assert.ok(scopesOf(lines, 0, "cli").includes("keyword.other.instruction.sensitive.privileged.gas-x86"));
  assert.ok(scopesOf(lines, 4, "movl").includes("keyword.other.instruction.sensitive.privileged.gas-x86"));
  assert.ok(scopesOf(lines, 4, "cr0").includes("variable.language.register.control.gas-x86"));
  // The C around it is still C: the function after the asm statements keeps the C grammar's scopes.
  assert.ok(scopesOf(lines, 12, "add").some((s) => s.endsWith(".c")), JSON.stringify(scopesOf(lines, 12, "add")));
  assert.ok(scopesOf(lines, 12, "return").some((s) => s.endsWith(".c")));
});
