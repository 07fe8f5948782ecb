// The Trap Ledger tree in the Run and Debug container: backend → event kind → site.
import * as vscode from "vscode";
import { describeNode, kindChildren, type TrapLedgerModel, type TrapNode } from "./model/trapTree";

export class TrapTreeProvider implements vscode.TreeDataProvider<TrapNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TrapNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly unsubscribe: () => void;
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly model: TrapLedgerModel) {
    // Live events can arrive ~10 times a second: coalesce refreshes.
    this.unsubscribe = model.onChange(() => {
      if (this.pending) return;
      this.pending = setTimeout(() => {
        this.pending = undefined;
        this.emitter.fire(undefined);
      }, 150);
    });
  }

  getChildren(node?: TrapNode): TrapNode[] {
    if (!node) return this.model.tree();
    if (node.type === "backend") return node.kinds;
    if (node.type === "kind") return kindChildren(node);
    return [];
  }

  getTreeItem(node: TrapNode): vscode.TreeItem {
    const d = describeNode(node);
    const item = new vscode.TreeItem(
      d.label,
      node.type === "site" || node.type === "more" ? vscode.TreeItemCollapsibleState.None : node.type === "backend" ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.description = d.description;
    item.tooltip = d.tooltip;
    item.id =
      node.type === "backend" ? `b:${node.backend}` : node.type === "kind" ? `k:${node.backend}:${node.kind}` : node.type === "more" ? `m:${node.backend}:${node.kind}` : `s:${node.backend}:${node.kind}:${node.address}`;
    item.contextValue = `afterburn.${node.type}`;
    if (node.type === "backend") item.iconPath = new vscode.ThemeIcon(node.live ? "debug-alt" : "server-process");
    else if (node.type === "more") item.iconPath = new vscode.ThemeIcon("ellipsis");
    else if (node.type === "kind") item.iconPath = new vscode.ThemeIcon(node.kind === "hole" || node.kind === "missed-site" || node.kind === "triple-fault" ? "warning" : "symbol-event");
    else {
      item.iconPath = new vscode.ThemeIcon(node.file && node.line ? "go-to-file" : "location");
      item.command = { command: "afterburn.revealSite", title: "Go to Site", arguments: [node] };
    }
    return item;
  }

  dispose(): void {
    this.unsubscribe();
    if (this.pending) clearTimeout(this.pending);
    this.emitter.dispose();
  }
}
