// Builds the TextMate grammars in syntaxes/ from the sensitive-instruction catalogue, so the
// highlighted set of sensitive mnemonics can never drift from what the afterburner pads.
// `npm run grammar` rewrites the files; test/client/grammar.test.ts fails when they are stale.
// Plain module (no vscode import): the extension only ships the generated JSON.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CATALOGUE } from "../core/isa/index.js";
import type { SensitiveClass } from "../core/isa/index.js";

type Rule = Record<string, unknown>;

export const GAS_SCOPE = "source.gas-x86";
export const INJECTION_SCOPE = "source.gas-x86.c-asm-injection";

// Order of severity when one spelling names entries of several classes.
const SEVERITY: SensitiveClass[] = ["privileged", "sensitive", "platform", "memory"];

export interface SensitiveSpellings {
  /** Spellings that are sensitive whatever their operands (per class). */
  always: Map<SensitiveClass, string[]>;
  /** Spellings that are sensitive only with one of these register operands (per class), e.g. mov with %cr3. */
  withRegister: { cls: SensitiveClass; mnemonics: string[]; registers: string[] }[];
}

/** Groups every catalogue spelling into "always sensitive" and "sensitive with a register operand". */
export function sensitiveSpellings(): SensitiveSpellings {
  const byMnemonic = new Map<string, typeof CATALOGUE[number][]>();
  for (const e of CATALOGUE) {
    if (e.class === "memory") continue; // hand-annotated operations, not found by mnemonic
    for (const m of e.mnemonics) {
      const list = byMnemonic.get(m) ?? [];
      list.push(e);
      byMnemonic.set(m, list);
    }
  }
  const always = new Map<SensitiveClass, string[]>();
  const conditional = new Map<string, { cls: SensitiveClass; mnemonics: Set<string>; registers: Set<string> }>();
  for (const [m, entries] of [...byMnemonic.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (entries.every((e) => e.condition.kind === "register")) {
      // mov/push/pop: sensitive only with a control, debug or segment register operand.
      for (const e of entries) {
        if (e.condition.kind !== "register") continue;
        const key = `${e.class}`;
        const group = conditional.get(key) ?? { cls: e.class, mnemonics: new Set(), registers: new Set() };
        group.mnemonics.add(m);
        for (const r of e.condition.registers) group.registers.add(r);
        conditional.set(key, group);
      }
      continue;
    }
    // Port, count, far and immediate conditions cover every operand shape a program writes: always sensitive.
    const cls = SEVERITY.find((c) => entries.some((e) => e.class === c))!;
    const list = always.get(cls) ?? [];
    list.push(m);
    always.set(cls, list);
  }
  const withRegister = SEVERITY.flatMap((cls) => {
    const g = conditional.get(cls);
    return g ? [{ cls, mnemonics: [...g.mnemonics].sort(), registers: [...g.registers].sort() }] : [];
  });
  return { always, withRegister };
}

// Longest first so an alternation never stops at a prefix of a longer spelling.
function alternation(words: readonly string[]): string {
  return [...new Set(words)].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).join("|");
}

const PREFIXES = "lock|rep|repe|repz|repne|repnz|data16|data32|addr16|addr32|rex(?:\\.[wrxb]+)?|rex64|notrack|bnd|xacquire|xrelease|cs|ds|es|fs|gs|ss";

// Registers of IA-32 and x86-64, by kind. The kind is part of the scope so themes can tell them apart.
const REGISTERS: [string, string][] = [
  ["segment", "[cdefgs]s"],
  ["control", "cr[0-8]"],
  ["debug", "(?:dr|db)[0-7]"],
  ["test", "tr[3-7]"],
  [
    "general",
    "[re]?(?:ax|bx|cx|dx|si|di|sp|bp)|[abcd][lh]|(?:si|di|sp|bp)l|r(?:[89]|1[0-5])[dwb]?|[re]?ip|[re]?flags",
  ],
  ["fpu", "st(?:\\([0-7]\\))?"],
  ["vector", "mm[0-7]|[xyz]mm(?:[12]?[0-9]|3[01])|k[0-7]|bnd[0-3]"],
];

/** Operand-level patterns. `pct` is how a register's % is spelled: "%" in assembly, "%%" in a C asm template. */
function operandPatterns(pct: string): Rule[] {
  return [
    ...REGISTERS.map(([kind, re]) => ({
      match: `(?i)(${pct})(?:${re})\\b`,
      name: `variable.language.register.${kind}.gas-x86`,
      captures: { "1": { name: "punctuation.definition.register.gas-x86" } },
    })),
    {
      match: "(\\$)(?=[-+~(]?\\s*(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+|'|\\\\))",
      name: "punctuation.definition.immediate.gas-x86",
    },
    {
      match: "(\\$)([A-Za-z_.][\\w.$@]*)",
      captures: {
        "1": { name: "punctuation.definition.immediate.gas-x86" },
        "2": { name: "variable.other.constant.immediate.gas-x86" },
      },
    },
    { match: "\\b[0-9]+[fb]\\b", name: "variable.other.label.numeric-reference.gas-x86" },
    { include: "#numbers" },
    {
      match: "(\\()([^()]*)(\\))",
      name: "meta.memory-operand.gas-x86",
      captures: {
        "1": { name: "punctuation.section.memory.begin.gas-x86" },
        "2": { patterns: [{ include: "#memory-inner" }] },
        "3": { name: "punctuation.section.memory.end.gas-x86" },
      },
    },
    { match: "\\*", name: "keyword.operator.indirect.gas-x86" },
    { match: ",", name: "punctuation.separator.operand.gas-x86" },
    { match: "[-+~|&^<>!/]|<<|>>", name: "keyword.operator.arithmetic.gas-x86" },
    { match: "\\\\[A-Za-z_][\\w]*|\\\\@|\\\\\\(\\)", name: "variable.parameter.macro.gas-x86" },
    { match: "[A-Za-z_.][\\w.$@]*", name: "variable.other.symbol.gas-x86" },
  ];
}

function sensitiveLookahead(registers: readonly string[], pct: string, stop: string): string {
  // A register operand (not a segment override like %fs:0x10) before the end of the statement.
  return `(?=[^${stop}]*?${pct}(?:${alternation(registers)})\\b(?!\\s*:))`;
}

/** The instruction rules: sensitive spellings first (own scopes), then any other mnemonic. */
function instructionRules(
  spellings: SensitiveSpellings,
  start: string,
  end: string,
  pct: string,
  stop: string,
  inner: string,
): Rule[] {
  const rules: Rule[] = [];
  const make = (mnemonicRe: string, scope: string, lookahead = ""): Rule => ({
    begin: `${start}\\s*((?:(?:${PREFIXES})\\s+)*)(${mnemonicRe})(?=$|[\\s;#/"]|\\\\)${lookahead}`,
    beginCaptures: {
      "1": { patterns: [{ match: `(?i)\\b(?:${PREFIXES})\\b`, name: "keyword.other.prefix.gas-x86" }] },
      "2": { name: scope },
    },
    end,
    name: "meta.instruction.gas-x86",
    patterns: [{ include: inner }],
  });
  for (const cls of SEVERITY) {
    const words = spellings.always.get(cls);
    if (words?.length) rules.push(make(`(?i:${alternation(words)})`, `keyword.other.instruction.sensitive.${cls}.gas-x86`));
  }
  for (const g of spellings.withRegister) {
    rules.push(
      make(
        `(?i:${alternation(g.mnemonics)})`,
        `keyword.other.instruction.sensitive.${g.cls}.gas-x86`,
        sensitiveLookahead(g.registers, pct, stop),
      ),
    );
  }
  rules.push(make("[A-Za-z_][\\w.]*", "keyword.other.instruction.gas-x86"));
  return rules;
}

export function buildGasGrammar(spellings = sensitiveSpellings()): Rule {
  const start = "(?:^|(?<=;)|(?<=:))";
  const end = "(?=;|#|/\\*|//)|$";
  return {
    $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
    name: "GNU as x86 (AT&T)",
    scopeName: GAS_SCOPE,
    comment: "Generated by client/grammar.ts from the core/isa catalogue (npm run grammar). Do not edit by hand.",
    patterns: [
      { include: "#preprocessor" },
      { include: "#comments" },
      { include: "#label" },
      { include: "#macro" },
      { include: "#directive" },
      { include: "#instruction" },
      { match: ";", name: "punctuation.terminator.statement.gas-x86" },
    ],
    repository: {
      preprocessor: {
        patterns: [
          {
            // cpp line markers (`# 12 "foo.c" 1`) in preprocessed and gcc -S output
            match: '^\\s*(#)\\s*(?:line\\s+)?([0-9]+)\\s+("[^"]*")?(.*)$',
            name: "meta.preprocessor.line-marker.gas-x86",
            captures: {
              "1": { name: "punctuation.definition.directive.gas-x86" },
              "2": { name: "constant.numeric.line.gas-x86" },
              "3": { name: "string.quoted.double.gas-x86" },
              "4": { name: "constant.numeric.flags.gas-x86" },
            },
          },
          {
            begin: "^\\s*(#)\\s*(define|undef|include|include_next|if|ifdef|ifndef|elif|else|endif|error|warning|pragma|line)\\b",
            beginCaptures: {
              "1": { name: "punctuation.definition.directive.gas-x86" },
              "2": { name: "keyword.control.directive.preprocessor.gas-x86" },
            },
            end: "(?<!\\\\)$",
            name: "meta.preprocessor.gas-x86",
            patterns: [
              { include: "#block-comment" },
              { match: "(?<=define)\\s+([A-Za-z_]\\w*)", captures: { "1": { name: "entity.name.function.preprocessor.gas-x86" } } },
              { match: "<[^>]*>", name: "string.quoted.other.include.gas-x86" },
              { include: "#strings" },
              { include: "#numbers" },
              { match: "\\bdefined\\b", name: "keyword.operator.defined.gas-x86" },
            ],
          },
        ],
      },
      comments: {
        patterns: [
          { include: "#block-comment" },
          { match: "(//).*$", name: "comment.line.double-slash.gas-x86", captures: { "1": { name: "punctuation.definition.comment.gas-x86" } } },
          { match: "(#).*$", name: "comment.line.number-sign.gas-x86", captures: { "1": { name: "punctuation.definition.comment.gas-x86" } } },
        ],
      },
      "block-comment": {
        begin: "/\\*",
        end: "\\*/",
        name: "comment.block.gas-x86",
        captures: { "0": { name: "punctuation.definition.comment.gas-x86" } },
      },
      label: {
        patterns: [
          {
            match: "(?:^|(?<=;))\\s*([0-9]+)(:)",
            captures: {
              "1": { name: "entity.name.label.numeric-local.gas-x86" },
              "2": { name: "punctuation.separator.label.gas-x86" },
            },
          },
          {
            match: "(?:^|(?<=;))\\s*([A-Za-z_.$][\\w.$@]*|\\\\[A-Za-z_]\\w*)(:)(?!:)",
            captures: {
              "1": { name: "entity.name.function.label.gas-x86" },
              "2": { name: "punctuation.separator.label.gas-x86" },
            },
          },
        ],
      },
      macro: {
        patterns: [
          {
            match: "(?i)(?:^|(?<=;)|(?<=:))\\s*(\\.macro)\\s+([A-Za-z_.$][\\w.$]*)(.*?)(?=#|/\\*|$)",
            captures: {
              "1": { name: "keyword.control.directive.macro.gas-x86" },
              "2": { name: "entity.name.function.macro.gas-x86" },
              "3": {
                patterns: [
                  { match: "[A-Za-z_][\\w]*(?=\\s*(?:=|:(?:req|vararg)|,|\\s|$))", name: "variable.parameter.macro.gas-x86" },
                  { match: ":(?:req|vararg)\\b", name: "storage.modifier.macro.gas-x86" },
                  { include: "#numbers" },
                  { include: "#strings" },
                ],
              },
            },
          },
          { match: "(?i)(?:^|(?<=;)|(?<=:))\\s*(\\.(?:endm|exitm|purgem|rept|endr|irpc?|irp))\\b", captures: { "1": { name: "keyword.control.directive.macro.gas-x86" } } },
        ],
      },
      directive: {
        begin: "(?:^|(?<=;)|(?<=:))\\s*(\\.[A-Za-z_][\\w.]*)",
        beginCaptures: { "1": { name: "keyword.control.directive.gas-x86" } },
        end: end,
        name: "meta.directive.gas-x86",
        patterns: [
          { include: "#strings" },
          { match: "@(?:function|object|progbits|nobits|note|common|gnu_indirect_function)\\b", name: "support.constant.section-type.gas-x86" },
          { include: "#operands" },
        ],
      },
      instruction: { patterns: instructionRules(spellings, start, end, "%", ";#\\n", "#operands") },
      operands: { patterns: [{ include: "#strings" }, { include: "#block-comment" }, ...operandPatterns("%")] },
      "memory-inner": { patterns: operandPatterns("%").filter((r) => r.name !== "meta.memory-operand.gas-x86") },
      numbers: {
        patterns: [
          { match: "(?<![\\w.])-?0[xX][0-9a-fA-F]+\\b", name: "constant.numeric.hex.gas-x86" },
          { match: "(?<![\\w.])-?0[bB][01]+\\b", name: "constant.numeric.binary.gas-x86" },
          { match: "(?<![\\w.])-?0[0-7]+\\b", name: "constant.numeric.octal.gas-x86" },
          { match: "(?<![\\w.])-?[0-9]+(?![fb:\\w])", name: "constant.numeric.decimal.gas-x86" },
          { match: "'(?:\\\\.|[^\\\\'])'?", name: "constant.character.gas-x86" },
        ],
      },
      strings: {
        begin: '"',
        end: '"',
        name: "string.quoted.double.gas-x86",
        patterns: [{ match: "\\\\(?:[0-7]{1,3}|x[0-9a-fA-F]+|.)", name: "constant.character.escape.gas-x86" }],
      },
    },
  };
}

/**
 * Injection into C/C++: asm/__asm__ statements. The template strings are highlighted as assembly
 * (%%reg, %0, %k1, %[name]); constraints, C operands and everything outside stay with the C grammar.
 */
export function buildInjectionGrammar(spellings = sensitiveSpellings()): Rule {
  // Start of an instruction inside a template: the string's start, or after \n, \t, ; or a label.
  const start = '(?:(?<=")|(?<=\\\\n)|(?<=\\\\t)|(?<=;)|(?<=:))';
  const end = '(?=")|(?=\\\\n|\\\\t|;)';
  return {
    $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
    name: "GNU as x86 in C asm statements",
    scopeName: INJECTION_SCOPE,
    comment: "Generated by client/grammar.ts from the core/isa catalogue (npm run grammar). Do not edit by hand.",
    injectionSelector: "L:source.c -comment -string, L:source.cpp -comment -string",
    patterns: [{ include: "#asm-statement" }],
    repository: {
      "asm-statement": {
        begin: "\\b(asm|__asm__|__asm)\\b((?:\\s+(?:volatile|__volatile__|inline|__inline__|goto))*)\\s*(\\()",
        beginCaptures: {
          "1": { name: "storage.type.asm.gas-x86" },
          "2": { name: "storage.modifier.asm.gas-x86" },
          "3": { name: "punctuation.section.parens.begin.asm.gas-x86" },
        },
        end: "\\)",
        endCaptures: { "0": { name: "punctuation.section.parens.end.asm.gas-x86" } },
        name: "meta.asm.statement.gas-x86",
        patterns: [
          { include: "#asm-operands" },
          { include: "#template" },
          { include: "#c-parens" },
          { include: "source.c" },
        ],
      },
      "asm-operands": {
        begin: ":",
        beginCaptures: { "0": { name: "punctuation.separator.asm-section.gas-x86" } },
        end: "(?=\\))",
        name: "meta.asm.operands.gas-x86",
        patterns: [
          { match: ":", name: "punctuation.separator.asm-section.gas-x86" },
          { match: "(\\[)([A-Za-z_]\\w*)(\\])", captures: { "1": { name: "punctuation.definition.asm-operand.gas-x86" }, "2": { name: "entity.name.variable.asm-operand.gas-x86" }, "3": { name: "punctuation.definition.asm-operand.gas-x86" } } },
          { match: '"[^"]*"', name: "string.quoted.double.asm-constraint.gas-x86" },
          { include: "#c-parens" },
          { include: "source.c" },
        ],
      },
      "c-parens": {
        begin: "\\(",
        end: "\\)",
        beginCaptures: { "0": { name: "punctuation.section.parens.begin.gas-x86" } },
        endCaptures: { "0": { name: "punctuation.section.parens.end.gas-x86" } },
        patterns: [{ include: "#c-parens" }, { include: "source.c" }],
      },
      template: {
        begin: '"',
        end: '"',
        beginCaptures: { "0": { name: "punctuation.definition.string.begin.gas-x86" } },
        endCaptures: { "0": { name: "punctuation.definition.string.end.gas-x86" } },
        name: "string.quoted.double.asm-template.gas-x86",
        patterns: [
          { include: "#template-escapes" },
          { include: "#template-label" },
          { include: "#template-directive" },
          ...instructionRules(spellings, start, end, "%%", '"', "#template-operands"),
        ],
      },
      "template-escapes": {
        patterns: [{ match: "\\\\(?:[ntr\"\\\\']|[0-7]{1,3}|x[0-9a-fA-F]+)", name: "constant.character.escape.gas-x86" }],
      },
      "template-label": {
        match: '(?:(?<=")|(?<=\\\\n)|(?<=\\\\t)|(?<=;))\\s*([0-9]+|[A-Za-z_.$][\\w.$]*)(:)',
        captures: { "1": { name: "entity.name.label.gas-x86" }, "2": { name: "punctuation.separator.label.gas-x86" } },
      },
      "template-directive": {
        match: '(?:(?<=")|(?<=\\\\n)|(?<=\\\\t)|(?<=;))\\s*(\\.[A-Za-z_][\\w.]*)',
        captures: { "1": { name: "keyword.control.directive.gas-x86" } },
      },
      "template-operands": {
        patterns: [
          { include: "#template-escapes" },
          {
            // %0, %k1, %w[name], %[name], %l2: operands of the asm statement
            match: "(%)([a-zA-Z]?)(?:([0-9]+)|(\\[)([A-Za-z_]\\w*)(\\]))",
            name: "variable.parameter.asm-operand.gas-x86",
            captures: {
              "1": { name: "punctuation.definition.asm-operand.gas-x86" },
              "2": { name: "storage.modifier.asm-operand.gas-x86" },
            },
          },
          ...operandPatterns("%%"),
          { match: "%[=|%{}]", name: "constant.character.escape.asm-template.gas-x86" },
        ],
      },
    },
  };
}

/** The files `npm run grammar` writes, keyed by path under syntaxes/. */
export function grammarFiles(): Record<string, string> {
  const spellings = sensitiveSpellings();
  return {
    "gas-x86.tmLanguage.json": JSON.stringify(buildGasGrammar(spellings), null, 2) + "\n",
    "c-asm-injection.tmLanguage.json": JSON.stringify(buildInjectionGrammar(spellings), null, 2) + "\n",
  };
}

if (require.main === module) {
  const dir = join(__dirname, "..", "syntaxes");
  for (const [name, text] of Object.entries(grammarFiles())) {
    writeFileSync(join(dir, name), text);
    console.log(`wrote syntaxes/${name}`);
  }
}
