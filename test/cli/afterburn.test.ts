// The `afterburn` command as a user runs it: the bundled bin, real files, real exit codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterburn as burnText } from "../../core/burn/afterburn.js";
import { readerGoesAway, toFullDisk, underFileSizeLimit } from "./stdio-helpers.js";

const bin = join(__dirname, "..", "..", "bin", "afterburn.js");

function afterburn(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("burn reads stdin and writes stdout", () => {
  const r = afterburn(["burn"], ".text\ncli\n");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /cli; \.fill \d+,1,0x90;/);
  assert.match(r.stdout, /\.pushsection \.afterburn,"",@progbits/);
});

test("burn -o and --sites write files; the sites file has the documented schema", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-cli-"));
  try {
    const input = join(dir, "k.s");
    writeFileSync(input, ".text\nf:\n\tmovl %eax, %cr3\n\tpushfl\n\tret\n");
    const r = afterburn(["burn", input, "-o", join(dir, "k.ab.s"), "--sites", join(dir, "k.json")]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(readFileSync(join(dir, "k.ab.s"), "utf8"), /movl %eax, %cr3; \.fill/);
    const sites = JSON.parse(readFileSync(join(dir, "k.json"), "utf8"));
    assert.equal(sites.schema, "afterburn-sites");
    assert.equal(sites.version, 1);
    assert.equal(sites.mode, 32);
    assert.deepEqual(sites.sites.map((s: { input: { line: number } }) => s.input.line), [3, 4]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("burn -o writes the bytes the string transform gives, for every kind of input; stdout too", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-cli-"));
  try {
    const kernel = Array.from({ length: 4000 }, (_, i) => (i % 7 === 0 ? "\tcli" : i % 11 === 0 ? "\tmovl %eax, %cr3" : `\tmovl ${i}(%ebp), %eax`)).join("\n") + "\n";
    const inputs: [string, Buffer, string[]][] = [
      ["ascii", Buffer.from(".text\n" + kernel), []],
      ["crlf", Buffer.from((".text\n" + kernel).replace(/\n/g, "\r\n")), []],
      ["non-ASCII", Buffer.from(`.text\nfé:\n${kernel.replace(/cli/g, "cli # 😀 é")}`), []],
      ["macro (full parser)", Buffer.from(".macro m r\n\tmovl %eax, \\r\n.endm\n\tm %cr3\n\tm %ebx\n" + kernel), []],
      ["invalid UTF-8", Buffer.concat([Buffer.from(".text\n\tcli # "), Buffer.from([0xff, 0x80]), Buffer.from("\n\tsti\n")]), []],
      ["64-bit, no annotation", Buffer.from(".text\n\tswapgs\n" + kernel), ["-m64", "--no-annotate"]],
      ["bad memop", Buffer.from(".text\n.afterburn_memop bogus\nmovl %eax,(%ebx)\ncli\n"), ["-q"]],
    ];
    inputs.push(["already afterburned", Buffer.from(burnText(inputs[0]![1].toString()).output), []]);
    for (const [label, bytes, flags] of inputs) {
      const input = join(dir, "in.s");
      writeFileSync(input, bytes);
      // Bytes that are not UTF-8 are one character each, written back as they were (as GNU as takes them).
      const encoding = label === "invalid UTF-8" ? "latin1" : "utf8";
      const text = readFileSync(input, encoding);
      const want = Buffer.from(burnText(text, { mode: flags.includes("-m64") ? 64 : 32, fileName: input, annotate: !flags.includes("--no-annotate") }).output, encoding);
      const r = afterburn(["burn", input, "-o", join(dir, "out.s"), ...flags]);
      assert.equal(r.status, label === "bad memop" ? 1 : 0, `${label}: ${r.stderr}`);
      assert.ok(readFileSync(join(dir, "out.s")).equals(want), `${label}: burn -o output differs`);
      const stdout = spawnSync(process.execPath, [bin, "burn", input, ...flags]).stdout;
      assert.ok(stdout.equals(want), `${label}: burn to stdout differs`);
    }
    assert.deepEqual(readdirSync(dir).sort(), ["in.s", "out.s"], "no temporary file left");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sites prints a table with positions and a summary", () => {
  const r = afterburn(["sites"], ".text\ncli\nsti\nmovl %eax,%ebx\nhlt\n");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /<stdin>:2:1\s+cli/);
  assert.match(r.stdout, /3 sites \(3 privileged\)/);
  const j = afterburn(["sites", "--json", "-m64"], ".text\nswapgs\n");
  assert.equal(JSON.parse(j.stdout).sites.length, 1);
});

test("sites prints the table of 200,000 sites (its column widths overflowed the stack from about 130,000)", () => {
  const r = spawnSync(process.execPath, [bin, "sites"], { input: ".text\n.rept 200000\n\tcli\n.endr\n", encoding: "utf8", maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr.slice(0, 500));
  assert.match(r.stdout, /\n200000 sites \(200000 privileged\)\n$/);
  assert.equal(r.stdout.split("\n").filter((l) => /^<stdin>:2:1\s+cli\s+privileged\s+-\s+cli   \[from \.rept\]$/.test(l)).length, 200_000);
});

test("errors: usage is 2, unreadable input is 3 with the file named, and no partial output file", () => {
  const u = afterburn(["burn", "--bogus"]);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown option --bogus/);
  const m = afterburn(["burn", "/nonexistent/x.s"]);
  assert.equal(m.status, 3);
  assert.match(m.stderr, /\/nonexistent\/x\.s: cannot read: ENOENT/);
  const dir = mkdtempSync(join(tmpdir(), "ab-cli-"));
  try {
    const out = join(dir, "missing-dir", "o.s");
    const w = afterburn(["burn", "-o", out], ".text\ncli\n");
    assert.equal(w.status, 3);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(afterburn(["frobnicate"]).status, 2);
  assert.equal(afterburn(["--help"]).status, 0);
  const sub = afterburn(["run", "--help"]);
  assert.equal(sub.status, 0);
  assert.match(sub.stdout, /afterburn run PROGRAM/);
  // Standard input that cannot be read is named as a file is.
  const folder = spawnSync(process.execPath, [bin, "burn"], { stdio: [openSync(tmpdir(), "r"), "pipe", "pipe"], encoding: "utf8" });
  assert.equal(folder.status, 3);
  assert.equal(folder.stderr, "afterburn: <stdin>: cannot read: EISDIR\n");
  // After `--` it is a file name, not a request for help.
  assert.equal(afterburn(["burn", "--", "--help"]).status, 3);
});

test("a reader that goes away (| head) ends burn, sites and --help quietly with 141, as SIGPIPE ends a C tool", async () => {
  // More than a pipe holds (64 KiB), so the command is still writing when the reader goes.
  const many = ".text\n" + "\tcli\n\tpushf\n".repeat(20_000);
  const cases: [string[], "stdout" | "stderr", string][] = [
    [["burn"], "stdout", many],
    [["sites"], "stdout", many],
    [["sites", "--json"], "stdout", many],
    [["burn", "-o", "/dev/null", "--sites", "-"], "stdout", many],
    // Warnings on stderr (a bad .afterburn_memop each), the output on stdout.
    [["burn", "-o", "/dev/null"], "stderr", ".text\n" + ".afterburn_memop bogus\n\tmovl %eax,(%ebx)\n".repeat(20_000)],
  ];
  for (const [args, closing, input] of cases) {
    const r = await readerGoesAway(bin, args, closing, input);
    assert.equal(r.status, 141, `${args.join(" ")}, ${closing} closed: status ${r.status} ${r.signal ?? ""}\n${r.other.slice(0, 1000)}`);
    assert.doesNotMatch(r.other, /EPIPE|Error|at /, `${args.join(" ")}: no message, no stack`);
  }
  const help = await readerGoesAway(bin, ["--help"], "stdout");
  assert.ok(help.status === 0 || help.status === 141, `--help fits in a pipe, or stops quietly: ${help.status}\n${help.other}`);
  assert.equal(help.other, "");
});

test("standard output that cannot take the output (full disk, file size limit): status 3 naming it, never 0 or a stack trace", () => {
  const many = ".text\n" + "\tcli\n".repeat(20_000);
  for (const args of [["burn"], ["sites"], ["sites", "--json"], ["--help"]]) {
    const r = toFullDisk(bin, args, many);
    assert.equal(r.status, 3, `${args.join(" ")} > /dev/full: ${r.stderr}`);
    assert.equal(r.stderr, "afterburn: standard output: cannot write: ENOSPC\n");
  }
  const dir = mkdtempSync(join(tmpdir(), "ab-cli-"));
  try {
    // A write the limit cuts short is not the end of it: the rest fails, and says so.
    const out = join(dir, "out.s");
    const r = underFileSizeLimit(bin, ["burn"], out, 16, many);
    assert.equal(r.status, 3, `burn > out.s under ulimit -f 16: ${r.stderr}`);
    assert.equal(r.stderr, "afterburn: standard output: cannot write: EFBIG\n");
    // -o writes beside and renames: the limit leaves no cut-short output, nor the file beside it.
    const o = underFileSizeLimit(bin, ["burn", "-o", join(dir, "o.s")], join(dir, "log"), 16, many);
    assert.equal(o.status, 3, o.stderr);
    assert.match(o.stderr, /o\.s: cannot write: EFBIG/);
    assert.deepEqual(readdirSync(dir).sort(), ["log", "out.s"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a bad .afterburn_memop is an error with file:line", () => {
  const r = afterburn(["burn"], ".text\n.afterburn_memop bogus\nmovl %eax,(%ebx)\n");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /<stdin>:2:\d+: error: \.afterburn_memop: unknown kind 'bogus'/);
});

test("afterburn-lsp and afterburn-dap are real entry points that answer their protocol's initialize on stdio", async () => {
  const frame = (body: object) => {
    const json = JSON.stringify(body);
    return `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
  };
  const cases: [string, string[], object, RegExp][] = [
    ["afterburn-lsp", ["--stdio"], { jsonrpc: "2.0", id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } }, /"hoverProvider":true/],
    ["afterburn-dap", [], { seq: 1, type: "request", command: "initialize", arguments: { adapterID: "afterburn" } }, /"command":"initialize"/],
  ];
  for (const [name, args, request, answer] of cases) {
    const child = spawn(process.execPath, [join(__dirname, "..", "..", "bin", `${name}.js`), ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not answer initialize: ${out}`)), 20_000);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString("utf8");
        if (answer.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code} before answering: ${out}`));
      });
    });
    child.stdin.write(frame(request));
    try {
      await answered;
      assert.match(out, /Content-Length: \d+\r\n\r\n/);
    } finally {
      child.kill();
    }
  }
});
