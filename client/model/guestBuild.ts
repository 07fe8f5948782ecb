// How the extension builds and runs a guest: plans of argument arrays (never shell strings), the
// toolchain check with an install hint, and a cancellable process runner. Plain module (node only),
// tested under test/client/; client/run.ts adds progress, terminals and views around it.
import { execFile, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, relative, resolve, sep } from "node:path";

export interface ToolchainSettings {
  gcc?: string;
  as?: string;
  ld?: string;
}

/** Where the extension's bundles live (the extension's root folder). */
export interface Bundles {
  root: string;
  /** The node binary that runs the bundles (process.execPath; Electron needs ELECTRON_RUN_AS_NODE). */
  node: string;
}

export function cliPath(b: Bundles): string {
  return join(b.root, "dist", "afterburn.js");
}

export function ccPath(b: Bundles): string {
  return join(b.root, "dist", "afterburn-cc.js");
}

/** Environment for the toolchain and the bundles: tool overrides from the settings. */
export function toolEnv(settings: ToolchainSettings, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ELECTRON_RUN_AS_NODE: "1" };
  if (settings.gcc) env.AFTERBURN_GCC = settings.gcc;
  if (settings.as) env.AFTERBURN_AS = settings.as;
  if (settings.ld) env.AFTERBURN_LD = settings.ld;
  return env;
}

export const INSTALL_COMMAND = "sudo apt-get install -y gcc gcc-multilib binutils make";

export interface MissingTool {
  tool: string;
  command: string;
  error: string;
}

/** Runs `TOOL --version` for gcc, as, ld and make; returns the ones that cannot run. */
export async function checkToolchain(settings: ToolchainSettings, env: NodeJS.ProcessEnv = process.env): Promise<MissingTool[]> {
  const tools: [string, string][] = [
    ["gcc", settings.gcc || "gcc"],
    ["as", settings.as || "as"],
    ["ld", settings.ld || "ld"],
    ["make", "make"],
  ];
  const missing: MissingTool[] = [];
  await Promise.all(
    tools.map(
      ([tool, command]) =>
        new Promise<void>((done) => {
          const words = command.trim().split(/\s+/);
          execFile(words[0]!, [...words.slice(1), "--version"], { env, timeout: 15000 }, (err) => {
            if (err && (err as NodeJS.ErrnoException).code === "ENOENT") missing.push({ tool, command, error: "not found" });
            else if (err && typeof (err as NodeJS.ErrnoException).code !== "number") missing.push({ tool, command, error: err.message });
            done();
          });
        }),
    ),
  );
  return missing.sort((a, b) => a.tool.localeCompare(b.tool));
}

export function missingToolchainMessage(missing: readonly MissingTool[]): string {
  const names = missing.map((m) => (m.command === m.tool ? m.tool : `${m.tool} ('${m.command}')`)).join(", ");
  return (
    `Afterburner Studio needs gcc and GNU binutils to build guests, and cannot run: ${names}. ` +
    `Install them (Debian/Ubuntu: ${INSTALL_COMMAND}) or set afterburn.toolchain.gcc / .as / .ld.`
  );
}

export interface Step {
  title: string;
  command: string;
  args: string[];
  cwd: string;
}

export interface BuildPlan {
  /** What is being built, for messages. */
  guest: string;
  steps: Step[];
  /** The ELF the steps produce. */
  elf: string;
}

/** The nearest folder from `start` up holding `name`, never above `stop` (the workspace: a file there may run builds). */
function findUp(start: string, name: string, stop: string | undefined): string | undefined {
  const top = stop === undefined ? undefined : resolve(stop);
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (top !== undefined && dir !== top && !dir.startsWith(top.endsWith(sep) ? top : top + sep)) return undefined;
    if (existsSync(join(dir, name))) return dir;
    if (dir === top || dirname(dir) === dir) return undefined;
  }
}

/** A word for the shell make hands $(CC) to: quoted unless it is plainly safe. */
function shellWord(w: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;
}

/**
 * A folder make can name in targets and variables: make splits words at blanks and gives `:`, `#`,
 * `$`, `%` and parentheses meanings of their own (VS Code's storage is under "Application Support"
 * on macOS). A folder with such characters is replaced by one under the system's temporary folder.
 */
function makeSafeFolder(dir: string, tmp: string): string {
  if (/^[A-Za-z0-9_./+,@=-]+$/.test(dir)) return dir;
  return join(tmp, `afterburn-guests-${createHash("sha256").update(dir).digest("hex").slice(0, 16)}`);
}

/**
 * The guest names a Makefile lists in GUESTS (`GUESTS := a b \` continued, `GUESTS += c`), without
 * `#` comments.
 */
function makefileGuests(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, " ");
  const out: string[] = [];
  for (const m of joined.matchAll(/^GUESTS\s*(:?=|\+=|=)(.*)$/gm)) {
    const words = m[2]!.replace(/#.*/, "").trim().split(/\s+/).filter((w) => w.length > 0);
    if (m[1] !== "+=") out.length = 0;
    out.push(...words);
  }
  return out;
}

/**
 * The plan for building the guest a source file belongs to:
 *  - a folder with a Makefile that lists GUESTS (like examples/): `make -C DIR O=OUT CC=afterburn-cc OUT/<guest>.elf`,
 *    where <guest> is the sub-folder the file is in;
 *  - otherwise a self-contained guest: afterburn-cc compiles and links the file alone (a guest.ld found
 *    above it is the linker script; else the kernel is linked at 1 MiB).
 */
export function planGuestBuild(
  file: string,
  options: { bundles: Bundles; outDir: string; workspaceRoot?: string; readFile: (p: string) => string; tmpDir?: string },
): BuildPlan {
  const src = resolve(file);
  const ext = extname(src).toLowerCase();
  if (![".c", ".s", ".asm"].includes(ext)) {
    throw new Error(`${src}: not a guest source (.c, .s, .S)`);
  }
  // make hands $(CC) to the shell: each word quoted (VS Code's node is "Code Helper (Plugin)" on macOS).
  const cc = `${shellWord(options.bundles.node)} ${shellWord(ccPath(options.bundles))}`;
  const makeDir = findUp(dirname(dirname(src)), "Makefile", options.workspaceRoot);
  if (makeDir) {
    const guests = makefileGuests(options.readFile(join(makeDir, "Makefile")));
    const rel = relative(makeDir, src).split(sep);
    const guest = rel.length > 1 ? rel[0]! : "";
    if (guests.includes(guest)) {
      const out = join(makeSafeFolder(options.outDir, options.tmpDir ?? tmpdir()), basename(makeDir));
      const elf = join(out, `${guest}.elf`);
      return {
        guest,
        elf,
        steps: [
          {
            title: `make ${guest}`,
            command: "make",
            // LD from the settings goes through the environment (AFTERBURN_LD); make's own default stays otherwise.
            args: ["-C", makeDir, `O=${out}`, `CC=${cc}`, elf],
            cwd: makeDir,
          },
        ],
      };
    }
  }
  const guest = basename(src, extname(src));
  const elf = join(options.outDir, `${guest}.elf`);
  const ldScriptDir = findUp(dirname(src), "guest.ld", options.workspaceRoot);
  // -T as gcc's own option: -Wl,-T,PATH splits PATH at its commas.
  const link = ldScriptDir ? ["-T", join(ldScriptDir, "guest.ld")] : ["-Wl,-Ttext=0x100000"];
  return {
    guest,
    elf,
    steps: [
      {
        title: `afterburn-cc ${basename(src)}`,
        command: options.bundles.node,
        args: [
          ccPath(options.bundles),
          "-m32", "-g", "-O2", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector", "-nostdlib", "-static",
          "-fno-asynchronous-unwind-tables", "-fcf-protection=none",
          "-Wl,-m,elf_i386", "-Wl,--build-id=none", "-Wl,-z,max-page-size=0x1000", "-Wl,--no-warn-rwx-segments",
          ...link,
          // .asm is this extension's name for GNU as source; gcc knows the language only by .s/.S.
          "-o", elf, ...(ext === ".asm" ? ["-x", "assembler-with-cpp"] : []), src,
        ],
        cwd: dirname(src),
      },
    ],
  };
}

/** `afterburn run ELF --json --backend B` (B may be "all"). */
export function runStep(bundles: Bundles, elf: string, backend: string, extra: { maxInstructions?: number; memoryMiB?: number } = {}): Step {
  const args = [cliPath(bundles), "run", elf, "--json", "--backend", backend];
  if (extra.maxInstructions) args.push("--max-instructions", String(extra.maxInstructions));
  if (extra.memoryMiB) args.push("--memory", String(extra.memoryMiB));
  return { title: `afterburn run --backend ${backend}`, command: bundles.node, args, cwd: dirname(elf) };
}

/** The output of `afterburn burn` for a source: beside it, or in a chosen folder. */
export function afterburnedName(file: string, folder?: string): string {
  const stem = basename(file, extname(file));
  return join(folder ?? dirname(file), `${stem}.afterburn.s`);
}

/** Steps that afterburn one file into `out`: .s directly; .S through cpp; .c through gcc -S. */
export function planAfterburnFile(file: string, out: string, bundles: Bundles, tmp: string, gcc = "gcc"): Step[] {
  const ext = extname(file);
  const cwd = dirname(file);
  const burn = (input: string): Step => ({
    title: `afterburn burn ${basename(file)}`,
    command: bundles.node,
    args: [cliPath(bundles), "burn", input, "-o", out, "-m32"],
    cwd,
  });
  const g = gcc.trim().split(/\s+/);
  if (ext === ".s" || ext === ".asm") return [burn(file)];
  const pre = join(tmp, `${basename(file, ext)}.preburn.s`);
  if (ext === ".S") {
    return [{ title: `cpp ${basename(file)}`, command: g[0]!, args: [...g.slice(1), "-E", "-m32", "-D__ASSEMBLY__", "-o", pre, file], cwd }, burn(pre)];
  }
  return [
    { title: `gcc -S ${basename(file)}`, command: g[0]!, args: [...g.slice(1), "-S", "-m32", "-O2", "-g", "-ffreestanding", "-fno-pic", "-o", pre, file], cwd },
    burn(pre),
  ];
}

export interface StepResult {
  code: number | null;
  stdout: string;
  stderr: string;
  cancelled: boolean;
}

export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/** Runs one step; `onOutput` sees stdout and stderr as they come. Cancellation kills the process. */
export function runProcess(
  step: Step,
  options: { env?: NodeJS.ProcessEnv; token?: Cancellation; onOutput?: (text: string, stream: "stdout" | "stderr") => void; maxBuffer?: number } = {},
): Promise<StepResult> {
  return new Promise((done) => {
    let child: ChildProcess;
    let stdout = "";
    let stderr = "";
    let cancelled = false;
    try {
      child = execFile(step.command, step.args, { cwd: existsDir(step.cwd), env: options.env, maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024 });
    } catch (e) {
      done({ code: null, stdout, stderr: `${step.command}: ${(e as Error).message}`, cancelled });
      return;
    }
    const sub = options.token?.onCancellationRequested(() => {
      cancelled = true;
      child.kill("SIGTERM");
    });
    child.stdout?.on("data", (d: Buffer) => {
      const s = d.toString();
      stdout += s;
      options.onOutput?.(s, "stdout");
    });
    child.stderr?.on("data", (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      options.onOutput?.(s, "stderr");
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      stderr += e.code === "ENOENT" ? `${step.command}: not found\n` : `${step.command}: ${e.message}\n`;
    });
    child.on("close", (code) => {
      sub?.dispose();
      done({ code, stdout, stderr, cancelled });
    });
  });
}

function existsDir(d: string): string | undefined {
  try {
    return statSync(d).isDirectory() ? d : undefined;
  } catch {
    return undefined;
  }
}
