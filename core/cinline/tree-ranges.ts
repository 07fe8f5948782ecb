// Questions about a node's ancestors, answered without Node.parent. In web-tree-sitter 0.25 a parent is
// found by descending from the root and scanning each level's children, so walking up from every asm
// statement or macro use cost time in the square of the file's size (a file of a few thousand
// one-line functions: most of a second per analysis, on every edit).

import { Query, type Language, type Node } from "web-tree-sitter";

/**
 * Index ranges [start, end) of one tree that are nested or disjoint, as subtrees are: which of them
 * holds a position, in logarithmic time.
 */
export class NestedRanges {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Index of the innermost range holding each one (-1: none). */
  private readonly outer: number[] = [];

  constructor(ranges: readonly (readonly [number, number])[]) {
    const sorted = ranges.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const open: number[] = [];
    for (const [s, e] of sorted) {
      while (open.length > 0 && this.ends[open[open.length - 1]!]! <= s) open.pop();
      this.outer.push(open.length > 0 ? open[open.length - 1]! : -1);
      open.push(this.starts.length);
      this.starts.push(s);
      this.ends.push(e);
    }
  }

  get size(): number {
    return this.starts.length;
  }

  /** Whether a range holds index `x`. */
  holds(x: number): boolean {
    let lo = 0;
    let hi = this.starts.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= x) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // The last range starting at or before x; if it ends before x, only a range around it can hold x.
    for (; k >= 0; k = this.outer[k]!) if (x < this.ends[k]!) return true;
    return false;
  }
}

/** The index range of a node. */
export function rangeOf(n: Node): [number, number] {
  return [n.startIndex, n.endIndex];
}

/** Queries made once per grammar, by name. */
const queries = new WeakMap<Language, Map<string, Query>>();

/** The query named `name` for this grammar, made from `source()` on first use. */
export function cachedQuery(language: Language, name: string, source: () => string): Query {
  let byName = queries.get(language);
  if (byName === undefined) queries.set(language, (byName = new Map()));
  let q = byName.get(name);
  if (q === undefined) byName.set(name, (q = new Query(language, source())));
  return q;
}

function declarationAsmQuery(language: Language): Query {
  return cachedQuery(language, "declaration asm", () => {
    // Only the node types that can hold one: tree-sitter refuses a pattern its grammar cannot match.
    const holders = [...new Set(language.types)].filter((t) => t !== undefined && /declarator$|^declaration$/.test(t)).filter((t) => {
      try {
        new Query(language, `(${t} (gnu_asm_expression))`).delete();
        return true;
      } catch {
        return false;
      }
    });
    return `[${holders.map((t) => `(${t} (gnu_asm_expression) @asm)`).join(" ")}]`;
  });
}

/**
 * Ids of the asm expressions under `root` that name a declaration's symbol (`int x asm("name");`,
 * `u64 rdtsc(void) __asm__("rdtsc");`) rather than hold instructions: found by a query, which tree-sitter
 * runs natively in one pass.
 */
export function declarationAsms(language: Language, root: Node): Set<number> {
  return new Set(declarationAsmQuery(language).captures(root).map((c) => c.node.id));
}
