// The "afterburn" settings section (contract C), pulled with workspace/configuration or pushed with
// didChangeConfiguration. Anything missing or malformed falls back to the default.

export type SeveritySetting = "error" | "warning" | "information" | "hint" | "off";

export interface Settings {
  diagnostics: { privileged: SeveritySetting; sensitive: SeveritySetting; platform: SeveritySetting };
  inlayHints: { padding: boolean };
  compileCommands: string;
  /** Include folders for files no compile command covers (relative ones against the first workspace folder). */
  includePaths: string[];
  maxAnalysisLines: number;
  toolchain: { gcc: string; as: string; ld: string };
  backend: string;
}

export const DEFAULT_SETTINGS: Settings = {
  diagnostics: { privileged: "warning", sensitive: "warning", platform: "information" },
  inlayHints: { padding: true },
  compileCommands: "",
  includePaths: [],
  maxAnalysisLines: 200_000,
  toolchain: { gcc: "gcc", as: "as", ld: "ld" },
  backend: "raw",
};

const SEVERITIES: ReadonlySet<string> = new Set(["error", "warning", "information", "hint", "off"]);

/** Reads a value by dotted key from a nested object, or from a flat object with dotted keys. */
function pick(raw: unknown, key: string): unknown {
  if (raw === null || typeof raw !== "object") return undefined;
  const obj = raw as Record<string, unknown>;
  if (key in obj) return obj[key];
  const dot = key.indexOf(".");
  if (dot < 0) return undefined;
  return pick(obj[key.slice(0, dot)], key.slice(dot + 1));
}

/** Settings from whatever a client sent for the "afterburn" section. */
export function readSettings(raw: unknown): Settings {
  const sev = (key: string, d: SeveritySetting): SeveritySetting => {
    const v = pick(raw, key);
    return typeof v === "string" && SEVERITIES.has(v) ? (v as SeveritySetting) : d;
  };
  const str = (key: string, d: string): string => {
    const v = pick(raw, key);
    return typeof v === "string" ? v : d;
  };
  const d = DEFAULT_SETTINGS;
  const hints = pick(raw, "inlayHints.padding");
  const max = pick(raw, "maxAnalysisLines");
  const includes = pick(raw, "includePaths");
  return {
    diagnostics: {
      privileged: sev("diagnostics.privileged", d.diagnostics.privileged),
      sensitive: sev("diagnostics.sensitive", d.diagnostics.sensitive),
      platform: sev("diagnostics.platform", d.diagnostics.platform),
    },
    inlayHints: { padding: typeof hints === "boolean" ? hints : d.inlayHints.padding },
    compileCommands: str("compileCommands", d.compileCommands),
    includePaths: Array.isArray(includes) ? includes.filter((x): x is string => typeof x === "string" && x.length > 0) : d.includePaths,
    maxAnalysisLines: typeof max === "number" && Number.isFinite(max) && max >= 1 ? Math.floor(max) : d.maxAnalysisLines,
    toolchain: { gcc: str("toolchain.gcc", d.toolchain.gcc) || "gcc", as: str("toolchain.as", d.toolchain.as) || "as", ld: str("toolchain.ld", d.toolchain.ld) || "ld" },
    backend: str("backend", d.backend) || "raw",
  };
}
