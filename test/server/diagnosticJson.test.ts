// The publishDiagnostics encoder: assembled from kept per-diagnostic JSON, it is the same JSON value.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeMessage, lastAssembly, movedDiagnosticAt } from "../../server/diagnosticJson.js";
import type { Message } from "vscode-languageserver/node";
import { prng } from "../prng.js";

function publish(diagnostics: unknown[], uri = "file:///tmp/a%20b.S"): Message {
  return { jsonrpc: "2.0", method: "textDocument/publishDiagnostics", params: { uri, version: 3, diagnostics } } as Message;
}

test("publishDiagnostics encodes to the same value, ASCII only", () => {
  const d1 = { range: { start: { line: 1, character: 2 }, end: { line: 1, character: 5 } }, severity: 2, code: "cli", source: "afterburn", message: "cli: privileged — \"quoted\" \\ 𝄞 é\u2028", data: { id: "cli", padding: 6, annotated: true } };
  const d2 = { range: { start: { line: 9, character: 0 }, end: { line: 9, character: 1 } }, message: "plain", relatedInformation: [{ location: { uri: "file:///ü", range: d1.range }, message: "ß" }] };
  const msg = publish([d1, d2]);
  const bytes = encodeMessage(msg);
  assert.ok(bytes.every((b) => b < 0x7f));
  const text = bytes.toString("utf8");
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(msg)));
  // The same objects again (kept JSON), in another order and with a new one.
  const d3 = { ...d1, message: "new" };
  const again = publish([d2, d3, d1]);
  assert.deepEqual(JSON.parse(encodeMessage(again).toString("utf8")), JSON.parse(JSON.stringify(again)));
});

test("other messages and empty diagnostics are plain JSON.stringify", () => {
  const empty = publish([]);
  assert.equal(encodeMessage(empty).toString("utf8"), JSON.stringify(empty));
  const response = { jsonrpc: "2.0", id: 4, result: { contents: "é" } } as Message;
  assert.equal(encodeMessage(response).toString("utf8"), JSON.stringify(response));
});

test("a moved diagnostic encodes with its new range and everything else as before", () => {
  const d = { range: { start: { line: 4, character: 1 }, end: { line: 4, character: 4 } }, severity: 2, code: "sti", source: "afterburn", message: "sti — x", relatedInformation: [{ location: { uri: "file:///h.h", range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } } }, message: "é" }] };
  // Moved before d was ever published: encoded at publish, from d's JSON.
  const early = movedDiagnosticAt(d, 3, 1, 4);
  encodeMessage(publish([d]));
  // Moved after: encoded at once; moved twice: from the first move's encoding.
  const moved = movedDiagnosticAt(d, 5, 1, 4);
  const twice = movedDiagnosticAt(moved, 7, 0, 9);
  const thrice = movedDiagnosticAt(twice, 12, 2, 2);
  const msg = publish([early, moved, twice, thrice, d]);
  const bytes = encodeMessage(msg);
  assert.ok(bytes.every((b) => b < 0x7f));
  assert.deepEqual(JSON.parse(bytes.toString("utf8")), JSON.parse(JSON.stringify(msg)));
  assert.deepEqual(Object.keys(thrice), Object.keys(d));
  assert.deepEqual(thrice.range, { start: { line: 12, character: 2 }, end: { line: 12, character: 2 } });
});

test("a diagnostic moved to numbers that are not line or column indexes (NaN, -1, 2.5, 2^53, Infinity), or whose range is not its first key, is encoded the generic way", () => {
  const d = { range: { start: { line: 1, character: 0 }, end: { line: 1, character: 3 } }, message: "m" };
  encodeMessage(publish([d]));
  for (const [line, start, end] of [[2.5, 0, 3], [Number.NaN, 0, 1], [-1, 0, 2], [2 ** 53, 1, 2], [2, 0, Number.POSITIVE_INFINITY]]) {
    const msg = publish([movedDiagnosticAt(d, line, start, end)]);
    const bytes = encodeMessage(msg);
    assert.ok(bytes.every((b) => b < 0x7f));
    assert.deepEqual(JSON.parse(bytes.toString("utf8")), JSON.parse(JSON.stringify(msg)));
  }
  const last = { message: "range last", range: { start: { line: 1, character: 0 }, end: { line: 1, character: 3 } } };
  encodeMessage(publish([last]));
  const msg = publish([movedDiagnosticAt(last, 4, 0, 3)]);
  assert.deepEqual(JSON.parse(encodeMessage(msg).toString("utf8")), JSON.parse(JSON.stringify(msg)));
});

for (const reuse of [false, true]) test(`publishes that reuse the last one's runs (same objects, same order) are the same JSON as a fresh stringify${reuse ? ", made in reused buffers" : ""}`, () => {
  const rnd = prng(reuse ? 8 : 7);
  const buffers = new Set<ArrayBufferLike>();
  let publishes = 0;
  const pool = Array.from({ length: 60 }, (_, i) => ({
    range: { start: { line: i, character: 1 }, end: { line: i, character: 4 + (i % 3) } },
    severity: 1 + (i % 4),
    code: `c${i}`,
    source: "afterburn",
    message: i % 9 === 0 ? `m${i} — é 𝄞` : `m${i}`,
  }));
  const lists = new Map<string, unknown[]>([["file:///a.S", pool.slice(0, 30)], ["file:///b.S", pool.slice(20, 50)]]);
  for (let round = 0; round < 300; round++) {
    const uri = rnd() < 0.5 ? "file:///a.S" : "file:///b.S";
    let list = lists.get(uri)!.slice();
    const r = rnd();
    // Edits of the kinds a keystroke makes: one replaced, one moved, some inserted or removed, a duplicate, a clear.
    if (r < 0.3) {
      // Moved from a pool diagnostic, or from one in the list (which may itself have moved before).
      const from = r < 0.15 || list.length === 0 ? pool[Math.floor(rnd() * pool.length)] : (list[Math.floor(rnd() * list.length)] as (typeof pool)[number]);
      list[Math.floor(rnd() * list.length)] = movedDiagnosticAt(from, round, 0, 2);
    }
    else if (r < 0.5) list.splice(Math.floor(rnd() * (list.length + 1)), 0, pool[Math.floor(rnd() * pool.length)]);
    else if (r < 0.7) list.splice(Math.floor(rnd() * list.length), 1 + Math.floor(rnd() * 3));
    else if (r < 0.8) list.push(list[0]);
    else if (r < 0.85) list = [];
    else if (r < 0.9) list = pool.slice(Math.floor(rnd() * 40)).reverse();
    if (list.length === 0 && rnd() < 0.5) list = pool.slice(0, 5);
    lists.set(uri, list);
    const msg = publish(list, uri);
    const bytes = encodeMessage(msg, reuse);
    if (list.length > 0) {
      buffers.add(bytes.buffer);
      publishes++;
    }
    assert.ok(bytes.every((b) => b < 0x7f), `round ${round}`);
    assert.deepEqual(JSON.parse(bytes.toString("utf8")), JSON.parse(JSON.stringify(msg)), `round ${round}`);
  }
  // Reused: a few buffers per document (they grow now and then); otherwise one per publish.
  if (reuse) assert.ok(buffers.size < publishes / 4, `${buffers.size} buffers for ${publishes} publishes`);
  else assert.equal(buffers.size, publishes);
});

test("a publish copies the diagnostics the previous publish of its URI wrote, in runs, and writes only the others", () => {
  const uri = "file:///tmp/runs.S";
  const other = "file:///tmp/other.S";
  const list = Array.from({ length: 40 }, (_, i) => ({ range: { start: { line: i, character: 0 }, end: { line: i, character: 3 } }, code: "cli", message: `site ${i}` }));
  const check = (diagnostics: unknown[], at: string) => {
    const msg = publish(diagnostics, at);
    assert.deepEqual(JSON.parse(encodeMessage(msg, true).toString("utf8")), JSON.parse(JSON.stringify(msg)));
  };
  check(list, uri);
  assert.deepEqual(lastAssembly, { copied: 0, written: 40 });
  check(list, uri);
  assert.deepEqual(lastAssembly, { copied: 40, written: 0 });
  // One new diagnostic in the middle, one dropped near the end: two runs around it are copied.
  const fresh = { range: { start: { line: 20, character: 1 }, end: { line: 20, character: 2 } }, message: "new" };
  const edited = [...list.slice(0, 20), fresh, ...list.slice(20, 35), ...list.slice(36)];
  check(edited, uri);
  assert.deepEqual(lastAssembly, { copied: 39, written: 1 });
  // Published meanwhile under another URI: the objects' last place is there, so this URI writes them anew, correctly.
  check(list.slice(0, 10), other);
  check(edited, uri);
  assert.deepEqual(lastAssembly, { copied: 30, written: 10 });
  // The same objects twice in a list: the JSON is still right. The first pair follows the previous
  // publish and is copied; the second pair's objects were just written in this publish, and the
  // last one's run is too short to copy. Next time each object is found at its last place: again
  // a run of two.
  const twice = [list[0], list[1], list[0], list[1], list[2]];
  check(twice, uri);
  assert.deepEqual(lastAssembly, { copied: 2, written: 3 });
  check(twice, uri);
  assert.deepEqual(lastAssembly, { copied: 2, written: 3 });
  // Any other message says nothing was assembled.
  check([], uri);
  assert.deepEqual(lastAssembly, { copied: 0, written: 0 });
});
