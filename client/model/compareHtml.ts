// The Compare Backends report: an HTML page (for a webview) with inline SVG charts of modelled
// cycles and events per backend and a table of the costliest sites. No scripts, no CDN: the
// webview's content security policy allows inline styles only. Plain module: no vscode import.
import { EVENT_KINDS, type EventKind, hex, type RunJson, siteLabel } from "./ledger";
import { formatCount, kindTitle } from "./trapTree";

/** A run's cycles as a multiple of raw's: the report's overheadVsRaw is (cycles − raw) / raw, so 0 is "1.00×". */
function timesRaw(overhead: number): string {
  return `${(overhead + 1).toFixed(2)}×`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

// Theme-neutral colours per event kind (readable on dark and light themes).
const KIND_COLOURS: Record<EventKind, string> = {
  trap: "#e5534b",
  "vm-exit": "#d29922",
  hypercall: "#3fb950",
  ipc: "#2f81f7",
  "wedge-call": "#a371f7",
  inline: "#56d4dd",
  hole: "#f778ba",
  "missed-site": "#8b949e",
  exception: "#db6d28",
  "triple-fault": "#ff0000",
};

export interface SiteRow {
  label: string;
  address: number;
  catalogueId: string;
  mnemonic: string;
  /** backend → cycles at this site */
  cycles: Record<string, number>;
  total: number;
}

/** The costliest sites over all backends, by summed modelled cycles. */
export function topSites(run: RunJson, limit = 10): SiteRow[] {
  const rows = new Map<number, SiteRow>();
  for (const r of run.runs) {
    for (const s of r.ledger?.sites ?? []) {
      const row = rows.get(s.address) ?? { label: siteLabel(s), address: s.address, catalogueId: s.catalogueId, mnemonic: s.mnemonic, cycles: {}, total: 0 };
      row.cycles[r.backend] = (row.cycles[r.backend] ?? 0) + s.cycles;
      row.total += s.cycles;
      rows.set(s.address, row);
    }
  }
  return [...rows.values()].sort((a, b) => b.total - a.total || a.address - b.address).slice(0, limit);
}

/** Horizontal bars: one per backend, length ∝ modelled cycles. */
export function cyclesChart(run: RunJson): string {
  const rows = run.runs.map((r) => ({ backend: r.backend, cycles: r.ledger?.cycles ?? 0, overhead: r.overheadVsRaw }));
  const max = Math.max(1, ...rows.map((r) => r.cycles));
  const barH = 26, gap = 10, left = 60, width = 720, plot = width - left - 230;
  const height = rows.length * (barH + gap) + 10;
  const bars = rows
    .map((r, i) => {
      const y = 5 + i * (barH + gap);
      const w = Math.max(r.cycles > 0 ? 2 : 0, Math.round((r.cycles / max) * plot));
      const note = `${formatCount(r.cycles)} cycles${r.overhead !== undefined ? ` · ${timesRaw(r.overhead)} raw` : ""}`;
      return (
        `<g class="bar" data-backend="${escapeHtml(r.backend)}">` +
        `<text x="${left - 8}" y="${y + barH / 2 + 5}" text-anchor="end">${escapeHtml(r.backend)}</text>` +
        `<rect x="${left}" y="${y}" width="${w}" height="${barH}" rx="3" fill="#2f81f7"><title>${escapeHtml(r.backend)}: ${escapeHtml(note)}</title></rect>` +
        `<text x="${left + w + 6}" y="${y + barH / 2 + 5}">${escapeHtml(note)}</text></g>`
      );
    })
    .join("");
  return `<svg class="chart cycles" role="img" aria-label="Modelled cycles per backend" width="100%" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet">${bars}</svg>`;
}

/** Stacked bars: events per backend, one segment per event kind, with a legend. */
export function eventsChart(run: RunJson): string {
  const rows = run.runs.map((r) => {
    const kinds = EVENT_KINDS.map((k) => ({ kind: k, count: r.ledger?.events[k]?.count ?? 0 })).filter((k) => k.count > 0);
    return { backend: r.backend, kinds, total: kinds.reduce((n, k) => n + k.count, 0) };
  });
  const used = EVENT_KINDS.filter((k) => rows.some((r) => r.kinds.some((x) => x.kind === k)));
  const max = Math.max(1, ...rows.map((r) => r.total));
  const barH = 26, gap = 10, left = 60, width = 720, plot = width - left - 110;
  // The legend wraps onto more rows where an item would run past the chart's width.
  const itemWidth = (k: EventKind) => 24 + kindTitle(k).length * 7;
  const placed: { kind: EventKind; x: number; row: number }[] = [];
  for (const k of used) {
    const prev = placed[placed.length - 1];
    let x = prev ? prev.x + itemWidth(prev.kind) : left;
    let row = prev?.row ?? 0;
    if (prev && x + itemWidth(k) > width) {
      x = left;
      row++;
    }
    placed.push({ kind: k, x, row });
  }
  const legendRows = placed.length > 0 ? placed[placed.length - 1]!.row + 1 : 0;
  const legendH = legendRows * 20 + (legendRows > 0 ? 4 : 0);
  const height = rows.length * (barH + gap) + 10 + legendH;
  const bars = rows
    .map((r, i) => {
      const y = 5 + i * (barH + gap);
      let x = left;
      const segs = r.kinds
        .map((k) => {
          const w = Math.max(2, Math.round((k.count / max) * plot));
          const seg = `<rect class="seg" data-kind="${k.kind}" x="${x}" y="${y}" width="${w}" height="${barH}" fill="${KIND_COLOURS[k.kind]}"><title>${escapeHtml(r.backend)}: ${formatCount(k.count)} ${kindTitle(k.kind)}</title></rect>`;
          x += w;
          return seg;
        })
        .join("");
      return (
        `<g class="bar" data-backend="${escapeHtml(r.backend)}"><text x="${left - 8}" y="${y + barH / 2 + 5}" text-anchor="end">${escapeHtml(r.backend)}</text>${segs}` +
        `<text x="${x + 6}" y="${y + barH / 2 + 5}">${r.total > 0 ? formatCount(r.total) : "none"}</text></g>`
      );
    })
    .join("");
  const legendY = rows.length * (barH + gap) + 14;
  const legend = placed
    .map(({ kind: k, x, row }) => {
      const y = legendY + row * 20;
      return `<rect x="${x}" y="${y}" width="12" height="12" fill="${KIND_COLOURS[k]}"/><text x="${x + 16}" y="${y + 11}">${escapeHtml(kindTitle(k))}</text>`;
    })
    .join("");
  return `<svg class="chart events" role="img" aria-label="Events per backend by kind" width="100%" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet">${bars}${legend}</svg>`;
}

/** The whole page. `cspSource` is the webview's own source (for the CSP); no script runs. */
export function compareHtml(run: RunJson, options: { title?: string; cspSource?: string } = {}): string {
  const raw = run.runs.find((r) => r.backend === "raw");
  const title = options.title ?? `Compare backends — ${run.program}`;
  const summary = run.runs
    .map((r) => {
      const same = raw && r !== raw ? (r.console === raw.console ? "same as raw" : "differs from raw") : "";
      const holes = r.ledger?.holes.length ?? 0;
      const missed = r.ledger?.missedSites.length ?? 0;
      return (
        `<tr><th>${escapeHtml(r.backend)}</th><td>${escapeHtml(r.result.reason)}${r.result.exitCode !== undefined ? ` (${r.result.exitCode})` : ""}</td>` +
        `<td class="num">${formatCount(r.result.instructions)}</td><td class="num">${r.ledger ? formatCount(r.ledger.cycles) : "—"}</td>` +
        `<td class="num">${r.overheadVsRaw !== undefined ? timesRaw(r.overheadVsRaw) : "—"}</td>` +
        `<td>${escapeHtml(same)}</td><td class="num">${holes}</td><td class="num">${missed}</td></tr>`
      );
    })
    .join("");
  const sites = topSites(run);
  const backends = run.runs.map((r) => r.backend);
  const siteRows = sites
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.label)}</td><td><code>${escapeHtml(s.mnemonic)}</code></td><td>${escapeHtml(s.catalogueId)}</td><td><code>${hex(s.address)}</code></td>` +
        backends.map((b) => `<td class="num">${s.cycles[b] !== undefined ? formatCount(s.cycles[b]!) : ""}</td>`).join("") +
        `</tr>`,
    )
    .join("");
  const holes = run.runs.flatMap((r) => (r.ledger?.holes ?? []).map((h) => `<li><b>${escapeHtml(r.backend)}</b> ${escapeHtml(siteLabel(h))} <code>${escapeHtml(h.catalogueId)}</code>: ${escapeHtml(h.detail)}</li>`));
  const csp = `default-src 'none'; style-src 'unsafe-inline'${options.cspSource ? ` ${options.cspSource}` : ""}; img-src data:`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: var(--vscode-font-family, sans-serif); color: var(--vscode-foreground, #ccc); padding: 0 16px 24px; }
svg text { fill: var(--vscode-foreground, #ccc); font-size: 12px; }
svg.chart { max-width: 900px; display: block; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--vscode-panel-border, #444); text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
h2 { font-size: 1.1em; margin-top: 20px; }
</style></head>
<body>
<h1>Compare backends</h1>
<p title="${escapeHtml(run.program)}"><code>${escapeHtml(run.program.split(/[\\/]/).pop() ?? run.program)}</code> on ${run.runs.length} backend${run.runs.length === 1 ? "" : "s"}</p>
<h2>Modelled cycles per backend</h2>
${cyclesChart(run)}
<h2>Events per backend</h2>
${eventsChart(run)}
<h2>Runs</h2>
<table class="runs"><tr><th>backend</th><th>stopped</th><th>instructions</th><th>cycles</th><th>vs raw</th><th>console</th><th>holes</th><th>missed sites</th></tr>${summary}</table>
<h2>Top sites by modelled cycles</h2>
${sites.length ? `<table class="sites"><tr><th>site</th><th>instruction</th><th>catalogue</th><th>address</th>${backends.map((b) => `<th>${escapeHtml(b)}</th>`).join("")}</tr>${siteRows}</table>` : "<p>No site was hit on any backend.</p>"}
${holes.length ? `<h2>Virtualization holes</h2><ul class="holes">${holes.join("")}</ul>` : ""}
</body></html>`;
}
