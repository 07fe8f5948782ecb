// Xen (x86_32 PV, the guest kernel in ring 1): how the wedge's operations map onto hypercalls
// (virtualization-facts.md §3; the kaxen backend of the original wedge). The catalogue's xen column names the
// mechanism per instruction; this model adds what depends on the operands at run time.

import type { LoadedSite } from "../loader.js";
import { PrevirtRuntime, type HypervisorModel, type Priced } from "./previrt.js";
import { hex, type PlatformContext } from "./platform.js";

const COM1_THR = 0x3f8;

const XEN_MEMORY_OPS: Record<string, Priced> = {
  pte_set: { kind: "hypercall", cost: "xen.hypercall.mmu_update", detail: "mmu_update([{ptr = MA of the PTE | MMU_NORMAL_PT_UPDATE, val}])" },
  pmd_set: { kind: "hypercall", cost: "xen.hypercall.mmu_update", detail: "mmu_update of a page-middle-directory entry" },
  pgd_set: { kind: "hypercall", cost: "xen.hypercall.mmu_update", detail: "mmu_update of a page-directory entry" },
  pte_test_clear: { kind: "hypercall", cost: "xen.hypercall.mmu_update", detail: "test-and-clear: read, then mmu_update when the bit was set (change_pgent)" },
  pte_read: { kind: "wedge-call", cost: "wedge.call", detail: "page-table read: machine-to-physical translation in the wedge (get_guest_pte)" },
  pgd_read: { kind: "wedge-call", cost: "wedge.call", detail: "page-directory read: machine-to-physical translation in the wedge" },
};

export const xenModel: HypervisorModel = {
  siteOperation(site: LoadedSite, facts): Priced {
    if (site.memoryKind) {
      return XEN_MEMORY_OPS[site.memoryKind] ?? { kind: "wedge-call", cost: "wedge.call", detail: `${site.memoryKind} register access: a call into the wedge's device model instead of an MMIO trap` };
    }
    const e = site.entry!;
    const b = e.backends.xen;
    if (e.id === "iret") {
      return facts.toUser
        ? { kind: "hypercall", cost: "xen.hypercall.iret", detail: "iret to user mode → HYPERVISOR_iret (hypercall 23)" }
        : { kind: "wedge-call", cost: "wedge.call", detail: "iret to the kernel: emulated in the wedge (virtual IF from the frame)" };
    }
    if (facts.port !== undefined && e.id.startsWith("out") && facts.port === COM1_THR) {
      return { kind: "hypercall", cost: "xen.hypercall.console_io", detail: "console byte → console_io(CONSOLEIO_write, 1, buf)" };
    }
    const kind = b.action === "hypercall" ? "hypercall" : b.action === "inline" ? "inline" : "wedge-call";
    const detail = facts.port !== undefined ? `${b.detail} (port ${hex(facts.port).replace(/^0x0+/, "0x")})` : b.detail;
    return { kind, cost: b.cost === "native" ? "wedge.call" : b.cost, detail };
  },
  interrupt(vector) {
    return { kind: "wedge-call", cost: "xen.upcall", detail: `event-channel upcall → virtual IRQ, vector ${vector}` };
  },
  exception(vector) {
    return { kind: "exception", cost: "xen.trap-bounce", detail: `exception ${vector} bounced through the trap table` };
  },
  pageTableWrite() {
    return { kind: "trap", cost: "xen.ptwr", detail: "unannotated page-table write: #PF into Xen, emulated (writable page tables)" };
  },
  state(rt: PrevirtRuntime) {
    const v = rt.window.vflags;
    return {
      "vcpu_info.evtchn_upcall_mask": (v & 0x200) === 0 ? 1 : 0,
      "vcpu_info.evtchn_upcall_pending": rt.inner.hasPending() ? 1 : 0,
      "pinned page directories": rt.addressSpaces.size,
      "guest ring": 1,
    };
  },
};

export function createXen(ctx: PlatformContext): PrevirtRuntime {
  return new PrevirtRuntime(ctx, xenModel);
}
