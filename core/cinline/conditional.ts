// Preprocessor branches around inline asm: an asm statement in a branch the preprocessor is sure to
// drop (`#if 0`, the `#ifdef __x86_64__` arm of a 32-bit build, `#ifndef` of a name this file
// defines above it) is not compiled, so it has no sites. Only what the file itself settles is decided, with
// the same condition evaluator as .S files (core/asm/cpp.ts): names from headers or -D flags are
// unknown, and a branch that depends on one stays analysed.

import type { Node, Tree } from "web-tree-sitter";
import { NestedRanges, rangeOf } from "./tree-ranges.js";
import { constantValue, evaluateCondition, OTHER_TARGETS, type Truth } from "../asm/cpp.js";
import type { CodeMode } from "../asm/types.js";

const ARCH_32 = ["__i386__", "__i386", "i386"];
const ARCH_64 = ["__x86_64__", "__x86_64", "__amd64__", "__amd64", "__LP64__", "_LP64"];

export class Conditions {
  /** Names known to be defined (true) or not (false) before the file's first line; a name absent here is unknown. */
  private readonly defined = new Map<string, boolean>();
  /** Constant values of known names (0 for a name surely not defined, as #if reads it). */
  private readonly values = new Map<string, number>();
  /**
   * The file's #defines in file order, by row (rows are the same in every parse of the text). A name is
   * known at a condition only when defined on an earlier row: `#ifndef GUARD` / `#define GUARD` is an
   * include guard, not a branch the file drops.
   */
  private readonly defines: { name: string; row: number; value: string | undefined }[] = [];
  /**
   * Each name's #defines in file order, with the constant value each gives (undefined: not a
   * constant), worked out once in file order: a condition looks up only the names it uses, so the
   * cost per condition does not grow with the #defines above it (copying every name known at each
   * #if was quadratic in a file of include-guard-style blocks, on every edit).
   */
  private readonly definesOf = new Map<string, { row: number; value: number | undefined }[]>();
  /** What each tree read has dropped (the file's tree, and the one re-read with string macros pasted: same rows, other columns). */
  private readonly droppedIn = new WeakMap<Tree, NestedRanges>();

  /** The predefined architecture macros of `mode`, `__AFTERBURN__` (afterburn-cc defines it), and the file's own #defines. */
  constructor(root: Node, mode: CodeMode) {
    for (const n of mode === 64 ? ARCH_64 : ARCH_32) this.know(n, true, 1);
    for (const n of mode === 64 ? ARCH_32 : ARCH_64) this.know(n, false, 0);
    this.know("__AFTERBURN__", true, 1);
    for (const n of OTHER_TARGETS) this.know(n, false, 0);
    const undefinedSomewhere = new Set<string>();
    for (const d of root.descendantsOfType(["preproc_def", "preproc_function_def", "preproc_call"])) {
      if (d === null) continue;
      if (d.type === "preproc_call") {
        // `#undef X` somewhere: whether X is defined depends on where; leave it unknown.
        if (d.childForFieldName("directive")?.text === "#undef") {
          const arg = d.childForFieldName("argument")?.text.trim();
          if (arg) undefinedSomewhere.add(arg);
        }
        continue;
      }
      const name = d.childForFieldName("name")?.text;
      if (!name) continue;
      // A function-like macro: defined, value unknown.
      this.defines.push({ name, row: d.startPosition.row, value: d.type === "preproc_def" ? (d.childForFieldName("value")?.text ?? "") : undefined });
    }
    for (const n of undefinedSomewhere) {
      this.defined.delete(n);
      this.values.delete(n);
    }
    this.defines = this.defines.filter((d) => !undefinedSomewhere.has(d.name)).sort((a, b) => a.row - b.row);
    const running = new Map(this.values);
    for (const d of this.defines) {
      const v = d.value === undefined ? undefined : constantValue(d.value, running);
      if (v === undefined) running.delete(d.name);
      else running.set(d.name, v);
      let list = this.definesOf.get(d.name);
      if (list === undefined) this.definesOf.set(d.name, (list = []));
      list.push({ row: d.row, value: v });
    }
  }

  private know(name: string, defined: boolean, value: number | undefined): void {
    this.defined.set(name, defined);
    if (value === undefined) this.values.delete(name);
    else this.values.set(name, value);
  }

  /** What is known at the start of `row` of the names `text` uses: the names known before the file, and the #defines above it. */
  private knownAt(row: number, text: string): { defined: Map<string, boolean>; values: Map<string, number> } {
    const defined = new Map<string, boolean>();
    const values = new Map<string, number>();
    for (const name of new Set(text.match(/[A-Za-z_]\w*/g) ?? [])) {
      let last: { row: number; value: number | undefined } | undefined;
      for (const d of this.definesOf.get(name) ?? []) {
        if (d.row >= row) break;
        last = d;
      }
      if (last !== undefined) {
        defined.set(name, true);
        // A body that is no constant: defined, value unknown.
        if (last.value !== undefined) values.set(name, last.value);
        continue;
      }
      const d = this.defined.get(name);
      if (d !== undefined) defined.set(name, d);
      const v = this.values.get(name);
      if (v !== undefined) values.set(name, v);
    }
    return { defined, values };
  }

  /** Whether the preprocessor surely drops `node` (it lies in a branch whose condition the file settles against it). */
  dropped(node: Node): boolean {
    return this.rangesOf(node.tree).holds(node.startIndex);
  }

  /** Whether the preprocessor surely drops any part of this tree (when not, no node needs to be asked about). */
  dropsAny(tree: Tree): boolean {
    return this.rangesOf(tree).size > 0;
  }

  private rangesOf(tree: Tree): NestedRanges {
    let ranges = this.droppedIn.get(tree);
    if (ranges === undefined) this.droppedIn.set(tree, (ranges = this.droppedRanges(tree.rootNode)));
    return ranges;
  }

  /**
   * The parts of a tree the preprocessor surely drops: a branch whose condition surely fails (from just
   * after its `#if` to its #elif/#else, which is the `alternative`), and the alternative of one whose
   * condition surely holds. A node is dropped when one of them holds it (its `#if` token aside).
   */
  private droppedRanges(root: Node): NestedRanges {
    const ranges: [number, number][] = [];
    for (const a of root.descendantsOfType(["preproc_if", "preproc_ifdef", "preproc_elif", "preproc_elifdef"])) {
      if (a === null) continue;
      const truth = this.condition(a);
      if (truth === 2) continue;
      const alternative = a.childForFieldName("alternative");
      if (truth === 0) ranges.push([a.startIndex + 1, alternative !== null ? alternative.startIndex : a.endIndex]);
      else if (alternative !== null) ranges.push(rangeOf(alternative));
    }
    return new NestedRanges(ranges);
  }

  private condition(a: Node): Truth {
    if (a.type === "preproc_ifdef" || a.type === "preproc_elifdef") {
      const name = a.childForFieldName("name")?.text ?? "";
      const d = this.knownAt(a.startPosition.row, name).defined.get(name);
      if (d === undefined) return 2;
      const negated = /^#\s*(ifndef|elifndef)/.test(a.text);
      return d !== negated ? 1 : 0;
    }
    const c = a.childForFieldName("condition");
    if (c === null) return 2;
    const { defined, values } = this.knownAt(a.startPosition.row, c.text);
    return evaluateCondition(c.text, defined, values);
  }
}
