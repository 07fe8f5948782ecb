// Memory-operation annotations: the original afterburner's hand-annotated page-table and device
// accesses (.afterburn.pte_set etc.), here requested with one directive that the afterburner
// consumes:
//
//     .afterburn_memop pte_set          # annotate the next instruction into .afterburn.pte_set
//     movl %edx, (%eax)
//     .afterburn_memop pte_test_clear, 2 # the next two instructions form one site (lock btrl + sbbl)
//
// C code uses examples/lib/afterburn.h (AFTERBURN_PTE_SET and friends), which emits the directive
// inside inline asm when compiled by afterburn-cc (__AFTERBURN__ defined) and a plain access otherwise.

export interface MemopKind {
  /** Name used in the directive and in the section name (.afterburn.<name>). */
  name: string;
  section: string;
  /** NOP bytes after the annotated instruction(s), as in the original's annotate.h helpers. */
  padding: number;
  /** What the wedge does with it. */
  meaning: string;
}

const kinds: readonly MemopKind[] = [
  { name: "pte_set", section: ".afterburn.pte_set", padding: 15, meaning: "store of a page-table entry (set_pte): a batched mmu_update on xen, an unmap of the old mapping on l4" },
  { name: "pmd_set", section: ".afterburn.pmd_set", padding: 15, meaning: "store of a page-middle-directory entry (set_pmd)" },
  { name: "pgd_set", section: ".afterburn.pgd_set", padding: 15, meaning: "store of a page-directory entry (set_pgd)" },
  { name: "pte_read", section: ".afterburn.pte_read", padding: 13, meaning: "load of a page-table entry: machine-to-physical translation on xen" },
  // Shares the pte_read section, as in the original.
  { name: "pte_read_clear", section: ".afterburn.pte_read", padding: 15, meaning: "xchg that reads and clears a page-table entry (ptep_get_and_clear)" },
  { name: "pgd_read", section: ".afterburn.pgd_read", padding: 13, meaning: "load of a page-directory entry" },
  { name: "pte_test_clear", section: ".afterburn.pte_test_clear", padding: 12, meaning: "lock btr + sbb on a page-table entry (test and clear dirty/accessed)" },
  { name: "ioapic_write", section: ".afterburn.ioapic", padding: 15, meaning: "store to an I/O APIC register: a call into the wedge's I/O APIC model instead of an MMIO trap" },
  { name: "ioapic_read", section: ".afterburn.ioapic", padding: 13, meaning: "load from an I/O APIC register" },
  { name: "lapic_write", section: ".afterburn.lapic", padding: 17, meaning: "store to a local APIC register: a call into the wedge's local APIC model" },
  { name: "lapic_xchg", section: ".afterburn.lapic", padding: 17, meaning: "xchg with a local APIC register" },
  { name: "lapic_read", section: ".afterburn.lapic", padding: 15, meaning: "load from a local APIC register" },
  { name: "dp83820_write", section: ".afterburn.dp83820", padding: 15, meaning: "store to a DP83820 NIC register: a call into the wedge's device model" },
  { name: "dp83820_read", section: ".afterburn.dp83820", padding: 13, meaning: "load from a DP83820 NIC register" },
];

export const MEMOP_KINDS: readonly MemopKind[] = kinds;

export function memopKind(name: string): MemopKind | undefined {
  return kinds.find((k) => k.name === name);
}
