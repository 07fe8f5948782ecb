// Messages quoting source text stay short however long the text is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { boundedMessage, boundedQuote } from "../../../core/asm/message.js";
import { AsmAnalysis } from "../../../core/asm/analysis.js";
import { afterburn } from "../../../core/burn/afterburn.js";

test("boundedMessage cuts long quoted text and says how long it was; short messages are unchanged", () => {
  assert.equal(boundedMessage("junk 'x' after register"), "junk 'x' after register");
  const long = `unknown register '%cr${"3".repeat(5000)}'`;
  const cut = boundedMessage(long);
  assert.equal(cut, `unknown register '%cr${"3".repeat(77)}…' (5,003 characters)`);
  // A quote of exactly the limit stays whole.
  const edge = `bad '${"y".repeat(80)}' and '${"z".repeat(81)}' here`;
  assert.equal(boundedMessage(edge), `bad '${"y".repeat(80)}' and '${"z".repeat(80)}…' (81 characters) here`);
  // Without quotes to cut, the message itself is cut.
  const plain = boundedMessage("w".repeat(5000));
  assert.ok(plain.length < 2100 && plain.endsWith("… (5,000 characters)"), plain.slice(-40));
  // A surrogate pair is never split.
  const emoji = boundedMessage(`'${"a".repeat(79)}😀${"b".repeat(100)}'`);
  assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(emoji), "no lone high surrogate");
});

test("boundedQuote keeps short text and cuts long text with an ellipsis", () => {
  assert.equal(boundedQuote("cli"), "cli");
  assert.equal(boundedQuote("x".repeat(200)), `${"x".repeat(80)}…`);
});

test("a parse diagnostic quoting a megabyte of expanded text is short, in the editor and in the afterburner", () => {
  // The argument doubles at each level: the register name in the message grew to half a megabyte.
  const text = [".macro m a", "\tmov %eax, %cr\\a", "\tm \\a\\a", ".endm", "m 3"].join("\n");
  const an = new AsmAnalysis(text, { fileName: "/tmp/x.S" });
  const messages = an.parseDiagnostics().map((d) => d.message);
  assert.ok(messages.some((m) => /unknown register '%cr3{77}…' \([\d,]+ characters\)/.test(m)), messages.join("\n").slice(0, 500));
  for (const m of messages) assert.ok(m.length < 2100, `${m.length} characters`);
  const burned = afterburn(text, { fileName: "x.S" });
  assert.ok(burned.diagnostics.some((d) => /unknown register '%cr3{77}…'/.test(d.message)));
  for (const d of burned.diagnostics) assert.ok(d.message.length < 2100, `${d.message.length} characters`);
});
