// tree-sitter-c loaded once per process. The grammar's .wasm is found with require.resolve at run time,
// so it works from the sources, from dist/ and from a packaged extension (web-tree-sitter and tree-sitter-c
// stay external to the bundles and load their own .wasm files from their install folders).

import { Language, Parser } from "web-tree-sitter";

export interface CParser {
  parser: Parser;
  language: Language;
}

let loading: Promise<CParser> | undefined;
let loaded: CParser | undefined;

/** The C parser (initialises web-tree-sitter and tree-sitter-c on first use). */
export function loadCParser(): Promise<CParser> {
  loading ??= (async () => {
    await Parser.init();
    const language = await Language.load(require.resolve("tree-sitter-c/tree-sitter-c.wasm"));
    const parser = new Parser();
    parser.setLanguage(language);
    loaded = { parser, language };
    return loaded;
  })();
  return loading;
}

/** The parser when already loaded (lets callers stay synchronous after the first document). */
export function cParserIfLoaded(): CParser | undefined {
  return loaded;
}
