// Afterburn File, Afterburn & Run and Compare Backends: the toolchain and `afterburn run --json`
// in child processes, behind cancellable progress notifications. Never in an untrusted workspace.
import * as vscode from "vscode";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import {
  afterburnedName,
  checkToolchain,
  INSTALL_COMMAND,
  missingToolchainMessage,
  planAfterburnFile,
  planGuestBuild,
  runProcess,
  runStep,
  type Bundles,
  type Step,
  toolEnv,
  type ToolchainSettings,
} from "./model/guestBuild";
import { parseRunJson, type RunJson } from "./model/ledger";
import type { TrapLedgerModel } from "./model/trapTree";
import { compareHtml } from "./model/compareHtml";

export class CancelledError extends Error {}

export interface RunnerContext {
  context: vscode.ExtensionContext;
  log: vscode.OutputChannel;
  model: TrapLedgerModel;
  backend(): string;
}

export function toolchainSettings(): ToolchainSettings {
  const c = vscode.workspace.getConfiguration("afterburn.toolchain");
  return { gcc: c.get<string>("gcc") || undefined, as: c.get<string>("as") || undefined, ld: c.get<string>("ld") || undefined };
}

export function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(`Afterburner Studio does not run a toolchain, a build or a guest in Restricted Mode. Trust this workspace to ${what}.`, "Manage Workspace Trust")
    .then((a) => {
      if (a) void vscode.commands.executeCommand("workbench.trust.manage");
    });
  return false;
}

/** The file a command is about: its argument (Uri or string, from menus and code lenses) or the active editor. */
export function targetUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === "string") return arg.includes("://") || arg.startsWith("file:") ? vscode.Uri.parse(arg) : vscode.Uri.file(arg);
  return vscode.window.activeTextEditor?.document.uri;
}

/** A terminal that shows build output and the guest's console (a pseudoterminal: nothing runs in a shell). */
class ConsoleTerminal {
  private readonly writer = new vscode.EventEmitter<string>();
  /**
   * What was written before VS Code opened the pseudoterminal: it drops writes fired before open(),
   * and it opens the terminal only once the panel has drawn it, which can be after a quick build and
   * run have printed everything.
   */
  private pending: string[] | undefined = [];
  readonly terminal: vscode.Terminal;
  constructor(name: string) {
    this.terminal = vscode.window.createTerminal({
      name,
      pty: {
        onDidWrite: this.writer.event,
        open: () => {
          const held = this.pending ?? [];
          this.pending = undefined;
          if (held.length > 0) this.writer.fire(held.join(""));
        },
        close: () => this.writer.dispose(),
      },
      iconPath: new vscode.ThemeIcon("vm"),
    });
  }
  write(text: string): void {
    const crlf = text.replace(/\r?\n/g, "\r\n");
    if (this.pending !== undefined) this.pending.push(crlf);
    else this.writer.fire(crlf);
  }
}

let consoleTerminal: ConsoleTerminal | undefined;

function terminalFor(): ConsoleTerminal {
  if (!consoleTerminal || consoleTerminal.terminal.exitStatus !== undefined || !vscode.window.terminals.includes(consoleTerminal.terminal)) {
    consoleTerminal = new ConsoleTerminal("Afterburn: guest console");
  }
  return consoleTerminal;
}

export class Runner {
  private last: RunJson | undefined;
  private panel: vscode.WebviewPanel | undefined;

  constructor(private readonly rc: RunnerContext) {}

  lastRun(): RunJson | undefined {
    return this.last;
  }

  private bundles(): Bundles {
    return { root: this.rc.context.extensionPath, node: process.execPath };
  }

  private outDir(): string {
    const base = this.rc.context.storageUri?.fsPath ?? this.rc.context.globalStorageUri.fsPath;
    const dir = join(base, "guests");
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private async ensureToolchain(): Promise<boolean> {
    const missing = await checkToolchain(toolchainSettings());
    if (missing.length === 0) return true;
    const msg = missingToolchainMessage(missing);
    this.rc.log.appendLine(msg);
    const choice = await vscode.window.showErrorMessage(msg, "Copy Install Command", "Open Settings");
    if (choice === "Copy Install Command") await vscode.env.clipboard.writeText(INSTALL_COMMAND);
    if (choice === "Open Settings") await vscode.commands.executeCommand("workbench.action.openSettings", "afterburn.toolchain");
    return false;
  }

  private async steps(steps: Step[], progress: vscode.Progress<{ message?: string }>, token: vscode.CancellationToken, out?: ConsoleTerminal): Promise<string> {
    const env = toolEnv(toolchainSettings());
    let stdout = "";
    for (const step of steps) {
      progress.report({ message: step.title });
      this.rc.log.appendLine(`$ ${step.command} ${step.args.join(" ")}`);
      out?.write(`\x1b[2m$ ${step.title}\x1b[0m\n`);
      const r = await runProcess(step, {
        env,
        token,
        onOutput: (text, stream) => {
          this.rc.log.append(text);
          if (stream === "stderr") out?.write(text);
        },
      });
      if (r.cancelled || token.isCancellationRequested) throw new CancelledError(`${step.title}: cancelled`);
      if (r.code !== 0 && !step.title.startsWith("afterburn run")) {
        throw new Error(`${step.title} failed (exit ${r.code ?? "signal"}):\n${(r.stderr || r.stdout).trim().split("\n").slice(-12).join("\n")}`);
      }
      stdout = r.stdout;
      if (step.title.startsWith("afterburn run") && r.stdout.trim() === "") {
        throw new Error(`${step.title} failed (exit ${r.code ?? "signal"}): ${r.stderr.trim() || "no output"}`);
      }
    }
    return stdout;
  }

  /** Builds the guest `uri` belongs to; returns its ELF. */
  async buildGuest(uri: vscode.Uri, progress: vscode.Progress<{ message?: string }>, token: vscode.CancellationToken, out?: ConsoleTerminal): Promise<string> {
    const root = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath;
    const plan = planGuestBuild(uri.fsPath, { bundles: this.bundles(), outDir: this.outDir(), workspaceRoot: root, readFile: (p) => readFileSync(p, "utf8") });
    out?.write(`\x1b[1mBuilding ${plan.guest}\x1b[0m (afterburned)\n`);
    await this.steps(plan.steps, progress, token, out);
    return plan.elf;
  }

  private runOptions(): { maxInstructions?: number; memoryMiB?: number } {
    const c = vscode.workspace.getConfiguration("afterburn.run");
    return { maxInstructions: c.get<number>("maxInstructions") || undefined, memoryMiB: c.get<number>("memory") || undefined };
  }

  /** Builds and runs on `backend` ("all" for every backend); fills the trap view. Undefined when cancelled or refused. */
  async run(arg: unknown, backend: string, title: string): Promise<RunJson | undefined> {
    if (!requireTrust("build and run guests")) return undefined;
    const uri = targetUri(arg);
    if (!uri || uri.scheme !== "file") {
      void vscode.window.showErrorMessage(`${title}: open a guest source file (.S, .s or .c) first.`);
      return undefined;
    }
    await vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())?.save();
    if (!(await this.ensureToolchain())) return undefined;
    const term = terminalFor();
    term.terminal.show(true);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `${title}: ${basename(uri.fsPath)}`, cancellable: true },
        async (progress, token) => {
          const elf = await this.buildGuest(uri, progress, token, term);
          term.write(`\x1b[1mRunning on ${backend}\x1b[0m\n`);
          const stdout = await this.steps([runStep(this.bundles(), elf, backend, this.runOptions())], progress, token, term);
          const run = parseRunJson(stdout);
          for (const r of run.runs) {
            if (run.runs.length > 1) term.write(`\x1b[1m── ${r.backend} ──\x1b[0m\n`);
            term.write(r.console);
            term.write(`\x1b[2m[${r.backend}] ${r.result.message || r.result.reason} · ${r.result.instructions.toLocaleString("en-US")} instructions\x1b[0m\n`);
            if (r.ledger) this.rc.model.setReport(r.ledger, "run");
            else this.rc.model.setReport({ schema: "afterburn-ledger", version: 1, backend: r.backend, instructions: r.result.instructions, cycles: 0, events: {}, sites: [], missedSites: [], holes: [] }, "run");
          }
          this.last = run;
          void vscode.commands.executeCommand("afterburn.traps.focus").then(undefined, () => undefined);
          return run;
        },
      );
    } catch (e) {
      if (e instanceof CancelledError) {
        term.write(`\x1b[33mcancelled\x1b[0m\n`);
        return undefined;
      }
      const msg = (e as Error).message;
      term.write(`\x1b[31m${msg}\x1b[0m\n`);
      this.rc.log.appendLine(msg);
      void vscode.window.showErrorMessage(`${title}: ${msg.split("\n")[0]}`, "Show Log").then((a) => a && this.rc.log.show());
      return undefined;
    }
  }

  async runGuest(arg: unknown): Promise<RunJson | undefined> {
    return this.run(arg, this.rc.backend(), "Afterburn & Run");
  }

  async compareBackends(arg: unknown): Promise<RunJson | undefined> {
    const run = await this.run(arg, "all", "Compare Backends");
    if (run) this.showCompare(run);
    return run;
  }

  showCompare(run: RunJson): vscode.WebviewPanel {
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel("afterburn.compare", "Compare Backends", vscode.ViewColumn.Beside, { enableScripts: false });
      this.panel.onDidDispose(() => (this.panel = undefined));
    }
    this.panel.title = `Compare Backends — ${basename(run.program)}`;
    this.panel.webview.html = compareHtml(run, { cspSource: this.panel.webview.cspSource });
    this.panel.reveal(vscode.ViewColumn.Beside, true);
    return this.panel;
  }

  /** Writes the afterburned .s beside the file or into a chosen folder; opens it. */
  async afterburnFile(arg: unknown, folder?: string): Promise<vscode.Uri | undefined> {
    if (!requireTrust("afterburn files with the toolchain")) return undefined;
    const uri = targetUri(arg);
    if (!uri || uri.scheme !== "file") {
      void vscode.window.showErrorMessage("Afterburn File: open a .s, .S or .c file first.");
      return undefined;
    }
    if (folder === undefined) {
      const where = await vscode.window.showQuickPick(
        [
          { label: "Beside the file", detail: afterburnedName(uri.fsPath) },
          { label: "Choose a folder…", detail: "write <name>.afterburn.s into another folder" },
        ],
        { title: "Afterburn File: where to write the afterburned assembly" },
      );
      if (!where) return undefined;
      if (where.label.startsWith("Choose")) {
        const picked = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: "Write here" });
        if (!picked?.[0]) return undefined;
        folder = picked[0].fsPath;
      }
    }
    await vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())?.save();
    const out = afterburnedName(uri.fsPath, folder || undefined);
    const tmp = mkdtempSync(join(tmpdir(), "afterburn-file-"));
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Afterburn ${basename(uri.fsPath)}`, cancellable: true }, (progress, token) =>
        this.steps(planAfterburnFile(uri.fsPath, out, this.bundles(), tmp, toolchainSettings().gcc || "gcc"), progress, token),
      );
    } catch (e) {
      if (!(e instanceof CancelledError)) void vscode.window.showErrorMessage(`Afterburn File: ${(e as Error).message.split("\n")[0]}`, "Show Log").then((a) => a && this.rc.log.show());
      return undefined;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const result = vscode.Uri.file(out);
    await vscode.window.showTextDocument(result, { preview: false, viewColumn: vscode.ViewColumn.Beside });
    return result;
  }
}
