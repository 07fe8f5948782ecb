// ExpandedStatement objects, made in one place with every field present in one order. Objects of one
// shape keep the loops over a document's statements (renumbering after a line edit walks every one
// after it) monomorphic; with fields added only when set, a document with macro expansions next to
// compiler output gave those loops a handful of shapes and made them several times slower.
import type { CodeMode, ExpandedStatement, SourceOrigin, Statement } from "./types.js";

export function expandedStatement(statement: Statement, line: number, mode: CodeMode, section: string, origin: SourceOrigin | undefined, inApp: boolean): ExpandedStatement {
  return { statement, line, expansion: undefined, origin, inApp: inApp || undefined, mode, section, text: undefined };
}
