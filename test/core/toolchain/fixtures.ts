// Builds real objects and executables with the installed GNU tools in a temporary directory, and
// parses what readelf/objdump say about them, so the reader is compared with the reference tools.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runToolChecked, type ToolName } from "../../../core/toolchain/index.js";
export { prng } from "../../prng.js";

export class Workdir {
  readonly dir = mkdtempSync(join(tmpdir(), "afterburn-toolchain-test-"));
  write(name: string, text: string): string {
    writeFileSync(join(this.dir, name), text);
    return join(this.dir, name);
  }
  writeBytes(name: string, bytes: Uint8Array): string {
    writeFileSync(join(this.dir, name), bytes);
    return join(this.dir, name);
  }
  path(name: string): string {
    return join(this.dir, name);
  }
  read(name: string): Uint8Array {
    return new Uint8Array(readFileSync(join(this.dir, name)));
  }
  /** Runs a tool in the work directory (relative file names keep DWARF names short). */
  async run(tool: ToolName, args: string[]): Promise<string> {
    return (await runToolChecked(tool, args, { cwd: this.dir })).stdout;
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ReadelfSection {
  index: number;
  name: string;
  type: string;
  addr: number;
  offset: number;
  size: number;
  entsize: number;
  flags: string;
  link: number;
  info: number;
  align: number;
}

export function parseReadelfSections(text: string): ReadelfSection[] {
  const out: ReadelfSection[] = [];
  const re = /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\S*)\s+(\d+)\s+(\d+)\s+(\d+)$/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m || m[1] === "0") continue;
    out.push({
      index: Number(m[1]),
      name: m[2]!,
      type: m[3]!,
      addr: parseInt(m[4]!, 16),
      offset: parseInt(m[5]!, 16),
      size: parseInt(m[6]!, 16),
      entsize: parseInt(m[7]!, 16),
      flags: m[8]!,
      link: Number(m[9]),
      info: Number(m[10]),
      align: Number(m[11]),
    });
  }
  return out;
}

export interface ReadelfSegment {
  type: string;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: string;
  align: number;
}

export function parseReadelfSegments(text: string): ReadelfSegment[] {
  const re = /^\s+(\w+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+([RWE ]+?)\s+0x([0-9a-f]+)$/;
  const out: ReadelfSegment[] = [];
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    out.push({
      type: m[1]!,
      offset: parseInt(m[2]!, 16),
      vaddr: parseInt(m[3]!, 16),
      paddr: parseInt(m[4]!, 16),
      filesz: parseInt(m[5]!, 16),
      memsz: parseInt(m[6]!, 16),
      flags: m[7]!.replace(/\s/g, ""),
      align: parseInt(m[8]!, 16),
    });
  }
  return out;
}

export interface ReadelfSymbol {
  index: number;
  value: number;
  size: number;
  type: string;
  bind: string;
  ndx: string;
  name: string;
}

export function parseReadelfSymbols(text: string): ReadelfSymbol[] {
  const re = /^\s*(\d+):\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s*(.*)$/;
  const out: ReadelfSymbol[] = [];
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    out.push({
      index: Number(m[1]),
      value: parseInt(m[2]!, 16),
      size: Number(m[3]),
      type: m[4]!,
      bind: m[5]!,
      ndx: m[7]!,
      name: m[8]!,
    });
  }
  return out;
}

export interface ReadelfRelocation {
  section: string;
  offset: number;
  type: string;
  symbol: string;
  addend?: number;
}

export function parseReadelfRelocations(text: string): ReadelfRelocation[] {
  const out: ReadelfRelocation[] = [];
  let section = "";
  for (const line of text.split("\n")) {
    const head = /^Relocation section '([^']+)'/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    const m = /^([0-9a-f]+)\s+([0-9a-f]+)\s+(R_\w+)\s+([0-9a-f]+)?\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const rest = m[5]!;
    const withAddend = /^(.*?)\s*([+-])\s*([0-9a-f]+)$/.exec(rest);
    const rel: ReadelfRelocation = { section, offset: parseInt(m[1]!, 16), type: m[3]!, symbol: withAddend ? withAddend[1]! : rest };
    if (withAddend) rel.addend = (withAddend[2] === "-" ? -1 : 1) * parseInt(withAddend[3]!, 16);
    out.push(rel);
  }
  return out;
}

export interface DecodedLine {
  name: string;
  /** undefined for an end_sequence row ("-"). */
  line: number | undefined;
  address: number;
  isStmt: boolean;
}

/** Parses `objdump --dwarf=decodedline`. */
export function parseDecodedLines(text: string): DecodedLine[] {
  const out: DecodedLine[] = [];
  const re = /^(\S+)\s+(\d+|-)\s+(0x[0-9a-f]+|0)(?:\s+(\d+))?(?:\s+(x))?\s*$/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    out.push({ name: m[1]!, line: m[2] === "-" ? undefined : Number(m[2]), address: parseInt(m[3]!, 16), isStmt: m[5] === "x" });
  }
  return out;
}

