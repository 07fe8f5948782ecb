// The afterburned-form preview: a read-only document per source file (scheme afterburn-preview)
// whose text comes from the language server's afterburn/preview request. It follows its source:
// after each pause in typing, an open preview asks the server again, as the Markdown preview
// does, so the diff beside the editor keeps showing what the build would produce now.
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";
import type { PreviewResult } from "./lsp";

export const PREVIEW_SCHEME = "afterburn-preview";

/** Quiet time after the last change before a preview is made again (each one burns the whole file). */
const FOLLOW_DELAY_MS = 300;

interface Followed {
  source: string;
  /** The protocol range previewed, or undefined for the whole file. */
  range: unknown;
  text: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** A request is out: a change meanwhile asks again when it returns. */
  busy: boolean;
  again: boolean;
}

export class Previews implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly shown = new Map<string, Followed>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  private readonly subscriptions: vscode.Disposable[];
  readonly onDidChange = this.emitter.event;

  constructor(
    private readonly client: () => LanguageClient | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions = [
      this.emitter,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) this.sourceChanged(e.document);
      }),
      // A closed preview stops following; a closed source leaves its preview as last made.
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (d.uri.scheme === PREVIEW_SCHEME) this.forget(d.uri.toString());
      }),
    ];
  }

  /**
   * Shows `text` as the preview of `source` (over `range`, protocol form) and follows the source from
   * now on. Returns the preview document's uri: one per source file (a range preview replaces the
   * whole-file one).
   */
  show(source: vscode.Uri, range: unknown, text: string): vscode.Uri {
    const preview = vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: `${source.path}.afterburn.s`, query: source.toString() });
    const key = preview.toString();
    const old = this.shown.get(key);
    if (old?.timer !== undefined) clearTimeout(old.timer);
    this.shown.set(key, { source: source.toString(), range, text, timer: undefined, busy: false, again: false });
    this.emitter.fire(preview);
    return preview;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.shown.get(uri.toString())?.text ?? "";
  }

  dispose(): void {
    for (const f of this.shown.values()) if (f.timer !== undefined) clearTimeout(f.timer);
    this.shown.clear();
    for (const s of this.subscriptions) s.dispose();
  }

  private forget(key: string): void {
    const f = this.shown.get(key);
    if (f?.timer !== undefined) clearTimeout(f.timer);
    this.shown.delete(key);
  }

  /** Whether a tab still shows the preview (VS Code closes a document well after its last tab). */
  private static inTab(key: string): boolean {
    return vscode.window.tabGroups.all.some((g) =>
      g.tabs.some((t) =>
        (t.input instanceof vscode.TabInputText && t.input.uri.toString() === key) ||
        (t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === key),
      ),
    );
  }

  private sourceChanged(doc: vscode.TextDocument): void {
    if (!vscode.workspace.getConfiguration("afterburn", doc.uri).get<boolean>("preview.follow", true)) return;
    const source = doc.uri.toString();
    for (const [key, f] of this.shown) {
      if (f.source !== source) continue;
      if (f.timer !== undefined) clearTimeout(f.timer);
      f.timer = setTimeout(() => void this.refresh(key, doc), FOLLOW_DELAY_MS);
    }
  }

  private async refresh(key: string, doc: vscode.TextDocument): Promise<void> {
    const f = this.shown.get(key);
    const c = this.client();
    if (f === undefined || c === undefined) return;
    f.timer = undefined;
    if (!Previews.inTab(key)) {
      this.forget(key);
      return;
    }
    if (f.busy) {
      f.again = true;
      return;
    }
    f.busy = true;
    try {
      const params = { uri: f.source, ...(f.range !== undefined ? { range: f.range } : {}) };
      const r = await c.sendRequest<PreviewResult | null>("afterburn/preview", params);
      // Dropped meanwhile (closed), or the document is gone from the server: keep what is shown.
      if (this.shown.get(key) !== f || r === null) return;
      // The server answered for an older version than the editor has: the newer change asks again.
      if (typeof r.version === "number" && !doc.isClosed && r.version < doc.version) f.again = true;
      if (r.text !== f.text) {
        f.text = r.text;
        this.emitter.fire(vscode.Uri.parse(key));
      }
    } catch (e) {
      this.log.warn(`preview of ${f.source} not updated: ${(e as Error).message}`);
    } finally {
      f.busy = false;
      if (f.again && this.shown.get(key) === f) {
        f.again = false;
        f.timer = setTimeout(() => void this.refresh(key, doc), FOLLOW_DELAY_MS);
      }
    }
  }
}
