// Afterburner Studio's VS Code extension: wires the language server and the debug adapter into
// the editor and adds what only an editor can show (status bar backend, trap view, Compare
// Backends report, preview diff). Only client/ imports vscode; the logic it shows lives in client/model.
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";
import { registerDebugger } from "./debug";
import { startLanguageClient, type PreviewResult } from "./lsp";
import { PREVIEW_SCHEME, Previews } from "./preview";
import { BACKEND_NAMES, type RunJson } from "./model/ledger";
import { TrapLedgerModel, type SiteNode } from "./model/trapTree";
import { requireTrust, Runner, targetUri } from "./run";
import { TrapTreeProvider } from "./trapView";

const BACKEND_KEY = "afterburn.selectedBackend";

const BACKEND_NOTES: Record<string, string> = {
  raw: "bare metal: sensitive instructions run as themselves",
  trap: "trap-and-emulate: privileged instructions trap; sensitive ones are holes",
  vtx: "hardware-assisted (VT-x): VM exits where VT-x exits",
  xen: "pre-virtualized on Xen: inline rewrites, wedge calls and hypercalls",
  l4: "pre-virtualized on L4Ka::Pistachio: inline rewrites, wedge calls and IPC",
};

/** What activate() returns: used by the end-to-end suite and by other extensions. */
export interface AfterburnerApi {
  model: TrapLedgerModel;
  backend(): string;
  setBackend(b: string): Promise<void>;
  lastRun(): RunJson | undefined;
  languageClient(): LanguageClient | undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<AfterburnerApi> {
  const log = vscode.window.createOutputChannel("Afterburner Studio", { log: true });
  context.subscriptions.push(log);

  // Backend: the status bar picker's choice, else the setting.
  const backend = (): string => context.workspaceState.get<string>(BACKEND_KEY) ?? vscode.workspace.getConfiguration("afterburn").get<string>("backend", "raw");
  const status = vscode.window.createStatusBarItem("afterburn.backend", vscode.StatusBarAlignment.Left, 50);
  status.name = "Afterburner backend";
  status.command = "afterburn.selectBackend";
  const showStatus = () => {
    status.text = `$(vm) Afterburn: ${backend()}`;
    status.tooltip = `Backend for Afterburn & Run and debugging: ${backend()} — ${BACKEND_NOTES[backend()] ?? ""}\nClick to change.`;
  };
  showStatus();
  status.show();
  context.subscriptions.push(status);
  const setBackend = async (b: string) => {
    await context.workspaceState.update(BACKEND_KEY, b);
    showStatus();
  };

  const model = new TrapLedgerModel();
  const tree = new TrapTreeProvider(model);
  context.subscriptions.push(tree, vscode.window.createTreeView("afterburn.traps", { treeDataProvider: tree, showCollapseAll: true }));
  const updateContext = () => void vscode.commands.executeCommand("setContext", "afterburn.hasLedger", model.backendNames().length > 0);
  context.subscriptions.push({ dispose: model.onChange(updateContext) });

  const runner = new Runner({ context, log, model, backend });
  registerDebugger(context, model, backend, log);

  let client: LanguageClient | undefined;
  const clientReady = startLanguageClient(context, log).then((c) => {
    client = c;
    if (c) context.subscriptions.push({ dispose: () => void c.stop() });
    return c;
  });

  const previews = new Previews(() => client, log);
  context.subscriptions.push(previews, vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, previews));

  const command = (id: string, fn: (...args: any[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  command("afterburn.selectBackend", async () => {
    const picked = await vscode.window.showQuickPick(
      BACKEND_NAMES.map((b) => ({ label: b, description: b === backend() ? "current" : "", detail: BACKEND_NOTES[b] })),
      { title: "Afterburner Studio: backend for runs and debugging" },
    );
    if (picked) await setBackend(picked.label);
    return picked?.label;
  });

  command("afterburn.runGuest", (arg?: unknown) => runner.runGuest(arg));
  command("afterburn.compareBackends", (arg?: unknown) => runner.compareBackends(arg));
  command("afterburn.afterburnFile", (arg?: unknown, folder?: string) => runner.afterburnFile(arg, folder));
  command("afterburn.clearTraps", () => model.clear());

  command("afterburn.previewAfterburned", async (arg?: unknown, range?: unknown) => {
    const uri = targetUri(arg);
    if (!uri) {
      void vscode.window.showErrorMessage("Preview Afterburned Form: open an assembly or C file first.");
      return undefined;
    }
    const c = await clientReady;
    if (!c) {
      void vscode.window.showErrorMessage("Preview Afterburned Form needs the language server, which is not running (see the Afterburner Studio output).");
      return undefined;
    }
    let lspRange: unknown = range;
    if (range instanceof vscode.Range) lspRange = c.code2ProtocolConverter.asRange(range);
    else if (range === undefined) {
      const editor = vscode.window.activeTextEditor;
      if (editor && editor.document.uri.toString() === uri.toString() && !editor.selection.isEmpty) lspRange = c.code2ProtocolConverter.asRange(editor.selection);
    }
    let result: PreviewResult;
    try {
      result = await c.sendRequest<PreviewResult>("afterburn/preview", { uri: uri.toString(), ...(lspRange ? { range: lspRange } : {}) });
    } catch (e) {
      void vscode.window.showErrorMessage(`Preview Afterburned Form: ${(e as Error).message}`);
      return undefined;
    }
    const name = uri.path.split("/").pop() ?? "file";
    const preview = previews.show(uri, lspRange, result.text);
    // Diff only the whole file; a range preview has nothing to line up with on the left.
    if (lspRange) {
      const doc = await vscode.workspace.openTextDocument(preview);
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    } else {
      await vscode.commands.executeCommand("vscode.diff", uri, preview, `${name} ↔ afterburned (${result.sites} site${result.sites === 1 ? "" : "s"})`, { preview: true });
    }
    return preview;
  });

  command("afterburn.showBackends", async (arg?: unknown, position?: { line: number; character: number }) => {
    const uri = targetUri(arg);
    if (!uri) return;
    const editor = await vscode.window.showTextDocument(uri, { preserveFocus: false });
    if (position) {
      const p = new vscode.Position(position.line, position.character);
      editor.selection = new vscode.Selection(p, p);
      editor.revealRange(new vscode.Range(p, p), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    // The server's hover lists what each backend does with the instruction.
    await vscode.commands.executeCommand("editor.action.showHover");
  });

  command("afterburn.revealSite", async (node?: SiteNode) => {
    if (!node) return;
    const loc = node.file && node.line ? node : model.location(node.address, node.backend);
    if (!loc?.file || !loc.line) {
      void vscode.window.showInformationMessage(`No source line for the site at 0x${node.address.toString(16)} (build the guest with -g).`);
      return;
    }
    let fileUri = vscode.Uri.file(loc.file);
    if (!loc.file.startsWith("/")) {
      const found = await vscode.workspace.findFiles(`**/${loc.file.replace(/^\.\//, "")}`, "**/node_modules/**", 1);
      if (found[0]) fileUri = found[0];
    }
    try {
      const line = Math.max(0, loc.line - 1);
      await vscode.window.showTextDocument(fileUri, { selection: new vscode.Range(line, 0, line, 0), preview: true });
    } catch (e) {
      void vscode.window.showWarningMessage(`Cannot open ${loc.file}: ${(e as Error).message}`);
    }
  });

  command("afterburn.debugGuest", async (arg?: unknown) => {
    if (!requireTrust("debug guests")) return false;
    const uri = targetUri(arg);
    if (!uri) return false;
    return vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(uri), {
      type: "afterburn",
      request: "launch",
      name: `Afterburn: debug ${uri.path.split("/").pop()}`,
      program: uri.fsPath,
      backend: backend(),
      stopOnEntry: true,
    });
  });

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("afterburn.backend")) showStatus();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => log.appendLine("workspace trusted: builds, runs and debugging are available")),
  );

  log.appendLine(`Afterburner Studio activated (workspace ${vscode.workspace.isTrusted ? "trusted" : "in Restricted Mode: analysis only"})`);
  return { model, backend, setBackend, lastRun: () => runner.lastRun(), languageClient: () => client };
}

export function deactivate(): void {
  // Subscriptions (language client, views, terminals) are disposed by VS Code.
}
