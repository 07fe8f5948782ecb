// A symbol index of the assembly files of a workspace (.s, .S, .asm, .inc and local .h headers): label,
// .macro and #define definitions by a fast line scan, for workspace symbols and for definitions and
// references across files. Bounded: at most maxFiles files, each at most maxBytes.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { splitLines } from "./parse.js";

export interface IndexedSymbol {
  name: string;
  kind: "label" | "macro" | "define";
  file: string;
  line: number;
  start: number;
  end: number;
}

const ASM_EXTENSIONS: ReadonlySet<string> = new Set([".s", ".S", ".asm", ".inc", ".h"]);
const SKIP_DIRS: ReadonlySet<string> = new Set(["node_modules", ".git", "dist", "build", "out", ".vscode-test"]);

const LABEL = /^\s*([A-Za-z_.$][\w.$]*):/;
const MACRO = /^\s*\.macro\s+([A-Za-z_.$][\w.$]*)/i;
const DEFINE = /^\s*#\s*define\s+([A-Za-z_]\w*)/;

/** The definitions in one file's text. */
export function scanSymbols(file: string, text: string): IndexedSymbol[] {
  const out: IndexedSymbol[] = [];
  const lines = splitLines(text);
  const header = file.endsWith(".h");
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i];
    let m = DEFINE.exec(t);
    let kind: IndexedSymbol["kind"] = "define";
    if (m === null && !header) {
      m = MACRO.exec(t);
      kind = "macro";
      if (m === null) {
        m = LABEL.exec(t);
        kind = "label";
        if (m !== null && (/^[0-9]+$/.test(m[1]) || m[1].startsWith(".L"))) m = null;
      }
    }
    if (m === null) continue;
    const start = t.indexOf(m[1], m[0].length - m[1].length - (kind === "label" ? 1 : 0));
    out.push({ name: m[1], kind, file, line: i, start, end: start + m[1].length });
  }
  return out;
}

export class WorkspaceIndex {
  private files = new Map<string, IndexedSymbol[]>();
  readonly maxFiles: number;
  readonly maxBytes: number;
  /** Files skipped because a limit was reached. */
  skipped = 0;

  constructor(options: { maxFiles?: number; maxBytes?: number } = {}) {
    this.maxFiles = options.maxFiles ?? 5000;
    this.maxBytes = options.maxBytes ?? 2 << 20;
  }

  get fileCount(): number {
    return this.files.size;
  }

  /** Scans a folder tree for assembly files. Errors (permissions, races) skip the entry. */
  scanFolder(root: string): void {
    for (const _ of this.walk(root)) {
      // each step is one file read
    }
  }

  /**
   * scanFolder in slices of about `sliceMs`, yielding to the event loop between them: a real tree
   * (a thousand headers) takes over a second, which requests arriving meanwhile would wait out.
   */
  async scanFolderInSlices(root: string, sliceMs = 20): Promise<void> {
    let start = performance.now();
    for (const _ of this.walk(root)) {
      if (performance.now() - start < sliceMs) continue;
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = performance.now();
    }
  }

  /** The scan, one step per file indexed (or skipped for the limits). */
  private *walk(root: string): Generator<void> {
    const stack = [root];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      let entries: import("node:fs").Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (!SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) stack.push(p);
        } else if (e.isFile() && ASM_EXTENSIONS.has(extname(e.name))) {
          if (this.files.size >= this.maxFiles) {
            this.skipped++;
            continue;
          }
          this.updateFromDisk(p);
          yield;
        }
      }
    }
  }

  updateFromDisk(path: string): void {
    try {
      if (statSync(path).size > this.maxBytes) {
        this.skipped++;
        return;
      }
      this.update(path, readFileSync(path, "utf8"));
    } catch {
      this.files.delete(path);
    }
  }

  /** Replaces a file's symbols (open documents are indexed from their current text). */
  update(path: string, text: string): void {
    this.files.set(path, scanSymbols(path, text));
  }

  remove(path: string): void {
    this.files.delete(path);
  }

  /** Definitions of a name, optionally only in the given files first. */
  lookup(name: string): IndexedSymbol[] {
    const out: IndexedSymbol[] = [];
    for (const list of this.files.values()) for (const s of list) if (s.name === name) out.push(s);
    return out;
  }

  /** Symbols whose name contains the query (case-insensitive), at most `limit`. */
  search(query: string, limit = 500): IndexedSymbol[] {
    const q = query.toLowerCase();
    const out: IndexedSymbol[] = [];
    for (const list of this.files.values()) {
      for (const s of list) {
        if (q === "" || s.name.toLowerCase().includes(q)) {
          out.push(s);
          if (out.length >= limit) return out;
        }
      }
    }
    return out;
  }

  /** Indexed files (for references across the workspace). */
  paths(): string[] {
    return [...this.files.keys()];
  }
}
