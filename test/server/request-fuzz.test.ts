// Property: whatever params a client sends (positions of -1 or 2^31, missing fields, reversed and
// huge ranges, unknown URIs, non-string queries) with edits interleaved, the server answers every
// request within a time limit and never exits. Fixed seed; LSP_FUZZ_SEED runs another.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { LspClient } from "./lsp-client.js";
import { prng } from "../prng.js";
import { generateKernel } from "../../bench/lsp.js";

let client: LspClient;
before(async () => {
  client = await LspClient.start();
});
after(async () => {
  await client.stop();
});

const SEED = Number(process.env.LSP_FUZZ_SEED ?? 2);
const REQUESTS = 600;
const ANSWER_MS = 15_000;

test("references at a position of character -1 and no line answers [] (it searched for the empty word without end)", async () => {
  const uri = "file:///tmp/fuzz-refs.S";
  await client.openAndWait(uri, "\t.text\nf:\tcli\n\tjmp f\n");
  assert.deepEqual(await client.request("textDocument/references", { textDocument: { uri }, position: { character: -1 }, context: { includeDeclaration: true } }), []);
  assert.equal(await client.request("textDocument/hover", { textDocument: { uri }, position: { line: -1, character: 0 } }), null);
  const refs = await client.request<unknown[]>("textDocument/references", { textDocument: { uri }, position: { line: 1, character: 0 }, context: { includeDeclaration: true } });
  assert.equal(refs.length, 2, "well-formed requests are answered as before");
});

test(`random requests with random and malformed params, edits between: every one answered, the server stays up (seed ${SEED})`, async () => {
  const rnd = prng(SEED);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const docs = ["file:///tmp/fuzz-a.S", "file:///tmp/fuzz-b.c", "file:///tmp/fuzz-none.S", "untitled:x", "", "garbage"];
  await client.openAndWait(docs[0], generateKernel(2000, prng(SEED)), "gas-x86", 1);
  await client.openAndWait(docs[1], 'void f(void) { asm volatile("cli; mov %%eax, %%cr3"); }\n#define X asm("sti")\n', "c", 1);
  const num = (): unknown => pick<unknown>([0, 1, 5, 100, 1999, 2000, 2001, -1, 2 ** 31 - 1, 2 ** 31, 1e300, 0.5, null, "3", undefined]);
  const pos = (): unknown => pick<unknown>([{ line: num(), character: num() }, { line: num(), character: num() }, null, {}, "x", { line: 10 }, { character: -1 }]);
  const range = (): unknown =>
    pick<unknown>([{ start: pos(), end: pos() }, null, { start: { line: 5, character: 0 }, end: { line: 1, character: 0 } }, { start: { line: 0, character: 0 }, end: { line: 2 ** 31, character: 0 } }]);
  const td = (): unknown => pick<unknown>([{ uri: pick(docs) }, { uri: docs[0] }, {}, null, "x"]);
  const requests: [string, () => unknown][] = [
    ["textDocument/hover", () => ({ textDocument: td(), position: pos() })],
    ["textDocument/inlayHint", () => ({ textDocument: td(), range: range() })],
    ["textDocument/codeAction", () => ({ textDocument: td(), range: range(), context: pick<unknown>([{ diagnostics: [] }, {}, { diagnostics: [{ range: range(), message: 3 }] }]) })],
    ["textDocument/codeLens", () => ({ textDocument: td() })],
    ["afterburn/preview", () => ({ uri: pick<unknown>([...docs, 3, null]), range: range() })],
    ["textDocument/documentSymbol", () => ({ textDocument: td() })],
    ["textDocument/foldingRange", () => ({ textDocument: td() })],
    ["textDocument/completion", () => ({ textDocument: td(), position: pos() })],
    ["textDocument/definition", () => ({ textDocument: td(), position: pos() })],
    ["textDocument/references", () => ({ textDocument: td(), position: pos(), context: { includeDeclaration: true } })],
    ["workspace/symbol", () => ({ query: pick<unknown>(["", "a", "(", ".*", null, 5, "x".repeat(100_000)]) })],
    ["textDocument/semanticTokens/full", () => ({ textDocument: td() })],
    ["textDocument/semanticTokens/range", () => ({ textDocument: td(), range: range() })],
  ];
  let version = 2;
  let answered = 0;
  for (let n = 0; n < REQUESTS; n++) {
    if (rnd() < 0.15) {
      client.change(pick(docs.slice(0, 3)), version++, [{ range: range() as never, text: pick(["", "\tcli\n", "x", "\n\n", "\u0000"]) }]);
      continue;
    }
    const [method, make] = pick(requests);
    const params = make();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      client.request(method, params).then(() => "answered", (e: Error) => `error: ${e.message}`),
      new Promise<string>((r) => (timer = setTimeout(() => r("timeout"), ANSWER_MS))),
    ]);
    clearTimeout(timer);
    const what = `request ${n}: ${method} ${JSON.stringify(params)?.slice(0, 300)}`;
    assert.notEqual(outcome, "timeout", `${what}: no answer within ${ANSWER_MS} ms\nstderr: ${client.stderr.slice(-2000)}`);
    assert.equal(client.exited, undefined, `${what}: the server exited\nstderr: ${client.stderr.slice(-2000)}`);
    answered++;
  }
  assert.ok(answered > REQUESTS / 2);
  // still a working server: a well-formed hover on a sensitive instruction
  const uri = "file:///tmp/fuzz-after.S";
  const d = await client.openAndWait(uri, "\t.text\n\tcli\n");
  assert.equal(d.diagnostics.length, 1);
  const hover = await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri }, position: { line: 1, character: 2 } });
  assert.match(JSON.stringify(hover), /privileged/);
});
