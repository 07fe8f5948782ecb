// Preprocessor branches around inline asm: an asm statement in a branch the preprocessor is sure to
// drop (`#if 0`, the `#ifdef __x86_64__` arm of a 32-bit build, `#ifndef` of a name this file
// defines) is not compiled, so it has no sites. Only what the file itself settles is decided:
// names from headers or -D flags are unknown, and a branch that depends on one stays analysed.

import type { Node } from "web-tree-sitter";
import type { CodeMode } from "../asm/types.js";

/** What a name is known to be: its numeric value when defined (NaN: defined, value unknown), or undefined-for-sure. */
type Known = { defined: true; value: number } | { defined: false };

/** Three-valued: true, false, or undefined when the file alone cannot tell. */
type Truth = boolean | undefined;

const ARCH_32 = ["__i386__", "__i386", "i386"];
const ARCH_64 = ["__x86_64__", "__x86_64", "__amd64__", "__amd64", "__LP64__", "_LP64"];

export class Conditions {
  private readonly names = new Map<string, Known>();

  /** The predefined architecture macros of `mode`, `__AFTERBURN__` (afterburn-cc defines it), and the file's own #defines. */
  constructor(root: Node, mode: CodeMode) {
    for (const n of mode === 64 ? ARCH_64 : ARCH_32) this.names.set(n, { defined: true, value: 1 });
    for (const n of mode === 64 ? ARCH_32 : ARCH_64) this.names.set(n, { defined: false });
    this.names.set("__AFTERBURN__", { defined: true, value: 1 });
    const undefined_ = new Set<string>();
    for (const d of root.descendantsOfType(["preproc_def", "preproc_function_def", "preproc_call"])) {
      if (d === null) continue;
      if (d.type === "preproc_call") {
        // `#undef X` somewhere: whether X is defined depends on where; leave it unknown.
        if (d.childForFieldName("directive")?.text === "#undef") {
          const arg = d.childForFieldName("argument")?.text.trim();
          if (arg) undefined_.add(arg);
        }
        continue;
      }
      const name = d.childForFieldName("name")?.text;
      if (!name) continue;
      // A function-like macro or a value that is not a plain number: defined, value unknown (NaN).
      const value = d.type === "preproc_def" ? numberOf(d.childForFieldName("value")?.text ?? "") : Number.NaN;
      this.names.set(name, { defined: true, value });
    }
    for (const n of undefined_) this.names.delete(n);
  }

  /** Whether the preprocessor surely drops `node` (it lies in a branch whose condition the file settles against it). */
  dropped(node: Node): boolean {
    let child = node;
    for (let a = node.parent; a !== null; child = a, a = a.parent) {
      if (a.type !== "preproc_if" && a.type !== "preproc_ifdef" && a.type !== "preproc_elif" && a.type !== "preproc_elifdef") continue;
      const alternative = a.childForFieldName("alternative");
      const inAlternative = alternative !== null && alternative.id === child.id;
      const holds = this.condition(a);
      // In the alternative (#elif/#else): dropped when the condition surely holds; in the branch itself, when it surely fails.
      if (holds === (inAlternative ? true : false)) return true;
    }
    return false;
  }

  private condition(a: Node): Truth {
    if (a.type === "preproc_ifdef" || a.type === "preproc_elifdef") {
      const name = a.childForFieldName("name")?.text ?? "";
      const k = this.names.get(name);
      if (k === undefined) return undefined;
      const negated = /^#\s*(ifndef|elifndef)/.test(a.text);
      return negated ? !k.defined : k.defined;
    }
    const c = a.childForFieldName("condition");
    if (c === null) return undefined;
    const v = this.value(c);
    return v === undefined || Number.isNaN(v) ? undefined : v !== 0;
  }

  /** The value of a #if expression, or undefined when a name in it is unknown. */
  private value(e: Node): number | undefined {
    switch (e.type) {
      case "number_literal":
        return numberOf(e.text);
      case "char_literal":
        return undefined;
      case "identifier": {
        const k = this.names.get(e.text);
        if (k === undefined) return undefined;
        // #if on a name: its value; a name surely not defined is 0, as the preprocessor reads it.
        return k.defined ? (Number.isNaN(k.value) ? undefined : k.value) : 0;
      }
      case "preproc_defined": {
        const name = e.namedChildren.find((c) => c?.type === "identifier")?.text ?? "";
        const k = this.names.get(name);
        return k === undefined ? undefined : k.defined ? 1 : 0;
      }
      case "parenthesized_expression": {
        const inner = e.namedChildren[0];
        return inner ? this.value(inner) : undefined;
      }
      case "unary_expression": {
        const op = e.childForFieldName("operator")?.text;
        const arg = e.childForFieldName("argument");
        const v = arg ? this.value(arg) : undefined;
        if (v === undefined) return undefined;
        return op === "!" ? (v === 0 ? 1 : 0) : op === "-" ? -v : op === "+" ? v : op === "~" ? ~v : undefined;
      }
      case "binary_expression": {
        const op = e.childForFieldName("operator")?.text;
        const l = e.childForFieldName("left");
        const r = e.childForFieldName("right");
        if (!l || !r) return undefined;
        const a = this.value(l);
        const b = this.value(r);
        // && and || decide on one side alone when it settles them.
        if (op === "&&") return a === 0 || b === 0 ? 0 : a === undefined || b === undefined ? undefined : 1;
        if (op === "||") return (a !== undefined && a !== 0) || (b !== undefined && b !== 0) ? 1 : a === undefined || b === undefined ? undefined : 0;
        if (a === undefined || b === undefined) return undefined;
        switch (op) {
          case "==": return a === b ? 1 : 0;
          case "!=": return a !== b ? 1 : 0;
          case "<": return a < b ? 1 : 0;
          case "<=": return a <= b ? 1 : 0;
          case ">": return a > b ? 1 : 0;
          case ">=": return a >= b ? 1 : 0;
          case "+": return a + b;
          case "-": return a - b;
          case "*": return a * b;
          default: return undefined;
        }
      }
      default:
        return undefined;
    }
  }
}

/** A C integer literal's value (suffixes u/l ignored); NaN when the text is not one. */
function numberOf(text: string): number {
  const t = text.trim().replace(/[uUlL]+$/, "");
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return parseInt(t, 16);
  if (/^0[0-7]*$/.test(t)) return parseInt(t, 8);
  if (/^[1-9][0-9]*$/.test(t)) return parseInt(t, 10);
  return Number.NaN;
}
