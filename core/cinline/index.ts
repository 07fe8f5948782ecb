// core/cinline: sensitive instructions in C/C++ inline asm.
export { analyseC, analyseCWith, mayContainAsm } from "./analysis.js";
export type { CAnalysisOptions, CAnalysisResult, CAsmStatement, CDiagnostic, CFunction, CSite } from "./analysis.js";
export { cParserIfLoaded, loadCParser } from "./parser.js";
export { decodeEscape, substituteTemplate } from "./template.js";
export type { AsmOperand, FilePoint, SubstitutedTemplate } from "./template.js";
