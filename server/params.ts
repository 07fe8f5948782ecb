// Request params as the handlers need them: a text document with a string URI, positions of
// non-negative integers, ranges of two such positions. A client that sends `position:
// {character: -1}` gets an empty answer; the analysis code never sees an undefined line.

function isCount(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function positionProblem(v: unknown, name: string): string | undefined {
  if (typeof v !== "object" || v === null) return `${name} is not a position`;
  const p = v as { line?: unknown; character?: unknown };
  if (!isCount(p.line) || !isCount(p.character)) return `${name} ${JSON.stringify(v)} is not a position of non-negative integers`;
  return undefined;
}

/** What is wrong with a request's params (only the fields present are checked), or undefined. */
export function malformedParams(params: unknown): string | undefined {
  if (typeof params !== "object" || params === null) return "params are not an object";
  const p = params as { textDocument?: unknown; position?: unknown; range?: unknown };
  if ("textDocument" in p) {
    const td = p.textDocument as { uri?: unknown } | null;
    if (typeof td !== "object" || td === null || typeof td.uri !== "string") return "textDocument.uri is not a string";
  }
  if ("position" in p) {
    const problem = positionProblem(p.position, "position");
    if (problem) return problem;
  }
  if ("range" in p && p.range !== undefined && p.range !== null) {
    const r = p.range as { start?: unknown; end?: unknown };
    const problem = positionProblem(r.start, "range.start") ?? positionProblem(r.end, "range.end");
    if (problem) return problem;
  }
  return undefined;
}
