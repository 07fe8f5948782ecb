// The workspace index (core/asm/workspace.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkspaceIndex } from "../../../core/asm/workspace.js";

test("the sliced scan lets the event loop run between files (a real tree takes over a second) and indexes what the plain scan does", async () => {
  const dir = mkdtempSync(join(tmpdir(), "asm-index-"));
  try {
    mkdirSync(join(dir, "sub"));
    for (let i = 0; i < 6; i++) writeFileSync(join(dir, i % 2 ? "sub" : "", `f${i}.S`), `entry_${i}:\n\tcli\n`);
    const plain = new WorkspaceIndex();
    plain.scanFolder(dir);
    const sliced = new WorkspaceIndex();
    // Slices of 0 ms: a turn of the event loop after every file.
    const done = sliced.scanFolderInSlices(dir, 0);
    let seenMidway = -1;
    setImmediate(() => (seenMidway = sliced.fileCount));
    await done;
    assert.ok(seenMidway > 0 && seenMidway < 6, `files indexed when another task ran: ${seenMidway}`);
    assert.equal(sliced.fileCount, 6);
    assert.deepEqual(sliced.paths().sort(), plain.paths().sort());
    assert.deepEqual(sliced.search("entry_").map((s) => s.name).sort(), plain.search("entry_").map((s) => s.name).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
