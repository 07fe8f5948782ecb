// Splitting a command held in an environment variable (AFTERBURN_REAL_CC="ccache gcc") into an
// argument array the way a POSIX shell would split words, without ever running a shell.

/** Splits on unquoted whitespace; honours '...', "..." (with \" \\ \$ \` escapes) and backslash escapes. */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated single quote in command: ${text}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated double quote in command: ${text}`);
        const d = text[i]!;
        if (d === '"') break;
        if (d === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
      inWord = true;
    } else if (c === "\\") {
      if (i + 1 >= text.length) throw new Error(`trailing backslash in command: ${text}`);
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
