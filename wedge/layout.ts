// Where the wedge lives in the guest's address space.
//
// The original wedge sat at the top of the guest kernel's range (CONFIG_WEDGE_VIRT = 0xbc000000, "inside the
// wedge" tested as ip >= CONFIG_WEDGE_VIRT). Ours takes the top page-directory slots that Xen x86_32 reserves for
// itself in every guest address space (the hypervisor hole, HYPERVISOR_VIRT_START 0xFC000000): a guest kernel
// linked at 1 MiB never uses them. The window is backed by the wedge (an MMIO window at the same physical
// address), so it reads the same with paging off and on: the wedge installs one page-directory entry for it in
// every page directory the guest loads, as Xen does with its own mappings.

export const WEDGE_VIRT = 0xfc000000;
/** One page-directory slot (4 MiB). */
export const WEDGE_SPAN = 0x400000;
export const WEDGE_PDE_INDEX = WEDGE_VIRT >>> 22;

/** Offsets inside the window. */
export const WEDGE_LAYOUT = {
  /** The page table the wedge's page-directory entry points to (maps the window onto itself). */
  pageTable: 0x0000,
  /** The virtual CPU block (core/isa VCPU_LAYOUT offsets from here). */
  vcpu: 0x1000,
  /** The call-out entry: every `call rel32` a rewritten site makes lands here. */
  entry: 0x2000,
  /** Post-operation entries, one byte per site: a stub jumps to post + site index after running the operation. */
  post: 0x3000,
  /** Stubs: per call-out site, the original instruction followed by `jmp rel32` to its post entry (32 bytes each). */
  stubs: 0x20000,
} as const;

export const STUB_SIZE = 32;
export const MAX_SITES = (WEDGE_LAYOUT.stubs - WEDGE_LAYOUT.post);

export const VCPU_BASE = WEDGE_VIRT + WEDGE_LAYOUT.vcpu;
export const WEDGE_ENTRY = WEDGE_VIRT + WEDGE_LAYOUT.entry;
export const WEDGE_POST = WEDGE_VIRT + WEDGE_LAYOUT.post;
export const WEDGE_STUBS = WEDGE_VIRT + WEDGE_LAYOUT.stubs;

export function inWedge(linear: number): boolean {
  return linear >>> 0 >= WEDGE_VIRT && linear >>> 0 < WEDGE_VIRT + WEDGE_SPAN;
}
