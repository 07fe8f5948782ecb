// Markdown for hovers and docs, built from a catalogue record only.

import { COSTS } from "./costs.js";
import type { CatalogueEntry } from "./types.js";
import { BACKENDS } from "./types.js";

const CLASS_TEXT: Record<CatalogueEntry["class"], string> = {
  privileged: "privileged (faults when deprivileged)",
  sensitive: "sensitive but unprivileged (runs deprivileged with a wrong result)",
  platform: "platform (a virtual platform must see it)",
  memory: "annotated memory/device operation",
};

function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/** Hover text: meaning, class, padding, rewrite and the per-backend table. */
export function describe(entry: CatalogueEntry): string {
  const pad =
    entry.padding64 !== undefined && entry.padding64 !== entry.padding
      ? `${entry.padding} NOP bytes (${entry.padding64} in 64-bit code)`
      : `${entry.padding} NOP bytes`;
  const room =
    entry.rewrite.room64 !== undefined && entry.rewrite.room64 !== entry.rewrite.room
      ? `${entry.rewrite.room} bytes (${entry.rewrite.room64} in 64-bit code)`
      : `${entry.rewrite.room} bytes`;
  const modes = entry.modes.join(", ");
  const lines = [
    `**${entry.mnemonics[0]}** — ${entry.meaning}`,
    "",
    `*Class:* ${CLASS_TEXT[entry.class]} · *modes:* ${modes} · \`${entry.id}\``,
    "",
    `*Why:* ${entry.why}`,
    "",
    ...(entry.feature !== undefined ? [`*Needs:* CPUID feature ${entry.feature} (#UD without it, before any privilege check or VM exit)`, ""] : []),
    `*Padding:* ${pad}` + (entry.originalPadding !== undefined ? ` (original afterburner: ${entry.originalPadding})` : ""),
    "",
    `*Rewrite (${entry.rewrite.kind}, ${room}):* ${entry.rewrite.description}`,
    "",
    "| backend | what happens | cost |",
    "|---|---|---|",
    ...BACKENDS.map((b) => {
      const be = entry.backends[b];
      const c = COSTS[be.cost];
      const cost = c ? `${be.cost} (~${c.cycles} cycles)` : be.cost;
      return `| ${b} | ${cell(be.action)}: ${cell(be.detail)} | ${cell(cost)} |`;
    }),
  ];
  return lines.join("\n");
}
