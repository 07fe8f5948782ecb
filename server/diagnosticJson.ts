// The JSON of publishDiagnostics, made fast. A large document publishes hundreds of diagnostics on
// every edit, nearly all of them the very objects published the edit before (features.ts keeps a
// site's Diagnostic while the site neither moves nor changes). Their encoded JSON is kept per object
// (non-ASCII characters written as \u escapes, so the bytes are plain ASCII) and a message is the
// concatenation of those bytes: the same JSON value JSON.stringify would give, without stringifying
// and UTF-8-encoding the whole list again on every keystroke.

import type { Message } from "vscode-languageserver/node";

/**
 * A diagnostic's encoded JSON: `lead` (ASCII text) then `src` from byte `from` on. A diagnostic as
 * made has no lead and `src` is all of its JSON; `head` is then the length of its leading
 * `{"range":…,` when range is its first key (else 0). A moved one (lines inserted or deleted above
 * it) is its new `{"range":…,` as lead and the original's bytes after its head: no buffer of its
 * own, because a line edit moves every later diagnostic, and hundreds of small buffers per
 * keystroke are fresh memory to allocate, fault in and collect.
 */
interface Encoded {
  lead: string;
  src: Buffer;
  from: number;
  length: number;
  head: number;
  /**
   * The publish that last wrote it (its `generation`; 0: none) and its index there. Kept here
   * rather than in a map per publish: filling a map of every diagnostic on every keystroke was most
   * of the encoding's garbage.
   */
  publish: number;
  at: number;
}
const kept = new WeakMap<object, Encoded>();

/** Writes an encoding into out at p; returns the bytes written. */
function writeEncoded(k: Encoded, out: Buffer, p: number): number {
  const n = k.lead.length > 0 ? out.write(k.lead, p, "latin1") : 0;
  return n + k.src.copy(out, p + n, k.from);
}

/** JSON with every character above U+007E escaped (still valid JSON for the same value). */
function asciiJson(value: unknown): string {
  const s = JSON.stringify(value) ?? "null";
  return /[^\x00-\x7e]/.test(s) ? s.replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : s;
}

/** Moved diagnostics not encoded when made: the earlier diagnostic each equals but for its range. */
const movedFrom = new WeakMap<object, object>();

/**
 * A copy of a diagnostic moved to a one-line range given as numbers (a site's line and columns: its
 * lines moved). Its JSON is the earlier one's kept bytes with only the range written anew, straight
 * from the numbers; when the earlier diagnostic's JSON is kept (it was published), the copy's
 * encoding is made at once. A line edit moves every later site: lookups and checks per site at
 * publish were most of such an edit's encoding.
 */
export function movedDiagnosticAt<T extends { range: unknown }>(earlier: T, line: number, start: number, end: number): T {
  const d = { ...earlier, range: { start: { line, character: start }, end: { line, character: end } } } as T;
  const origin = movedFrom.get(earlier) ?? earlier;
  const k = kept.get(origin);
  if (k !== undefined && k.head > 0 && isIndex(line) && isIndex(start) && isIndex(end)) {
    const lead = `{"range":{"start":{"line":${line},"character":${start}},"end":{"line":${line},"character":${end}}},`;
    kept.set(d, movedEncoding(lead, k));
  } else movedFrom.set(d, origin);
  return d;
}

/** A non-negative integer, as JSON writes it digit for digit. */
function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** The encoding of a diagnostic equal to the one encoded as k but for its range, whose JSON is `lead`. */
function movedEncoding(lead: string, k: Encoded): Encoded {
  // The part after the range: from k's head when k is as made, else where k's own tail starts.
  const from = k.lead.length === 0 ? k.head : k.from;
  return { lead, src: k.src, from, length: lead.length + k.src.length - from, head: lead.length, publish: 0, at: 0 };
}

function encodeDiagnostic(d: object): Encoded {
  let k = kept.get(d);
  if (k !== undefined) return k;
  const range = (d as { range?: unknown }).range;
  const from = movedFrom.get(d);
  if (from !== undefined) {
    // `{"range":…,` then the rest exactly as the earlier diagnostic had it (range is the first key of both).
    const earlier = encodeDiagnostic(from);
    if (earlier.head > 0) k = movedEncoding(`{"range":${asciiJson(range)},`, earlier);
  }
  if (k === undefined) {
    const text = asciiJson(d);
    const head = range !== undefined ? `{"range":${asciiJson(range)},` : "";
    const bytes = Buffer.from(text, "latin1");
    k = { lead: "", src: bytes, from: 0, length: bytes.length, head: head.length > 0 && text.startsWith(head) ? head.length : 0, publish: 0, at: 0 };
  }
  kept.set(d, k);
  return k;
}

/** The encoding of any diagnostic value, kept per object. */
function diagnosticEncoding(d: unknown): Encoded {
  if (d === null || typeof d !== "object") {
    const bytes = Buffer.from(asciiJson(d), "latin1");
    return { lead: "", src: bytes, from: 0, length: bytes.length, head: 0, publish: 0, at: 0 };
  }
  return encodeDiagnostic(d);
}

/**
 * The last publishDiagnostics encoded per URI: its diagnostics in order, where each one's bytes
 * start in it, and the bytes. Between two keystrokes nearly the whole list is the same objects in
 * the same order, and a run of them is copied from there in one piece rather than one by one.
 */
interface Published {
  diagnostics: readonly unknown[];
  /** Its number among all publishes (the `publish` of the encodings it wrote). */
  generation: number;
  starts: Int32Array;
  bytes: Buffer;
  /** Which of the URI's two output buffers holds bytes. */
  slot: number;
}
const published = new Map<string, Published>();
let generations = 0;

/**
 * How the last message was encoded: diagnostics copied from the previous publish's bytes (in runs
 * of two or more) and diagnostics written from their own encodings (both 0 for any other message).
 * For the tests.
 */
export const lastAssembly = { copied: 0, written: 0 };

/**
 * Two output buffers per URI, used in turn: one holds the last publish (copied from), the other
 * takes the next. A fresh half-megabyte buffer on every keystroke is external memory V8 answers
 * with full garbage collections of the whole (large) heap; these pause the server for tens of ms.
 */
const outputs = new Map<string, [Buffer | undefined, Buffer | undefined]>();

/**
 * The JSON bytes of a message; publishDiagnostics is assembled from each diagnostic's kept bytes.
 * With `reuse`, the caller promises that every buffer returned before has been written out: a
 * publish may then be made in a buffer of an earlier publish of the same URI (the one before the
 * last), so a returned buffer is only valid until the second-next publish for its URI.
 */
export function encodeMessage(msg: Message, reuse = false): Buffer {
  lastAssembly.copied = 0;
  lastAssembly.written = 0;
  const m = msg as { method?: unknown; params?: { uri?: unknown; diagnostics?: unknown } };
  const diagnostics = m.params?.diagnostics;
  if (m.method === "textDocument/publishDiagnostics" && Array.isArray(diagnostics)) {
    const uri = typeof m.params?.uri === "string" ? m.params.uri : undefined;
    if (diagnostics.length === 0) {
      if (uri !== undefined) {
        // A closed document publishes nothing more: its bytes and buffers go.
        published.delete(uri);
        outputs.delete(uri);
      }
    } else {
      const shell = asciiJson({ ...m, params: { ...m.params, diagnostics: [] } });
      const at = shell.lastIndexOf('"diagnostics":[]');
      if (at >= 0) return assemble(uri, shell, at + '"diagnostics":['.length, diagnostics, reuse);
    }
  }
  return Buffer.from(JSON.stringify(msg), "utf8");
}

function assemble(uri: string | undefined, shell: string, cut: number, diagnostics: readonly unknown[], reuse: boolean): Buffer {
  const n = diagnostics.length;
  const parts: Encoded[] = new Array(n);
  let total = shell.length + n - 1;
  for (let i = 0; i < n; i++) {
    const k = diagnosticEncoding(diagnostics[i]);
    parts[i] = k;
    total += k.length;
  }
  const prev = uri !== undefined ? published.get(uri) : undefined;
  const slot = prev === undefined ? 0 : prev.slot ^ 1;
  let out: Buffer;
  if (uri === undefined) out = Buffer.allocUnsafe(total);
  else {
    let pair = outputs.get(uri);
    if (pair === undefined) outputs.set(uri, (pair = [undefined, undefined]));
    const spare = pair[slot];
    if (reuse && spare !== undefined && spare.length >= total) out = spare;
    else {
      // Room to grow: the next publishes of this document are about as long.
      out = Buffer.allocUnsafeSlow(total + (total >> 3));
      pair[slot] = out;
    }
  }
  let p = out.write(shell.slice(0, cut), 0, "latin1");
  const starts = new Int32Array(n);
  const generation = ++generations;
  let copied = 0;
  for (let i = 0; i < n; ) {
    const d = diagnostics[i];
    // Where the previous publish wrote this object, if it did (the same object twice: its last place).
    const j = parts[i].at;
    if (prev !== undefined && parts[i].publish === prev.generation && prev.diagnostics[j] === d) {
      // The longest run that follows the previous publish object for object: one copy, commas included.
      let k = 1;
      while (i + k < n && j + k < prev.diagnostics.length && diagnostics[i + k] === prev.diagnostics[j + k]) k++;
      if (k > 1) {
        if (i > 0) out[p++] = 0x2c;
        const from = prev.starts[j];
        const to = prev.starts[j + k - 1] + parts[i + k - 1].length;
        prev.bytes.copy(out, p, from, to);
        for (let q = 0; q < k; q++) {
          starts[i + q] = p + prev.starts[j + q] - from;
          parts[i + q].publish = generation;
          parts[i + q].at = i + q;
        }
        p += to - from;
        i += k;
        copied += k;
        continue;
      }
    }
    if (i > 0) out[p++] = 0x2c;
    starts[i] = p;
    parts[i].publish = generation;
    parts[i].at = i;
    p += writeEncoded(parts[i], out, p);
    i++;
  }
  p += out.write(shell.slice(cut), p, "latin1");
  lastAssembly.copied = copied;
  lastAssembly.written = n - copied;
  const bytes = out.length === p ? out : out.subarray(0, p);
  if (uri !== undefined) published.set(uri, { diagnostics: diagnostics.slice(), generation, starts, bytes, slot });
  return bytes;
}
