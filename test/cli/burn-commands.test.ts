// `afterburn burn` and `afterburn sites` against each other and against the file system, run as a
// user runs them: the bundled bin, real files, real exit codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = join(__dirname, "..", "..", "bin", "afterburn.js");

function afterburn(args: string[], input?: string, cwd?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: "utf8", cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "ab-burn-cli-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("sites --json lists what burn --sites lists: padding, annotated, and why a site is not annotated", () => {
  withDir((dir) => {
    const input = join(dir, "k.s");
    writeFileSync(input, [".text", "\tcli", ".afterburn_noannotate", "\tsti", ".afterburn_annotate", ".code16", "\thlt", ".code32", "\tmovl %eax, %cr3", ""].join("\n"));
    for (const mode of ["-m32", "-m64"]) {
      const b = afterburn(["burn", input, "-o", join(dir, "k.ab.s"), "--sites", join(dir, "k.json"), mode]);
      assert.equal(b.status, 0, b.stderr);
      const s = afterburn(["sites", input, "--json", mode]);
      assert.equal(s.status, 0, s.stderr);
      assert.equal(s.stdout, readFileSync(join(dir, "k.json"), "utf8"), mode);
      const sites = JSON.parse(s.stdout).sites as { annotated: boolean; padding: number; reason?: string }[];
      assert.deepEqual(sites.map((x) => x.annotated), [true, false, false, true]);
      assert.ok(sites[0].padding > 0);
      assert.match(sites[1].reason!, /noannotate/);
      assert.match(sites[2].reason!, /16-bit/);
    }
  });
});

test("an output file that cannot be written is named, not the temporary file beside it", () => {
  withDir((dir) => {
    const out = join(dir, "missing-dir", "o.s");
    for (const args of [["-o", out], ["-o", join(dir, "o.s"), "--sites", out]]) {
      const r = afterburn(["burn", ...args], ".text\ncli\n");
      assert.equal(r.status, 3, args.join(" "));
      assert.equal(r.stderr, `afterburn: ${out}: cannot write: ENOENT\n`, args.join(" "));
    }
  });
});

test("sites on an already afterburned file says so, instead of 'no sensitive instructions'", () => {
  const burnt = afterburn(["burn"], ".text\ncli\n");
  assert.equal(burnt.status, 0, burnt.stderr);
  const r = afterburn(["sites"], burnt.stdout);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^<stdin>:1:1: warning: input is already afterburned/);
});

test("-o onto a FIFO or device writes into it, and onto a symlink writes its target: none is replaced by a regular file", async () => {
  // Written beside and renamed over, `-o /dev/null` as root replaced the device with a file.
  const dir = mkdtempSync(join(tmpdir(), "ab-burn-cli-"));
  try {
    const fifo = join(dir, "fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const reader = spawn("cat", [fifo]);
    const read = new Promise<string>((resolve) => {
      let got = "";
      reader.stdout.on("data", (d: Buffer) => (got += d.toString()));
      reader.on("close", () => resolve(got));
    });
    const r = spawnSync(process.execPath, [bin, "burn", "-o", fifo], { input: ".text\ncli\n", encoding: "utf8", timeout: 20_000 });
    const isFifo = statSync(fifo).isFIFO();
    if (!isFifo) reader.kill(); // nothing will ever write to the FIFO it has open
    assert.ok(isFifo, "still a FIFO");
    assert.equal(r.status, 0, r.stderr);
    assert.match(await read, /cli; \.fill/);

    const target = join(dir, "real.s");
    writeFileSync(target, "old\n");
    const link = join(dir, "link.s");
    symlinkSync("real.s", link);
    const l = afterburn(["burn", "-o", link], ".text\ncli\n");
    assert.equal(l.status, 0, l.stderr);
    assert.ok(lstatSync(link).isSymbolicLink(), "still a symlink");
    assert.equal(readlinkSync(link), "real.s");
    assert.match(readFileSync(target, "utf8"), /cli; \.fill/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("burn and sites read .include'd files as GNU as does (current folder, then -I); --sites - writes the list to stdout", () => {
  withDir((dir) => {
    mkdirSync(join(dir, "inc"));
    writeFileSync(join(dir, "inc", "m.inc"), ".macro OFF\n\tcli\n.endm\n\thlt\n");
    writeFileSync(join(dir, "k.s"), '\t.include "m.inc"\n\tOFF\n');
    let r = afterburn(["sites", "k.s", "-I", "inc"], undefined, dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^inc\/m\.inc:4:2 +hlt /m);
    assert.match(r.stdout, /^k\.s:2:2 +cli /m);
    r = afterburn(["burn", "k.s", "-I", "inc", "-o", "out.s", "--sites", "-"], undefined, dir);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).sites.map((x: { id: string; annotated: boolean }) => [x.id, x.annotated]), [["hlt", true], ["cli", true]]);
    assert.equal(spawnSync("as", ["--32", "out.s", "-o", "out.o"], { cwd: dir }).status, 0);
    // Without -I the file is not found: it stays for GNU as, with the afterburner's warning.
    r = afterburn(["burn", "k.s"], undefined, dir);
    assert.match(r.stderr, /include/);
    assert.match(r.stdout, /\.include "m\.inc"/);
    assert.equal(afterburn(["burn", "k.s", "--sites", "-"], undefined, dir).status, 2, "both on stdout is a usage error");
  });
});

test("bytes that are not UTF-8 (a Latin-1 .ascii) come out as they went in, to a file and to stdout", () => {
  withDir((dir) => {
    const input = Buffer.from('\t.ascii "na\xefve"\n\tcli\n', "latin1");
    writeFileSync(join(dir, "l.s"), input);
    const r = spawnSync(process.execPath, [bin, "burn", "l.s"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(r.stdout.includes(Buffer.from('"na\xefve"', "latin1")), r.stdout.toString("latin1"));
    assert.equal(afterburn(["burn", "l.s", "-o", "o.s"], undefined, dir).status, 0);
    assert.ok(readFileSync(join(dir, "o.s")).includes(Buffer.from('"na\xefve"', "latin1")));
  });
});
