// Site messages (core/asm/sites.ts): one line for the Problems panel. The catalogue's `why` cites its
// source; the message keeps what happens on a virtual machine and leaves the citation to the hover.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CATALOGUE } from "../../../core/isa/index.js";
import { WHY_CITATIONS } from "../../../core/isa/catalogue.js";
import { consequence, siteMessage } from "../../../core/asm/sites.js";

test("no site message carries a citation, and every one still says what happens", () => {
  for (const e of CATALOGUE) {
    const m = siteMessage({ entry: e, mnemonic: e.mnemonics[0]!, annotated: true, padding: e.padding, reason: undefined, expansion: undefined });
    assert.doesNotMatch(m, /\((19|20)\d\d\)|Popek|Goldberg/, `${e.id}: ${m}`);
    for (const c of WHY_CITATIONS) assert.ok(!m.includes(c), `${e.id}: ${m}`);
    const said = consequence(e.why);
    assert.ok(said.length >= 20, `${e.id}: '${said}' says too little`);
    assert.ok(m.includes(said), `${e.id}: the message holds the consequence`);
  }
});

test("a citation's qualifying parenthesis goes with it; a parenthesis that says what happens stays", () => {
  const [pg, ri] = WHY_CITATIONS as [string, string];
  assert.equal(consequence(`${pg}: hlt faults at CPL>0; a guest must yield.`), "hlt faults at CPL>0; a guest must yield");
  assert.equal(consequence(`IOPL-sensitive: faults when CPL > IOPL (${pg}); virtual interrupts only.`), "IOPL-sensitive: faults when CPL > IOPL; virtual interrupts only");
  assert.equal(consequence(`${ri} (a reference, and it pops EFLAGS): at CPL>0 IF is ignored.`), "at CPL>0 IF is ignored");
  assert.equal(consequence(`${ri} (INT n checks the gate DPL); the vector must reach the guest.`), "INT n checks the gate DPL; the vector must reach the guest");
  assert.equal(consequence("Smith (1999): it leaks the real ring."), "it leaks the real ring");
  assert.equal(consequence("Not privileged, but it reports the real processor."), "Not privileged, but it reports the real processor");
});
