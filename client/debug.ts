// The "afterburn" debugger: the adapter is dist/debugger.js run by node (an executable adapter,
// so the DAP side stays a separate process like the CLI). Its custom events feed the trap view.
import * as vscode from "vscode";
import { existsSync } from "node:fs";
import { parseLedgerEvents, parseLedgerReport } from "./model/ledger";
import type { TrapLedgerModel } from "./model/trapTree";

export const DEBUG_TYPE = "afterburn";

class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly context: vscode.ExtensionContext) {}
  createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const adapter = this.context.asAbsolutePath("dist/debugger.js");
    if (!existsSync(adapter)) throw new Error(`the debug adapter ${adapter} is missing; run \`npm run build\` in the extension folder`);
    // In the desktop VS Code process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain node.
    return new vscode.DebugAdapterExecutable(process.execPath, [adapter], { env: { ELECTRON_RUN_AS_NODE: "1" } });
  }
}

class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly backend: () => string) {}

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.ProviderResult<vscode.DebugConfiguration> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage("Afterburner Studio does not build or run guests in Restricted Mode. Trust this workspace to debug a guest.", "Manage Workspace Trust").then((a) => {
        if (a) void vscode.commands.executeCommand("workbench.trust.manage");
      });
      return undefined;
    }
    // F5 with no launch.json: debug the guest of the active file on the selected backend.
    if (!config.type && !config.request && !config.name) {
      const editor = vscode.window.activeTextEditor;
      if (!editor || !["gas-x86", "c"].includes(editor.document.languageId)) {
        void vscode.window.showInformationMessage("Open a guest source (.S, .s or .c) or an ELF path in launch.json to debug it with Afterburner Studio.");
        return undefined;
      }
      config.type = DEBUG_TYPE;
      config.request = "launch";
      config.name = "Afterburn: debug this guest";
      config.program = editor.document.uri.fsPath;
      config.stopOnEntry = true;
    }
    config.backend ??= this.backend();
    if (!config.program) {
      void vscode.window.showErrorMessage("Afterburner Studio: the launch configuration needs \"program\" (an ELF, or the guest's source files).");
      return undefined;
    }
    return config;
  }
}

/** Registers the adapter, the configuration provider and the custom-event wiring to the trap model. */
export function registerDebugger(context: vscode.ExtensionContext, model: TrapLedgerModel, backend: () => string, log: vscode.OutputChannel): void {
  const backends = new Map<string, string>();
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new AdapterFactory(context)),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new ConfigurationProvider(backend)),
    vscode.debug.onDidStartDebugSession((s) => {
      if (s.type !== DEBUG_TYPE) return;
      const b = String(s.configuration.backend ?? backend());
      backends.set(s.id, b);
      model.startSession(b);
    }),
    vscode.debug.onDidTerminateDebugSession((s) => {
      const b = backends.get(s.id);
      if (b === undefined) return;
      backends.delete(s.id);
      model.endSession(b);
    }),
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== DEBUG_TYPE) return;
      try {
        if (e.event === "afterburnLedger") {
          const batch = parseLedgerEvents(e.body);
          if (batch) model.addEvents(batch.backend, batch.events);
        } else if (e.event === "afterburnReport") {
          const body = e.body as { backend?: unknown; report?: unknown } | undefined;
          if (body?.report) model.setReport(parseLedgerReport(body.report, "afterburnReport.report"), "debug");
        }
      } catch (err) {
        log.appendLine(`debug adapter event ${e.event}: ${(err as Error).message}`);
      }
    }),
  );
}
