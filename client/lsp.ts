// Starts the language server (dist/server.js) with vscode-languageclient over node IPC.
import * as vscode from "vscode";
import { existsSync } from "node:fs";
import { LanguageClient, type LanguageClientOptions, type ServerOptions, TransportKind } from "vscode-languageclient/node";

export const DOCUMENT_SELECTOR = [
  { language: "gas-x86", scheme: "file" },
  { language: "gas-x86", scheme: "untitled" },
  { language: "c", scheme: "file" },
  { language: "c", scheme: "untitled" },
  { language: "cpp", scheme: "file" },
  { language: "cpp", scheme: "untitled" },
];

export interface PreviewResult {
  text: string;
  sites: number;
  /** The document version the server previewed. */
  version: number;
}

export async function startLanguageClient(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<LanguageClient | undefined> {
  const module = context.asAbsolutePath("dist/server.js");
  if (!existsSync(module)) {
    log.appendLine(`language server ${module} is missing; run \`npm run build\` in the extension folder`);
    return undefined;
  }
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ["--nolazy", "--inspect=6019"] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: log,
    initializationOptions: { workspaceTrusted: vscode.workspace.isTrusted },
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/compile_commands.json") },
  };
  const client = new LanguageClient("afterburn", "Afterburner Studio language server", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (e) {
    log.appendLine(`language server did not start: ${(e as Error).message}`);
    void vscode.window.showWarningMessage(`Afterburner Studio: the language server did not start (${(e as Error).message}). Diagnostics and hovers are off; see the output channel.`);
    return undefined;
  }
  return client;
}
