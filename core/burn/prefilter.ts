// The afterburner's fast path. Compiler output and preprocessed .S files have no macros, loops or
// cpp conditionals left, so most of their lines cannot hold a sensitive instruction. One regex pass
// over the whole text finds the lines that might (a catalogue mnemonic as a word, or a segment,
// control or debug register) and the lines that change context (sections, code size, line
// markers, #APP, .loc, the afterburner's own directives); only those are parsed. The result is the
// same statement stream the full parser yields for those lines: burn's tests compare both paths.

import { parseLine } from "../asm/index.js";
import { parseLineMarker } from "../asm/cpp.js";
import type { CodeMode, ExpandedStatement, SourceOrigin } from "../asm/types.js";
import { CATALOGUE } from "../isa/index.js";

/** Text that needs the full parser: macro/loop expansion, cpp conditionals or defines, block comments. */
const NEEDS_FULL_PARSE = /^[ \t]*\.(?:macro|rept|irpc?)\b|^[ \t]*#[ \t]*(?:if|ifdef|ifndef|elif|else|endif|define|undef)\b|\/\*/m;

export function canPrefilter(text: string): boolean {
  return !NEEDS_FULL_PARSE.test(text);
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

let finder: RegExp | undefined;

/** Context lines (group 1) or candidate words/registers anywhere in a line. Built once from the catalogue. */
function candidateFinder(): RegExp {
  if (finder) return finder;
  const words = new Set<string>();
  for (const e of CATALOGUE) if (e.condition.kind !== "register") for (const m of e.mnemonics) words.add(m);
  const wordAlt = [...words].sort((a, b) => b.length - a.length).map(escape).join("|");
  const context = String.raw`^[ \t]*(?:\.(?:text|data|bss|section|pushsection|popsection|previous|code16gcc|code16|code32|code64|loc|file|afterburn_\w+)\b|#)`;
  const registers = String.raw`%(?:cr\d+|d[br]\d+|[c-gs]s\b)`;
  finder = new RegExp(`(${context})|(?<![\\w.$%])(?:${wordAlt})(?![\\w.$])|${registers}`, "gm");
  return finder;
}

/** The statements of the lines that matter, with the mode, section and origin the full parser would give them. */
export function prefilteredStatements(text: string, defaultMode: CodeMode): ExpandedStatement[] {
  const out: ExpandedStatement[] = [];
  const re = candidateFinder();
  re.lastIndex = 0;

  let mode: CodeMode = defaultMode;
  let section = ".text";
  let previous = ".text";
  const stack: { section: string; previous: string }[] = [];
  let inApp = false;
  let marker: { file: string; line: number; at: number } | undefined;

  let line = 0;
  let lineStart = 0;
  // Instructions an .afterburn_memop directive claims: they are parsed whatever they look like.
  let claimed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    // Advance the line count to the match.
    for (let nl = text.indexOf("\n", lineStart); nl !== -1 && nl < m.index; nl = text.indexOf("\n", lineStart)) {
      line++;
      lineStart = nl + 1;
    }
    visit(m.index);
    while (claimed > 0 && re.lastIndex < text.length) {
      line++;
      lineStart = re.lastIndex + 1;
      visit(lineStart);
    }
  }
  return out;

  function visit(at: number): void {
    let lineEnd = text.indexOf("\n", at);
    if (lineEnd === -1) lineEnd = text.length;
    re.lastIndex = lineEnd; // one visit per line

    const { parsed } = parseLine(text.slice(lineStart, lineEnd), line);
    const origin: SourceOrigin | undefined = marker ? { file: marker.file, line: marker.line + (line - marker.at - 1) } : undefined;
    for (const st of parsed.statements) {
      if (st.kind === "preprocessor") {
        if (st.directive === "app") inApp = true;
        else if (st.directive === "no_app") inApp = false;
        else if (st.directive === "line-marker" || st.directive === "line") {
          const lm = parseLineMarker(st.args, st.directive === "line");
          if (lm?.file !== undefined) marker = lm.file.length > 0 ? { file: lm.file, line: lm.line, at: line } : undefined;
          else if (lm && marker) marker = { file: marker.file, line: lm.line, at: line };
        }
        continue;
      }
      if (st.kind === "directive") {
        switch (st.name) {
          case ".code16":
          case ".code16gcc":
            mode = 16;
            break;
          case ".code32":
            mode = 32;
            break;
          case ".code64":
            mode = 64;
            break;
          case ".text":
          case ".data":
          case ".bss":
            previous = section;
            section = st.name;
            break;
          case ".section":
            previous = section;
            section = st.argList[0] ?? section;
            break;
          case ".pushsection":
            stack.push({ section, previous });
            previous = section;
            section = st.argList[0] ?? section;
            break;
          case ".popsection": {
            const top = stack.pop();
            if (top) ({ section, previous } = top);
            break;
          }
          case ".previous":
            [section, previous] = [previous, section];
            break;
        }
      }
      if (st.kind === "directive" && st.name === ".afterburn_memop") claimed = Math.max(1, Math.min(8, Number(st.argList[1] ?? 1) || 1));
      else if (st.kind === "instruction" && claimed > 0) claimed--;
      if (st.kind === "instruction" || st.kind === "directive") {
        out.push({ statement: st, line, mode, section, origin, inApp: inApp || undefined });
      }
    }
  }
}
