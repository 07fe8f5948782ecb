// Building and running a guest the way Afterburn & Run does, with the real toolchain and bundles
// (dist/ must be built: `npm test` builds first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  afterburnedName,
  checkToolchain,
  missingToolchainMessage,
  planAfterburnFile,
  planGuestBuild,
  runProcess,
  runStep,
  toolEnv,
  type Bundles,
} from "../../client/model/guestBuild";
import { parseRunJson } from "../../client/model/ledger";
import { readAnnotationRecords, readElf } from "../../core/toolchain/index.js";

const root = join(__dirname, "..", "..");
const bundles: Bundles = { root, node: process.execPath };
const haveBundles = existsSync(join(root, "dist", "afterburn.js")) && existsSync(join(root, "dist", "afterburn-cc.js"));
const readFile = (p: string) => readFileSync(p, "utf8");

test("a missing tool is named, with the install command", async () => {
  const missing = await checkToolchain({ gcc: "/nonexistent/gcc-13", as: "as" });
  assert.deepEqual(missing.map((m) => m.tool), ["gcc"]);
  const msg = missingToolchainMessage(missing);
  assert.match(msg, /gcc \('\/nonexistent\/gcc-13'\)/);
  assert.match(msg, /apt-get install -y gcc gcc-multilib binutils make/);
});

test("toolchain settings reach the tools through AFTERBURN_* variables", () => {
  const env = toolEnv({ gcc: "ccache gcc", ld: "ld.bfd" }, { PATH: "/usr/bin" });
  assert.equal(env.AFTERBURN_GCC, "ccache gcc");
  assert.equal(env.AFTERBURN_LD, "ld.bfd");
  assert.equal(env.AFTERBURN_AS, undefined);
  assert.equal(env.ELECTRON_RUN_AS_NODE, "1");
});

test("a file of a Makefile guest (examples/<guest>/) builds through make with CC=afterburn-cc", () => {
  const plan = planGuestBuild(join(root, "examples", "interrupts", "interrupts.c"), { bundles, outDir: "/tmp/out", workspaceRoot: root, readFile });
  assert.equal(plan.guest, "interrupts");
  assert.equal(plan.elf, "/tmp/out/examples/interrupts.elf");
  assert.equal(plan.steps.length, 1);
  assert.equal(plan.steps[0]!.command, "make");
  assert.ok(plan.steps[0]!.args.includes(`CC=${process.execPath} ${join(root, "dist", "afterburn-cc.js")}`));
  assert.ok(plan.steps[0]!.args.includes("/tmp/out/examples/interrupts.elf"));
});

test("a file outside such a layout builds alone with afterburn-cc", () => {
  const plan = planGuestBuild("/work/k/entry.S", { bundles, outDir: "/tmp/out", workspaceRoot: "/work/k", readFile });
  assert.equal(plan.elf, "/tmp/out/entry.elf");
  assert.equal(plan.steps[0]!.command, process.execPath);
  assert.equal(plan.steps[0]!.args[0], join(root, "dist", "afterburn-cc.js"));
  assert.ok(plan.steps[0]!.args.includes("-Wl,-Ttext=0x100000"));
  assert.throws(() => planGuestBuild("/work/k/notes.txt", { bundles, outDir: "/tmp", readFile }), /not a guest source/);
});

test("Afterburn File plans: .s burns directly, .S goes through cpp, .c through gcc -S", () => {
  assert.equal(afterburnedName("/a/b/boot.S"), "/a/b/boot.afterburn.s");
  assert.equal(afterburnedName("/a/b/boot.S", "/out"), "/out/boot.afterburn.s");
  assert.deepEqual(planAfterburnFile("/a/x.s", "/o.s", bundles, "/tmp").map((s) => s.title), ["afterburn burn x.s"]);
  assert.deepEqual(planAfterburnFile("/a/x.S", "/o.s", bundles, "/tmp").map((s) => s.args[s.args.indexOf("-o") + 1]), ["/tmp/x.preburn.s", "/o.s"]);
  assert.equal(planAfterburnFile("/a/x.c", "/o.s", bundles, "/tmp", "ccache gcc")[0]!.command, "ccache");
});

test("build examples/hello with the plan, run it with `afterburn run --json` and read the report", { skip: !haveBundles && "dist/ not built (npm run build)" }, async () => {
  const out = mkdtempSync(join(tmpdir(), "ext-guest-"));
  try {
    const plan = planGuestBuild(join(root, "examples", "hello", "hello.S"), { bundles, outDir: out, workspaceRoot: root, readFile });
    const env = toolEnv({});
    for (const step of plan.steps) {
      const r = await runProcess(step, { env });
      assert.equal(r.code, 0, `${step.title} failed:\n${r.stdout}${r.stderr}`);
    }
    assert.ok(existsSync(plan.elf), plan.elf);
    const r = await runProcess(runStep(bundles, plan.elf, "raw"), { env });
    const run = parseRunJson(r.stdout);
    assert.equal(run.runs[0]!.backend, "raw");
    assert.equal(run.runs[0]!.console, readFileSync(join(root, "examples", "hello", "expected-output.txt"), "utf8"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("Afterburn File on examples/hello/hello.S writes padded, annotated assembly", { skip: !haveBundles && "dist/ not built" }, async () => {
  const out = mkdtempSync(join(tmpdir(), "ext-burn-"));
  try {
    const src = join(root, "examples", "hello", "hello.S");
    const dest = afterburnedName(src, out);
    for (const step of planAfterburnFile(src, dest, bundles, out)) {
      const r = await runProcess(step, { env: toolEnv({}) });
      assert.equal(r.code, 0, `${step.title}: ${r.stderr}`);
    }
    const text = readFileSync(dest, "utf8");
    assert.match(text, /\.afterburn/);
    assert.match(text, /cpuid/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("runProcess: cancellation kills the process", async () => {
  let listener: (() => void) | undefined;
  const token = { isCancellationRequested: false, onCancellationRequested: (l: () => void) => ((listener = l), { dispose() {} }) };
  const p = runProcess({ title: "sleep", command: process.execPath, args: ["-e", "setTimeout(() => {}, 60000)"], cwd: tmpdir() }, { token });
  setTimeout(() => listener?.(), 100);
  const r = await p;
  assert.equal(r.cancelled, true);
  assert.notEqual(r.code, 0);
});

test("plans stay inside the workspace, read GUESTS as make does, and pass odd paths safely", () => {
  const ws = mkdtempSync(join(tmpdir(), "ext-plan-"));
  try {
    // A Makefile above the workspace root is not the workspace's to run.
    writeFileSync(join(ws, "Makefile"), "GUESTS := inner\n");
    mkdirSync(join(ws, "inner"));
    writeFileSync(join(ws, "inner", "entry.S"), "");
    const alone = planGuestBuild(join(ws, "inner", "entry.S"), { bundles, outDir: "/tmp/out", workspaceRoot: join(ws, "inner"), readFile });
    assert.notEqual(alone.steps[0]!.command, "make");
    // GUESTS continued over lines, added to with +=, with a comment.
    writeFileSync(join(ws, "Makefile"), "GUESTS := one \\\n\ttwo # three\nGUESTS += four\n");
    for (const g of ["one", "two", "four", "three"]) {
      mkdirSync(join(ws, g));
      writeFileSync(join(ws, g, "k.S"), "");
      const plan = planGuestBuild(join(ws, g, "k.S"), { bundles, outDir: "/tmp/out", workspaceRoot: ws, readFile });
      assert.equal(plan.steps[0]!.command === "make", g !== "three", g);
    }
    // make gets a CC it can hand to the shell, and an output folder without blanks.
    const odd = planGuestBuild(join(ws, "one", "k.S"), {
      bundles: { root: "/ext dir", node: "/Apps/Code Helper (Plugin)" },
      outDir: "/Users/me/Library/Application Support/x",
      workspaceRoot: ws,
      readFile,
      tmpDir: "/tmp",
    });
    const args = odd.steps[0]!.args;
    assert.ok(args.includes("CC='/Apps/Code Helper (Plugin)' '/ext dir/dist/afterburn-cc.js'"), args.join(" | "));
    assert.ok(!/\s/.test(odd.elf), odd.elf);
    // A linker script path with a comma; an .asm file.
    mkdirSync(join(ws, "proj,v2"));
    writeFileSync(join(ws, "proj,v2", "guest.ld"), "");
    const ld = planGuestBuild(join(ws, "proj,v2", "boot.asm"), { bundles, outDir: "/tmp/out", workspaceRoot: ws, readFile }).steps[0]!.args;
    assert.deepEqual(ld.slice(ld.indexOf("-T"), ld.indexOf("-T") + 2), ["-T", join(ws, "proj,v2", "guest.ld")]);
    assert.deepEqual(ld.slice(-3), ["-x", "assembler-with-cpp", join(ws, "proj,v2", "boot.asm")]);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test("a guest builds through make from folders with blanks and parentheses, and alone with records", { skip: !haveBundles && "dist/ not built" }, async () => {
  const base = mkdtempSync(join(tmpdir(), "ext odd "));
  try {
    // The node that runs the bundles and the extension's folder, as on macOS: blanks and parentheses.
    mkdirSync(join(base, "Code Helper (Plugin)"));
    const node = join(base, "Code Helper (Plugin)", "node");
    symlinkSync(process.execPath, node);
    const ext = join(base, "ext dir");
    mkdirSync(ext);
    symlinkSync(join(root, "dist"), join(ext, "dist"));
    const odd: Bundles = { root: ext, node };
    const ws = join(base, "ws");
    cpSync(join(root, "examples"), join(ws, "examples"), { recursive: true, filter: (p) => !p.includes(`${join("examples", "build")}`) });
    const plan = planGuestBuild(join(ws, "examples", "hello", "hello.S"), { bundles: odd, outDir: join(base, "Application Support"), workspaceRoot: ws, readFile });
    for (const step of plan.steps) {
      const r = await runProcess(step, { env: toolEnv({}) });
      assert.equal(r.code, 0, `${step.title}:\n${r.stdout}${r.stderr}`);
    }
    assert.ok(readAnnotationRecords(readElf(readFileSync(plan.elf), plan.elf)).length > 0);
    assert.ok(!plan.elf.startsWith(base), "built outside the folder make cannot name");
    rmSync(dirname(dirname(plan.elf)), { recursive: true, force: true });
    // Alone: one compile-and-link command through afterburn-cc, with a guest.ld whose path has a comma.
    const proj = join(base, "proj,v2");
    mkdirSync(proj);
    cpSync(join(root, "examples", "guest.ld"), join(proj, "guest.ld"));
    writeFileSync(join(proj, "k.asm"), "\t.section .multiboot, \"a\"\n\t.long 0x1BADB002, 0, -0x1BADB002\n\t.text\n\t.globl _start\n_start:\n\tcli\n\thlt\n");
    mkdirSync(join(base, "out"));
    const single = planGuestBuild(join(proj, "k.asm"), { bundles: odd, outDir: join(base, "out"), workspaceRoot: base, readFile });
    for (const step of single.steps) {
      const r = await runProcess(step, { env: toolEnv({}) });
      assert.equal(r.code, 0, `${step.title}:\n${r.stdout}${r.stderr}`);
    }
    assert.equal(readAnnotationRecords(readElf(readFileSync(single.elf), single.elf)).length, 2, "cli and hlt carry records");
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
