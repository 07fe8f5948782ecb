// raw: bare metal. No wedge, nothing rewritten: the padded binary runs at ring 0 and its NOPs execute. The ledger
// only counts guest exceptions (priced at nothing: the hardware delivers them through the guest's own IDT).

import type { LedgerEventKind } from "../types.js";
import { linearEip, type Platform, type PlatformContext } from "./platform.js";
import { unrewrittenSites } from "./unrewritten.js";

export function createRaw(ctx: PlatformContext): Platform {
  const cpu = ctx.machine.cpu;
  cpu.hooks = {
    onException: (info) => {
      if (!info.software) ctx.ledger.record("exception" as LedgerEventKind, linearEip(cpu), "native", `exception ${info.vector} through the guest IDT`, cpu.instructionCount);
      return "continue";
    },
  };
  return {
    sites: unrewrittenSites(ctx.image),
    vcpu: () => undefined,
    state: () => ({ "guest ring": 0, wedge: "none" }),
    wedgeFrame: () => undefined,
    snapshot: () => null,
    restore: () => {},
    takeStopMessage: () => undefined,
  };
}
