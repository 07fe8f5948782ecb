// A minimal LSP client for the tests and the benchmark: spawns the bundled server (node dist/server.js
// --stdio) and speaks real JSON-RPC over its stdio with vscode-jsonrpc, as an editor does.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";

export const ROOT = join(__dirname, "..", "..");
/** The bundle to run: dist/server.js, or AFTERBURN_LSP_SERVER (another build, e.g. to compare figures). */
export const SERVER = process.env.AFTERBURN_LSP_SERVER || join(ROOT, "dist", "server.js");

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/server.js when it is missing or older than the sources it bundles. */
export function ensureServerBuilt(): void {
  if (process.env.AFTERBURN_LSP_SERVER) return;
  const built = existsSync(SERVER) ? statSync(SERVER).mtimeMs : 0;
  const newest = Math.max(newestSource(join(ROOT, "server")), newestSource(join(ROOT, "core")));
  if (built >= newest) return;
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}${r.stdout}`);
}

export interface PublishedDiagnostics {
  uri: string;
  version?: number;
  diagnostics: Diagnostic[];
}

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export interface Diagnostic {
  range: Range;
  severity?: number;
  code?: string | number;
  source?: string;
  message: string;
  relatedInformation?: { location: { uri: string; range: Range }; message: string }[];
  data?: unknown;
}

export interface ClientOptions {
  /** What the client answers to workspace/configuration for "afterburn". */
  settings?: Record<string, unknown>;
  rootPath?: string;
  /** Extra node options for the server process (e.g. ["--cpu-prof"]); also from AFTERBURN_LSP_NODE_ARGS (space-separated). */
  nodeArgs?: string[];
}

export class LspClient {
  readonly process: ChildProcess;
  readonly connection: MessageConnection;
  settings: Record<string, unknown>;
  private diagnosticWaiters: { uri: string; predicate: (d: PublishedDiagnostics) => boolean; resolve: (d: PublishedDiagnostics) => void }[] = [];
  /** Last diagnostics per URI. */
  readonly diagnostics = new Map<string, PublishedDiagnostics>();
  /** Every publishDiagnostics in arrival order with its arrival time (performance.now()). */
  readonly published: { at: number; params: PublishedDiagnostics }[] = [];
  stderr = "";
  /** performance.now() of every chunk read from the server's stdout (the caller empties it when it likes). */
  readonly chunkTimes: number[] = [];
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(options: ClientOptions) {
    this.settings = options.settings ?? {};
    const nodeArgs = options.nodeArgs ?? (process.env.AFTERBURN_LSP_NODE_ARGS ?? "").split(" ").filter((a) => a.length > 0);
    this.process = spawn(process.execPath, [...nodeArgs, SERVER, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    this.process.stderr!.on("data", (b: Buffer) => (this.stderr += b.toString()));
    this.process.stdout!.on("data", () => this.chunkTimes.push(performance.now()));
    this.process.on("exit", (code, signal) => (this.exited = { code, signal }));
    this.connection = createMessageConnection(new StreamMessageReader(this.process.stdout!), new StreamMessageWriter(this.process.stdin!));
    this.connection.onNotification("textDocument/publishDiagnostics", (p: PublishedDiagnostics) => {
      this.published.push({ at: performance.now(), params: p });
      this.diagnostics.set(p.uri, p);
      this.diagnosticWaiters = this.diagnosticWaiters.filter((w) => {
        if (w.uri === p.uri && w.predicate(p)) {
          w.resolve(p);
          return false;
        }
        return true;
      });
    });
    this.connection.onRequest("workspace/configuration", (p: { items: { section?: string }[] }) => {
      setImmediate(this.configuredNow);
      return p.items.map((i) => (i.section === "afterburn" ? this.settings : null));
    });
    this.connection.onRequest("client/registerCapability", () => null);
    this.connection.onRequest("window/workDoneProgress/create", () => null);
    this.connection.onNotification("window/logMessage", () => undefined);
    this.connection.listen();
  }

  private configuredNow: () => void = () => {};
  private readonly configured = new Promise<void>((resolve) => (this.configuredNow = resolve));

  /**
   * Resolves once the server has read its settings (it asks after `initialized`, then re-publishes
   * every open document): a request answered after the answer to its first settings request.
   */
  async settingsApplied(): Promise<void> {
    await this.configured;
    await this.request("textDocument/hover", { textDocument: { uri: "file:///afterburn-test/none.s" }, position: { line: 0, character: 0 } });
  }

  static async start(options: ClientOptions = {}): Promise<LspClient> {
    ensureServerBuilt();
    const c = new LspClient(options);
    const rootUri = options.rootPath ? `file://${options.rootPath}` : null;
    await c.request("initialize", {
      processId: process.pid,
      rootUri,
      workspaceFolders: options.rootPath ? [{ uri: rootUri, name: "ws" }] : null,
      capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } }, textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true } } },
    });
    c.notify("initialized", {});
    return c;
  }

  request<T = any>(method: string, params: unknown): Promise<T> {
    return this.connection.sendRequest(method, params) as Promise<T>;
  }

  notify(method: string, params: unknown): void {
    void this.connection.sendNotification(method, params);
  }

  /** Resolves with the next diagnostics for the URI that satisfy the predicate (or the current ones if they already do). */
  waitForDiagnostics(uri: string, predicate: (d: PublishedDiagnostics) => boolean = () => true, timeoutMs = 20_000): Promise<PublishedDiagnostics> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching diagnostics for ${uri} within ${timeoutMs} ms; last: ${JSON.stringify(this.diagnostics.get(uri))?.slice(0, 2000)}\nstderr: ${this.stderr}`)), timeoutMs);
      this.diagnosticWaiters.push({
        uri,
        predicate,
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
      });
    });
  }

  open(uri: string, text: string, languageId = "gas-x86", version = 1): void {
    this.notify("textDocument/didOpen", { textDocument: { uri, languageId, version, text } });
  }

  /** Opens a document and waits for its first diagnostics. */
  async openAndWait(uri: string, text: string, languageId = "gas-x86", version = 1): Promise<PublishedDiagnostics> {
    const p = this.waitForDiagnostics(uri, (d) => d.version === version);
    this.open(uri, text, languageId, version);
    return p;
  }

  change(uri: string, version: number, changes: { range?: Range; text: string }[]): void {
    this.notify("textDocument/didChange", { textDocument: { uri, version }, contentChanges: changes });
  }

  async changeAndWait(uri: string, version: number, changes: { range?: Range; text: string }[]): Promise<PublishedDiagnostics> {
    const p = this.waitForDiagnostics(uri, (d) => d.version === version);
    this.change(uri, version, changes);
    return p;
  }

  async stop(): Promise<void> {
    if (this.exited === undefined) {
      try {
        await Promise.race([this.request("shutdown", null), new Promise((r) => setTimeout(r, 2000))]);
        this.notify("exit", null);
      } catch {
        // already gone
      }
    }
    await new Promise<void>((resolve) => {
      if (this.exited !== undefined) return resolve();
      const t = setTimeout(() => {
        this.process.kill();
        resolve();
      }, 2000);
      this.process.on("exit", () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.connection.dispose();
  }
}

export function range(sl: number, sc: number, el: number, ec: number): Range {
  return { start: { line: sl, character: sc }, end: { line: el, character: ec } };
}
