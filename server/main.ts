// afterburn-lsp: the language server (`afterburn-lsp --stdio`, or --node-ipc / --socket=N as
// vscode-languageserver accepts). A thin layer: documents in, core/ analysis, protocol out.

import {
  createConnection,
  DidChangeConfigurationNotification,
  SemanticTokensBuilder,
  TextDocumentSyncKind,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type Location,
  type Range,
  type SymbolInformation,
  SymbolKind,
} from "vscode-languageserver/node";
import { isAbsolute, resolve } from "node:path";
import { OpenDocument, kindOf } from "./documents.js";
import { DEFAULT_SETTINGS, readSettings, type Settings } from "./settings.js";
import {
  codeActionsFor,
  codeLensesFor,
  completionsFor,
  definitionLocation,
  diagnosticsFor,
  documentSymbolsFor,
  fileUri,
  foldingFor,
  hoverFor,
  inlayHintsFor,
  previewFor,
  toRange,
  type PreviewResult,
} from "./features.js";
import { classifyWord, labelDefinitions, localReferences, macroDefinition, occurrences, semanticTokens, symbolDefinitionAt, SEMANTIC_TOKEN_MODIFIERS, SEMANTIC_TOKEN_TYPES } from "../core/asm/navigate.js";
import { WorkspaceIndex } from "../core/asm/workspace.js";
import type { Span } from "../core/asm/types.js";
import { SYMBOL_DIRECTIVES } from "../core/asm/expand.js";
import { includeDirsOf, loadCompileDatabase, modeOf, preprocessAccurately, type CompileCommand } from "../core/asm/accurate.js";
import { splitCommandLine } from "../core/toolchain/commandLine.js";
import { pathOf } from "./documents.js";
import { readHeader } from "../core/asm/includes.js";
import { changeSuperseded, createStdioConnection } from "./wire.js";
import { malformedParams } from "./params.js";
import { quickDiagnostics, quickOpenAnalysis, sameDiagnostics } from "./quick-open.js";

/** Expansion units past which a superseded change's loop or macro body patch is left to the full pass. */
const SUPERSEDED_BODY_WORK = 50_000;

export const PREVIEW_REQUEST = "afterburn/preview";

export function startServer(connection: Connection): void {
  const docs = new Map<string, OpenDocument>();
  const index = new WorkspaceIndex();
  let settings: Settings = DEFAULT_SETTINGS;
  let canPullConfiguration = false;
  let roots: string[] = [];

  const log = (message: string) => {
    try {
      connection.console.log(`afterburn: ${message}`);
    } catch {
      // the connection may be closing
    }
  };

  /**
   * Answers a request with `fn`, or with `fallback` when its params are malformed (a position or
   * range that is not non-negative integers: a client bug, but no reason to fail) or it throws; a
   * failure is logged, never thrown into the connection.
   */
  function safe<T>(what: string, fallback: T, fn: () => T, params?: unknown): T {
    const problem = params === undefined ? undefined : malformedParams(params);
    if (problem) {
      log(`${what}: ${problem}`);
      return fallback;
    }
    try {
      return fn();
    } catch (e) {
      log(`${what} failed: ${(e as Error)?.stack ?? String(e)}`);
      return fallback;
    }
  }

  function compileCommandFor(path: string): CompileCommand | undefined {
    if (settings.compileCommands === "") return undefined;
    const dbPath = isAbsolute(settings.compileCommands) ? settings.compileCommands : resolve(roots[0] ?? process.cwd(), settings.compileCommands);
    try {
      return loadCompileDatabase(dbPath).byFile.get(path);
    } catch (e) {
      log(`compile commands: ${(e as Error).message}`);
      return undefined;
    }
  }

  function makeDocument(uri: string, languageId: string, version: number, text: string): OpenDocument | undefined {
    const kind = kindOf(languageId, uri);
    if (kind === undefined) return undefined;
    const cmd = compileCommandFor(pathOf(uri));
    return new OpenDocument(uri, kind, languageId, version, text, {
      maxLines: settings.maxAnalysisLines,
      // Without a compile command: the folders the settings name (a kernel tree's -Iinclude -Iarch/x86/include).
      includeDirs: cmd ? includeDirsOf(cmd) : settings.includePaths.map((d) => (isAbsolute(d) ? d : resolve(roots[0] ?? process.cwd(), d))),
      mode: cmd ? modeOf(cmd) : 32,
    });
  }

  function publish(doc: OpenDocument): void {
    const diagnostics = safe("diagnostics", [], () => diagnosticsFor(doc, settings));
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
  }

  /** Publishes now when the analysis is ready; C files wait for tree-sitter the first time. */
  function analyseAndPublish(doc: OpenDocument): void {
    if (doc.kind === "c" && doc.cAnalysisNow() === undefined && !doc.truncated) {
      const version = doc.version;
      doc.cAnalysis().then(
        () => {
          if (docs.get(doc.uri) === doc && doc.version === version) publish(doc);
        },
        (e: unknown) => log(`C analysis failed: ${(e as Error)?.message ?? String(e)}`),
      );
      return;
    }
    publish(doc);
  }

  /**
   * A large plain `.s` file: its sites from the quick scan now, the full analysis right after, and
   * its diagnostics too when they add anything (parse errors). False when the document does not qualify.
   */
  function quickOpen(doc: OpenDocument): boolean {
    if (doc.kind !== "asm") return false;
    const q = safe("quick open", undefined, () => quickOpenAnalysis(doc.path, doc.text, doc.lineCount, doc.options.maxLines, doc.options.mode));
    if (q === undefined) return false;
    const version = doc.version;
    const first = safe("diagnostics", [], () => quickDiagnostics(q, settings));
    const complete = () => {
      // A change since has published its own diagnostics, from the analysis; a closed document has none.
      if (docs.get(doc.uri) !== doc || doc.version !== version) return;
      const full = safe("diagnostics", [], () => diagnosticsFor(doc, settings));
      if (!sameDiagnostics(first, full)) void connection.sendDiagnostics({ uri: doc.uri, version, diagnostics: full });
    };
    // The connection writes on a later turn of the event loop: the analysis waits until the sites are out.
    connection.sendDiagnostics({ uri: doc.uri, version, diagnostics: first }).then(
      () => setImmediate(complete),
      () => setImmediate(complete),
    );
    return true;
  }

  /** Accurate mode: the real cpp with the file's compile command, mapped back through line markers. */
  function runAccurate(doc: OpenDocument): void {
    if (doc.kind !== "asm" || doc.path.endsWith(".s") || doc.truncated) return;
    const cmd = compileCommandFor(doc.path);
    if (cmd === undefined) return;
    const version = doc.version;
    let gcc: string[];
    try {
      gcc = splitCommandLine(settings.toolchain.gcc);
    } catch {
      gcc = ["gcc"];
    }
    preprocessAccurately(doc.text, cmd, gcc).then(
      (r) => {
        if (docs.get(doc.uri) !== doc || doc.version !== version) return;
        doc.accurate = { version, sites: r.sites };
        doc.accurateError = undefined;
        publish(doc);
      },
      (e: unknown) => {
        if (docs.get(doc.uri) !== doc) return;
        doc.accurateError = (e as Error)?.message ?? String(e);
        publish(doc);
      },
    );
  }

  async function pullSettings(): Promise<void> {
    if (!canPullConfiguration) return;
    try {
      const raw: unknown = await connection.workspace.getConfiguration({ section: "afterburn" });
      applySettings(readSettings(raw));
    } catch (e) {
      log(`could not read settings: ${(e as Error).message}`);
    }
  }

  function applySettings(next: Settings): void {
    const reopen = next.maxAnalysisLines !== settings.maxAnalysisLines || next.compileCommands !== settings.compileCommands || next.includePaths.join("\0") !== settings.includePaths.join("\0");
    settings = next;
    for (const [uri, doc] of docs) {
      let d = doc;
      if (reopen) {
        const fresh = makeDocument(uri, doc.textDocument?.languageId ?? (doc.kind === "asm" ? "gas-x86" : "c"), doc.version, doc.text);
        if (fresh === undefined) continue;
        docs.set(uri, fresh);
        d = fresh;
        runAccurate(d);
      }
      analyseAndPublish(d);
    }
  }

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    canPullConfiguration = params.capabilities.workspace?.configuration === true;
    roots = (params.workspaceFolders ?? []).map((f) => pathOf(f.uri));
    if (roots.length === 0 && params.rootUri) roots = [pathOf(params.rootUri)];
    const init = params.initializationOptions as Record<string, unknown> | undefined;
    if (init && typeof init === "object" && "afterburn" in init) settings = readSettings(init.afterburn);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        hoverProvider: true,
        inlayHintProvider: true,
        codeActionProvider: { codeActionKinds: ["quickfix", "source"] },
        codeLensProvider: { resolveProvider: false },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        foldingRangeProvider: true,
        completionProvider: { triggerCharacters: ["%", "."] },
        semanticTokensProvider: {
          legend: { tokenTypes: [...SEMANTIC_TOKEN_TYPES], tokenModifiers: [...SEMANTIC_TOKEN_MODIFIERS] },
          full: true,
          range: true,
        },
      },
      serverInfo: { name: "afterburn-lsp", version: "0.1.0" },
    };
  });

  connection.onInitialized(() => {
    if (canPullConfiguration) {
      void connection.client.register(DidChangeConfigurationNotification.type, { section: "afterburn" }).catch(() => undefined);
      void pullSettings();
    }
    // Index the workspace's assembly files after start-up work is done.
    setTimeout(() => {
      void (async () => {
        for (const r of roots) {
          try {
            await index.scanFolderInSlices(r);
          } catch (e) {
            log(`workspace index failed: ${(e as Error)?.stack ?? String(e)}`);
          }
        }
        for (const d of docs.values()) if (d.kind === "asm") index.update(d.path, d.text);
        if (index.skipped > 0) log(`workspace index: ${index.fileCount} files, ${index.skipped} skipped (limits)`);
      })();
    }, 50);
  });

  connection.onDidChangeConfiguration((params) => {
    const raw = (params.settings as Record<string, unknown> | null | undefined)?.afterburn;
    if (raw !== undefined) applySettings(readSettings(raw));
    else void pullSettings();
  });

  connection.onDidOpenTextDocument((params) => {
    safe("open", undefined, () => {
      const { uri, languageId, version, text } = params.textDocument;
      const doc = makeDocument(uri, languageId, version, typeof text === "string" ? text : String(text));
      if (doc === undefined) return;
      docs.set(uri, doc);
      if (!quickOpen(doc)) analyseAndPublish(doc);
      runAccurate(doc);
    });
  });

  connection.onDidChangeTextDocument((params) => {
    safe("change", undefined, () => {
      // Counted first, so that every handled change is accounted for whatever happens below.
      const superseded = changeSuperseded(params.textDocument.uri);
      const doc = docs.get(params.textDocument.uri);
      if (doc === undefined) return;
      doc.applyChanges(params.contentChanges, params.textDocument.version ?? doc.version + 1);
      // A newer version is already waiting: its publish covers this one (typing faster than analysis).
      // Assembly is still analysed edit by edit when a patch can, which keeps each step on the
      // incremental path; a full pass is left to the change that publishes, and so is a patch that
      // would rebuild a large expansion (one full pass is cheaper than one such patch per key).
      if (!superseded) analyseAndPublish(doc);
      else if (doc.asm !== undefined) safe("analysis", undefined, () => void doc.asm!.settle(SUPERSEDED_BODY_WORK));
    });
  });

  connection.onDidSaveTextDocument((params) => {
    safe("save", undefined, () => {
      const doc = docs.get(params.textDocument.uri);
      if (doc === undefined) return;
      if (doc.kind === "asm") index.update(doc.path, doc.text);
      runAccurate(doc);
    });
  });

  connection.onDidCloseTextDocument((params) => {
    const doc = docs.get(params.textDocument.uri);
    docs.delete(params.textDocument.uri);
    if (doc !== undefined && doc.kind === "asm") index.updateFromDisk(doc.path);
    void connection.sendDiagnostics({ uri: params.textDocument.uri, diagnostics: [] });
  });

  connection.onHover((p) => safe("hover", null, () => {
    const doc = docs.get(p.textDocument.uri);
    return doc ? hoverFor(doc, p.position) : null;
  }, p));

  connection.languages.inlayHint.on((p) => safe("inlay hints", [], () => {
    const doc = docs.get(p.textDocument.uri);
    return doc ? inlayHintsFor(doc, p.range, settings) : [];
  }, p));

  connection.onCodeAction((p) => safe("code actions", [], () => {
    const doc = docs.get(p.textDocument.uri);
    return doc ? codeActionsFor(doc, p.range, p.context.diagnostics) : [];
  }, p));

  connection.onCodeLens((p) => safe("code lens", [], () => {
    const doc = docs.get(p.textDocument.uri);
    return doc ? codeLensesFor(doc) : [];
  }, p));

  connection.onRequest(PREVIEW_REQUEST, async (p: { uri?: unknown; range?: Range }): Promise<PreviewResult | null> => {
    try {
      if (typeof p?.uri !== "string") return null;
      const problem = malformedParams({ range: p.range });
      if (problem) {
        log(`preview: ${problem}`);
        return null;
      }
      const doc = docs.get(p.uri);
      if (doc === undefined) return null;
      if (doc.kind === "c") await doc.cAnalysis();
      return previewFor(doc, p.range ?? undefined);
    } catch (e) {
      log(`preview failed: ${(e as Error)?.stack ?? String(e)}`);
      return null;
    }
  });

  connection.onDocumentSymbol((p) => safe("document symbols", [], () => {
    const doc = docs.get(p.textDocument.uri);
    return doc ? documentSymbolsFor(doc) : [];
  }, p));

  connection.onFoldingRanges((p) => safe("folding", [], () => {
    const doc = docs.get(p.textDocument.uri);
    return doc ? foldingFor(doc) : [];
  }, p));

  connection.onCompletion((p) => safe("completion", [], () => {
    const doc = docs.get(p.textDocument.uri);
    return doc ? completionsFor(doc, p.position) : [];
  }, p));

  connection.onDefinition((p) => safe("definition", null, (): Location[] | null => {
    const doc = docs.get(p.textDocument.uri);
    if (doc?.asm === undefined) return null;
    const an = doc.asm;
    const line = an.lineText(p.position.line);
    // On an include line: the header.
    const inc = an.includeSet.includes.find((i) => i.line === p.position.line && p.position.character >= i.start && p.position.character <= i.end);
    if (inc?.path !== undefined) return [{ uri: fileUri(inc.path), range: toRange({ line: 0, start: 0, end: 0 }) }];
    const w = classifyWord(an, p.position.line, p.position.character);
    if (w === undefined || line === "") return null;
    if (w.kind === "macro" || w.kind === "cpp-macro" || (w.kind === "instruction" && an.file.macros.has(w.word.toLowerCase()))) {
      const d = macroDefinition(an, w.word);
      if (d !== undefined) return [definitionLocation(doc, d)];
    }
    if (w.kind === "label" || w.kind === "symbol" || w.kind === "unknown" || w.kind === "instruction") {
      const defs = labelDefinitions(an, w.word, p.position.line, w.span.start);
      if (defs.length > 0) return defs.map((d) => definitionLocation(doc, d));
      // A symbol set more than once: the definition in force at this use.
      const sym = symbolDefinitionAt(an, w.word, p.position.line, w.span.start);
      if (sym !== undefined) return [{ uri: doc.uri, range: toRange(sym.range) }];
    }
    // Elsewhere in the workspace: headers this file includes first.
    const found = index.lookup(w.word);
    const included = new Set(an.includeSet.files);
    found.sort((a, b) => Number(included.has(b.file)) - Number(included.has(a.file)));
    return found.length > 0 ? found.map((s) => ({ uri: fileUri(s.file), range: toRange({ line: s.line, start: s.start, end: s.end }) })) : null;
  }, p));

  connection.onReferences((p) => safe("references", [], (): Location[] => {
    const doc = docs.get(p.textDocument.uri);
    if (doc?.asm === undefined) return [];
    const an = doc.asm;
    const withDeclaration = p.context?.includeDeclaration !== false;
    // .L and numeric labels are the file's own: another file's `1:` or `.L3` is another label.
    const local = localReferences(an, p.position.line, p.position.character);
    if (local !== undefined) {
      const spans = withDeclaration ? [...local.definitions, ...local.uses].sort((a, b) => a.line - b.line || a.start - b.start) : local.uses;
      return spans.map((s) => ({ uri: doc.uri, range: toRange(s) }));
    }
    const w = classifyWord(an, p.position.line, p.position.character);
    if (w === undefined || w.kind === "number") return [];
    const name = w.word;
    // Where the name is defined (the document's labels, .set symbols and macros, the index's other files): left out on request.
    const declarations = new Set<string>();
    if (!withDeclaration) {
      const here = (line: number, start: number) => declarations.add(`${doc.uri}:${line}:${start}`);
      for (const d of labelDefinitions(an, name, p.position.line)) if (d.line !== undefined) here(d.line, d.start);
      for (const es of an.file.statements) {
        const st = es.statement;
        const defines = (st.kind === "assignment" && st.name === name) || (st.kind === "directive" && SYMBOL_DIRECTIVES.has(st.name) && st.argList[0] === name);
        const symAt = defines && es.expansion === undefined ? an.toSource(st.span) : undefined;
        if (symAt !== undefined) here(symAt.line, an.lineText(symAt.line).indexOf(name, symAt.start));
      }
      const macro = macroDefinition(an, name);
      if (macro?.line !== undefined) here(macro.line, an.lineText(macro.line).indexOf(name, macro.start));
      for (const s of index.lookup(name)) if (s.file !== doc.path) declarations.add(`${fileUri(s.file)}:${s.line}:${s.start}`);
    }
    const out: Location[] = [];
    const add = (uri: string, s: Span) => {
      if (!declarations.has(`${uri}:${s.line}:${s.start}`)) out.push({ uri, range: toRange(s) });
    };
    for (const s of occurrences((i) => doc.lineText(i), doc.lineCount, name)) add(doc.uri, s);
    const open = new Map([...docs.values()].map((d) => [d.path, d]));
    for (const path of index.paths()) {
      if (path === doc.path) continue;
      const other = open.get(path);
      const lines = other !== undefined ? null : readHeader(path);
      const count = other !== undefined ? other.lineCount : lines?.length ?? 0;
      const get = other !== undefined ? (i: number) => other.lineText(i) : (i: number) => lines![i];
      const uri = other?.uri ?? fileUri(path);
      for (const s of occurrences(get, count, name)) add(uri, s);
      if (out.length > 5000) break;
    }
    return out;
  }, p));

  connection.onWorkspaceSymbol((p) => safe("workspace symbols", [], (): SymbolInformation[] => {
    const kinds = { label: SymbolKind.Function, macro: SymbolKind.Method, define: SymbolKind.Constant } as const;
    return index.search(p.query).map((s) => ({ name: s.name, kind: kinds[s.kind], location: { uri: fileUri(s.file), range: toRange({ line: s.line, start: s.start, end: s.end }) }, containerName: s.file.split(/[\\/]/).pop() }));
  }, p));

  const tokens = (uri: string, range?: Range) => {
    const doc = docs.get(uri);
    const b = new SemanticTokensBuilder();
    if (doc === undefined) return b.build();
    const types = SEMANTIC_TOKEN_TYPES as readonly string[];
    const mods = SEMANTIC_TOKEN_MODIFIERS as readonly string[];
    if (doc.asm !== undefined) {
      for (const t of semanticTokens(doc.asm, range?.start.line ?? 0, range ? range.end.line + 1 : undefined)) {
        b.push(t.line, t.start, t.length, types.indexOf(t.type), t.modifiers.reduce((m, x) => m | (1 << mods.indexOf(x)), 0));
      }
    } else {
      const sites = [...(doc.cAnalysisNow()?.sites ?? [])].sort((a, c) => a.range.line - c.range.line || a.range.start - c.range.start);
      let last = { line: -1, end: -1 };
      for (const s of sites) {
        if (range && (s.range.line < range.start.line || s.range.line > range.end.line)) continue;
        if (s.range.line === last.line && s.range.start < last.end) continue;
        const len = Math.max(1, Math.min(s.mnemonic.length, s.range.end - s.range.start));
        const m = (1 << mods.indexOf("sensitive")) | (s.entry.class === "privileged" ? 1 << mods.indexOf("privileged") : 0) | (s.annotated ? 0 : 1 << mods.indexOf("notAnnotated"));
        b.push(s.range.line, s.range.start, len, types.indexOf("keyword"), m);
        last = { line: s.range.line, end: s.range.start + len };
      }
    }
    return b.build();
  };
  connection.languages.semanticTokens.on((p) => safe("semantic tokens", { data: [] }, () => tokens(p.textDocument.uri), p));
  connection.languages.semanticTokens.onRange((p) => safe("semantic tokens", { data: [] }, () => tokens(p.textDocument.uri, p.range), p));

  connection.listen();
}

// Nothing a document does may take the server down; anything unexpected is logged to stderr.
process.on("uncaughtException", (e) => process.stderr.write(`afterburn-lsp: internal error: ${e?.stack ?? String(e)}\n`));
process.on("unhandledRejection", (e) => process.stderr.write(`afterburn-lsp: internal error: ${(e as Error)?.stack ?? String(e)}\n`));

if (process.argv.includes("--version")) {
  process.stdout.write("afterburn-lsp 0.1.0\n");
} else if (!process.argv.some((a) => a === "--stdio" || a === "--node-ipc" || a.startsWith("--socket=") || a.startsWith("--pipe=") || a.startsWith("--clientProcessId"))) {
  process.stderr.write("usage: afterburn-lsp --stdio   (the Afterburner Studio language server; also --node-ipc, --socket=PORT)\n");
  process.exitCode = 64;
} else {
  startServer(process.argv.includes("--stdio") ? createStdioConnection() : createConnection());
}
