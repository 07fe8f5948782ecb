// The C text tree-sitter is given: the file as the compiler reads it, with every row and column kept.
// - CRLF line breaks become LF: tree-sitter-c does not take a backslash-CRLF line splice inside a
//   string (the asm template was unreadable). A CR before LF ends its line, so no position moves.
// - tree-sitter-c ends a #define's value at a comment that has more tokens after it on the logical
//   line (`#define A "sti;" /* why */ "hlt"`): the rest of the value is lost and the following code
//   mis-parses. The preprocessor replaces each comment by a space before it reads directives, so
//   blanking the comments of directive lines (same length, line breaks kept) changes nothing it sees.

/** `text` ready for tree-sitter-c (see above); rows and columns are those of `text`. */
export function parserText(text: string): string {
  return blankDirectiveComments(text.includes("\r\n") ? text.replace(/\r\n/g, "\n") : text);
}

const SPACE_RUN = (s: string): string => s.replace(/[^\r\n]/g, " ");

/** `text` with every comment inside a preprocessor directive (continuation lines included) blanked out. */
export function blankDirectiveComments(text: string): string {
  if (!text.includes("#") || (!text.includes("/*") && !text.includes("//"))) return text;
  let out = "";
  let last = 0;
  let i = 0;
  const n = text.length;
  let lineStart = true;
  while (i < n) {
    const c = text[i]!;
    if (lineStart && (c === " " || c === "\t")) {
      i++;
      continue;
    }
    if (!lineStart || c !== "#") {
      // Skip to the next line, stepping over comments and strings so a `#` inside them is not a directive.
      i = skipToLineEnd(text, i);
      lineStart = true;
      continue;
    }
    // A directive: walk its logical line, blanking comments.
    i++;
    while (i < n) {
      const d = text[i]!;
      if (d === "\n") break;
      if (d === "\\" && (text[i + 1] === "\n" || (text[i + 1] === "\r" && text[i + 2] === "\n"))) {
        i += text[i + 1] === "\n" ? 2 : 3;
        continue;
      }
      if (d === '"' || d === "'") {
        i = skipQuoted(text, i);
        continue;
      }
      if (d === "/" && text[i + 1] === "*") {
        const end = text.indexOf("*/", i + 2);
        const stop = end < 0 ? n : end + 2;
        out += text.slice(last, i) + SPACE_RUN(text.slice(i, stop));
        last = i = stop;
        continue;
      }
      if (d === "/" && text[i + 1] === "/") {
        let stop = text.indexOf("\n", i);
        if (stop < 0) stop = n;
        // A line comment ending in a backslash continues onto the next line, as the directive does.
        while (stop < n && text[stop - 1] === "\\") {
          const next = text.indexOf("\n", stop + 1);
          stop = next < 0 ? n : next;
        }
        out += text.slice(last, i) + SPACE_RUN(text.slice(i, stop));
        last = i = stop;
        continue;
      }
      i++;
    }
    lineStart = true;
    if (i < n) i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

function skipQuoted(text: string, i: number): number {
  const q = text[i];
  let j = i + 1;
  while (j < text.length && text[j] !== q && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
  return j + 1;
}

/** Index just past the end of the line at i (past its "\n"), stepping over block comments and strings that span lines. */
function skipToLineEnd(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "\n") return i + 1;
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) return n;
      i = end + 2;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      return end < 0 ? n : end + 1;
    }
    if (c === '"' || c === "'") {
      i = skipQuoted(text, i);
      continue;
    }
    i++;
  }
  return n;
}
