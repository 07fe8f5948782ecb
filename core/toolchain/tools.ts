// Finding and running the GNU tools (gcc, cpp, as, ld, objdump, objcopy, readelf) with argument
// arrays. Each tool can be replaced through an AFTERBURN_* environment variable that may carry
// arguments ("ccache gcc"); it is split into words, never handed to a shell.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { splitCommandLine } from "./commandLine.js";

export type ToolName = "gcc" | "cpp" | "as" | "ld" | "objdump" | "objcopy" | "readelf";

/** The environment variable that overrides each tool. */
export const TOOL_ENV: Record<ToolName, string> = {
  gcc: "AFTERBURN_GCC",
  cpp: "AFTERBURN_CPP",
  as: "AFTERBURN_AS",
  ld: "AFTERBURN_LD",
  objdump: "AFTERBURN_OBJDUMP",
  objcopy: "AFTERBURN_OBJCOPY",
  readelf: "AFTERBURN_READELF",
};

/** The Debian/Ubuntu package that provides each tool. */
const DEBIAN_PACKAGE: Record<ToolName, string> = {
  gcc: "gcc",
  cpp: "cpp",
  as: "binutils",
  ld: "binutils",
  objdump: "binutils",
  objcopy: "binutils",
  readelf: "binutils",
};

export interface ToolOptions {
  /** Environment for both the override lookup and the child process (default process.env). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the tool's standard input. */
  input?: string | Uint8Array;
  /** Kill the tool after this long (the result then has a signal and no exit code). */
  timeoutMs?: number;
}

export interface ToolResult {
  command: string[];
  /** Exit status, or null when the tool was killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A tool that could not be started; the message says how to install it. */
export class ToolMissingError extends Error {
  override readonly name = "ToolMissingError";
  constructor(
    readonly tool: string,
    readonly command: string[],
    message: string,
  ) {
    super(message);
  }
}

/** A tool that ran and failed; exit code, stdout and stderr are kept verbatim. */
export class ToolFailedError extends Error {
  override readonly name = "ToolFailedError";
  constructor(
    readonly tool: string,
    readonly result: ToolResult,
  ) {
    const how = result.exitCode !== null ? `exit code ${result.exitCode}` : `signal ${result.signal}`;
    super(`${tool} failed (${how}): ${result.command.join(" ")}\n${result.stderr}${result.stdout && !result.stderr ? result.stdout : ""}`.trimEnd());
  }
}

/** The command (program and leading arguments) used for a tool. */
export function toolCommand(tool: ToolName, env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env[TOOL_ENV[tool]];
  if (override !== undefined && override.trim() !== "") {
    const words = splitCommandLine(override);
    if (words.length > 0) return words;
  }
  return [tool];
}

/** The compiler afterburn-cc wraps: AFTERBURN_REAL_CC (may be "ccache gcc"), else the gcc command. */
export function realCompilerCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const real = env.AFTERBURN_REAL_CC;
  if (real !== undefined && real.trim() !== "") {
    const words = splitCommandLine(real);
    if (words.length > 0) return words;
  }
  return toolCommand("gcc", env);
}

function installHint(tool: string): string {
  const pkg = (DEBIAN_PACKAGE as Record<string, string | undefined>)[tool];
  if (!pkg) return "";
  const envVar = (TOOL_ENV as Record<string, string | undefined>)[tool];
  const extra = tool === "gcc" ? " (and gcc-multilib for -m32)" : "";
  return ` Install it on Debian/Ubuntu with: sudo apt-get install ${pkg}${extra}${envVar ? `, or point ${envVar} at it` : ""}.`;
}

/** Runs a command (argument array, no shell). Resolves with the result whatever the exit code. */
export function runCommand(tool: string, command: string[], args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  const [program, ...leading] = command;
  if (!program) return Promise.reject(new ToolMissingError(tool, command, `no command given for ${tool}.${installHint(tool)}`));
  const full = [program, ...leading, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...leading, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: options.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT" || e.code === "EACCES") {
        reject(new ToolMissingError(tool, full, `${tool} not found: could not run "${program}" (${e.code}).${installHint(tool)}`));
      } else reject(e);
    });
    child.on("close", (code, signal) => {
      resolve({ command: full, exitCode: code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    // A tool that exits without reading its input closes the pipe; that is not our error.
    child.stdin.on("error", () => {});
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Runs one of the GNU tools; resolves whatever the exit code. */
export function runTool(tool: ToolName, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  return runCommand(tool, toolCommand(tool, options.env), args, options);
}

/** Runs a tool and throws ToolFailedError unless it exits with 0. */
export async function runToolChecked(tool: ToolName, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  const result = await runTool(tool, args, options);
  if (result.exitCode !== 0) throw new ToolFailedError(tool, result);
  return result;
}

export interface AssembleOptions {
  mode: 32 | 64;
  /** Name of the source file (its base name is used, so messages and DWARF name it). */
  fileName: string;
  /** Emit DWARF line info (as -g). */
  debug?: boolean;
  /** Further arguments for as. */
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** Runs `fn` with a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "afterburn-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Assembles GNU as source into relocatable object bytes. Throws ToolFailedError with as's messages. */
export function assemble(source: string, options: AssembleOptions): Promise<Uint8Array> {
  return withTempDir(async (dir) => {
    const name = basename(options.fileName) || "input.s";
    await writeFile(join(dir, name), source);
    const args = [options.mode === 32 ? "--32" : "--64", ...(options.debug ? ["-g"] : []), ...(options.args ?? []), "-o", "out.o", name];
    await runToolChecked("as", args, { cwd: dir, env: options.env });
    return new Uint8Array(await readFile(join(dir, "out.o")));
  });
}

export interface DisassemblyRow {
  section: string;
  /** Offset (relocatable object) or address (linked file), as objdump prints it. */
  offset: number;
  bytes: number[];
  /** The instruction text, whitespace collapsed ("mov    %eax,%cr3" becomes "mov %eax,%cr3"). */
  text: string;
  /** The nearest preceding symbol label objdump printed ("<_start>"), without the brackets. */
  symbol?: string;
}

/** Parses `objdump -d -w` output. */
export function parseObjdumpDisassembly(output: string): DisassemblyRow[] {
  const rows: DisassemblyRow[] = [];
  let section = "";
  let symbol: string | undefined;
  for (const line of output.split("\n")) {
    const sec = /^Disassembly of section (.+):$/.exec(line);
    if (sec) {
      section = sec[1]!;
      symbol = undefined;
      continue;
    }
    const label = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (label) {
      symbol = label[1];
      continue;
    }
    const insn = /^\s*([0-9a-f]+):\t([0-9a-f]{2}(?: [0-9a-f]{2})*)\s*(?:\t(.*))?$/.exec(line);
    if (!insn) continue;
    const row: DisassemblyRow = {
      section,
      offset: parseInt(insn[1]!, 16),
      bytes: insn[2]!.split(" ").map((b) => parseInt(b, 16)),
      text: (insn[3] ?? "").trim().replace(/\s+/g, " "),
    };
    if (symbol !== undefined) row.symbol = symbol;
    rows.push(row);
  }
  return rows;
}

export interface DisassembleOptions {
  /** objdump -M options, e.g. ["i386"] or ["suffix"]. */
  disassemblerOptions?: readonly string[];
  /** Only these sections (-j). */
  sections?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** `objdump -d -w` of a file, parsed into rows. */
export async function objdumpDisassemble(objectPath: string, options: DisassembleOptions = {}): Promise<DisassemblyRow[]> {
  const args = ["-d", "-w"];
  for (const m of options.disassemblerOptions ?? []) args.push("-M", m);
  for (const s of options.sections ?? []) args.push("-j", s);
  args.push(objectPath);
  const result = await runToolChecked("objdump", args, { env: options.env });
  return parseObjdumpDisassembly(result.stdout);
}
