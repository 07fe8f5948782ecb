// core/asm: GNU as (AT&T) parser. See types.ts for the data model.
export type * from "./types.js";
export { parseLine, lexState, LEX_INITIAL, MAX_LINE_LENGTH, splitArguments, labelSource, quotedSymbolName } from "./line.js";
export { parseAsm, analyseLines, lexLines, splitLines, resolveLocalLabel } from "./parse.js";
export { AsmDocument } from "./document.js";
export type { Position, Range } from "./document.js";
export { evaluateExpression, analyseExpression, parseIntegerToken } from "./expression.js";
export type { ExpressionResult, SymbolValues } from "./expression.js";
export { renderInstruction, renderOperand } from "./render.js";
export { isRegister, isSegmentRegister, isPrefixOnly, isPrefixWord, registerNames } from "./registers.js";
export { EXPANSION_STOPPED, expansionStopped, MAX_EXPANSION_DEPTH, MAX_EXPANDED_LINES, parseMacroHeader, splitMacroArguments, substitute, SYMBOL_DIRECTIVES } from "./expand.js";
