// L4Ka::Pistachio (the guest kernel as a user-level L4 thread, the wedge in its address space): the wedge's
// operations as L4 IPC, map and unmap (virtualization-facts.md §4; the original wedge's l4ka/ backend).

import type { LoadedSite } from "../loader.js";
import { PrevirtRuntime, type HypervisorModel, type Priced } from "./previrt.js";
import { hex, type PlatformContext } from "./platform.js";

const COM1_THR = 0x3f8;

export const l4Model: HypervisorModel = {
  siteOperation(site: LoadedSite, facts): Priced {
    if (site.memoryKind) {
      const k = site.memoryKind;
      if (k.endsWith("_set")) return { kind: "ipc", cost: "l4.unmap", detail: `${k}: guest table updated, old mapping revoked with L4_Unmap` };
      if (k === "pte_test_clear") return { kind: "ipc", cost: "l4.unmap", detail: "test-and-clear: unmap to harvest the access bits, fold them into the PTE" };
      if (k.endsWith("_read")) return { kind: "wedge-call", cost: "wedge.call", detail: `${k}: plain read in the wedge` };
      return { kind: "wedge-call", cost: "wedge.call", detail: `${k} register access: a call into the wedge's device model` };
    }
    const e = site.entry!;
    const b = e.backends.l4;
    if (e.id === "iret") {
      return facts.toUser
        ? { kind: "ipc", cost: "l4.ipc", detail: "iret to user: reply to the user thread's exception IPC" }
        : { kind: "wedge-call", cost: "wedge.call", detail: "iret to the kernel: emulated in the wedge" };
    }
    if (facts.port !== undefined && e.id.startsWith("out") && facts.port === COM1_THR) {
      return { kind: "ipc", cost: "l4.ipc", detail: "console byte: IPC to the resource monitor's console" };
    }
    const kind = b.action === "ipc" ? "ipc" : b.action === "inline" ? "inline" : "wedge-call";
    const detail = facts.port !== undefined ? `${b.detail} (port ${hex(facts.port).replace(/^0x0+/, "0x")})` : b.detail;
    let cost = b.cost === "native" ? "wedge.call" : b.cost;
    // A cr3 switch revokes the mappings that differ between the two spaces (backend_flush_old_pdir).
    if (e.id === "mov-to-cr3") return { kind: "ipc", cost: "l4.unmap", detail: "cr3 switch: L4_Unmap of the mappings that differ" };
    if (kind === "ipc" && cost === "wedge.call") cost = "l4.ipc";
    return { kind, cost, detail };
  },
  interrupt(vector) {
    return { kind: "ipc", cost: "l4.irq-ipc", detail: `IRQ IPC from the IRQ thread → vector ${vector} via ExchangeRegisters` };
  },
  exception(vector) {
    return vector === 14
      ? { kind: "exception", cost: "l4.pagefault-ipc", detail: "page fault → pager IPC to the wedge, virtual #PF injected" }
      : { kind: "exception", cost: "l4.exception-ipc", detail: `exception ${vector} → exception IPC (label 0xFFB0), reflected` };
  },
  pageTableWrite() {
    return { kind: "ipc", cost: "l4.pt-write", detail: "unannotated page-table write: write fault → pager IPC, emulated + L4_Unmap" };
  },
  state(rt: PrevirtRuntime) {
    return {
      "L4 address spaces": rt.addressSpaces.size,
      "IRQ thread has an IRQ": rt.inner.hasPending(),
      "guest runs at": "user level (L4 thread)",
    };
  },
};

export function createL4(ctx: PlatformContext): PrevirtRuntime {
  return new PrevirtRuntime(ctx, l4Model);
}
