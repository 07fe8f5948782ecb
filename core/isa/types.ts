// Types of the sensitive-instruction catalogue (core/isa/catalogue.ts is the one table).

export type SensitiveClass =
  /** Faults (#GP/#UD) when executed deprivileged (CPL>0, or CPL>IOPL for the IOPL-sensitive ones). */
  | "privileged"
  /** Executes deprivileged without a fault but with a different, wrong-for-a-guest meaning (Robin & Irvine). */
  | "sensitive"
  /** Neither, but a virtual platform must see it (cpuid, int n, rdtsc, ud2, rsm...). */
  | "platform"
  /** A hand-annotated memory or device operation (.afterburn.pte_set etc.), not found by mnemonic. */
  | "memory";

export type BackendName = "raw" | "trap" | "vtx" | "xen" | "l4";
export const BACKENDS: readonly BackendName[] = ["raw", "trap", "vtx", "xen", "l4"];

export type BackendAction =
  /** Executes as itself on the real CPU (raw hardware, or VT-x non-root with no exit). */
  | "native"
  /** The wedge's inline rewrite runs in place of the instruction (no world switch). */
  | "inline"
  /** The rewrite calls into the wedge, which emulates on the virtual CPU without leaving the guest. */
  | "wedge-call"
  /** Wedge call that issues a hypercall (xen). */
  | "hypercall"
  /** Wedge call that performs L4 IPC / map / unmap (l4). */
  | "ipc"
  /** Hardware VM exit to the VMM (vtx). */
  | "vm-exit"
  /** Fault trapped and emulated by a trap-and-emulate VMM (trap). */
  | "trap"
  /** Runs deprivileged without a fault and gives the wrong result: a virtualization hole (trap). */
  | "silent-wrong"
  /** Runs natively but only behaves correctly because of the setup (e.g. ring-1 selectors on xen). */
  | "native-ok";

export interface BackendBehaviour {
  action: BackendAction;
  /** One line: what happens, e.g. "mmuext_op(MMUEXT_NEW_BASEPTR) after pinning the new L2". */
  detail: string;
  /** Key into the cost model (wedge/ledger cost table), e.g. "xen.hypercall", "vtx.exit.cr-access". */
  cost: string;
}

/** Which spellings + operands make an instruction this entry. */
export type OperandCondition =
  /** Any operands. */
  | { kind: "any" }
  /** Some operand is one of these registers (e.g. control registers). `position`: "dst" = last AT&T operand, "src" = first. */
  | { kind: "register"; registers: readonly string[]; position: "src" | "dst" | "either" }
  /** Operand count must be exactly n (e.g. bare `in %dx,%al` vs `in $port,%al` handled as separate entries). */
  | { kind: "count"; count: number }
  /** First operand is an immediate ($n) / a register / memory. */
  | { kind: "first"; operand: "imm" | "reg" | "mem" | "dx" }
  /** Direct far form `ljmp $sel,$off` (two immediates) vs indirect `ljmp *m`. */
  | { kind: "far"; form: "direct" | "indirect" }
  /**
   * in/out: the port operand (first for `in`, last for `out` in AT&T order) is an immediate `$n` or `%dx`/`(%dx)`.
   * A bare suffixed form with no operands (`inb`, `outl`) counts as the `%dx` form, as GNU as assembles it.
   */
  | { kind: "port"; form: "imm" | "dx" };

/**
 * Machine-code identity: the opcode key as the emulator's decoder reports it.
 * opcode: one-byte opcodes are 0x00–0xff; two-byte 0F xx are 0x100 + xx; three-byte 0F 38 xx are 0x200 + xx and
 * 0F 3A xx are 0x300 + xx.
 * reg: ModRM.reg for group opcodes; rm: ModRM.rm for register-form encodings like 0F 01 F8 (swapgs);
 * mem: true → only the memory form of ModRM, false → only the register form.
 * prefix: the mandatory prefix that selects the instruction (F3 0F 09 is wbnoinvd, 0F 09 wbinvd): the last F2/F3
 * before the opcode, else 66 when present. A form without `prefix` matches any prefixes; one with it is more
 * specific and wins.
 * For 0F 20–23 (mov to/from control and debug registers) in 64-bit mode, `reg` carries REX.R as bit 3
 * (cr8 is reg 8); for every other opcode REX.R is not part of the key.
 */
export interface OpcodeForm {
  opcode: number;
  reg?: number;
  rm?: number;
  mem?: boolean;
  prefix?: MandatoryPrefix;
}

export type MandatoryPrefix = 0x66 | 0xf2 | 0xf3;

export interface RewriteSpec {
  /** "inline": bytes that update the vCPU in place; "call": a call into the wedge entry region. */
  kind: "inline" | "call";
  /** What the rewrite does, in one line. */
  description: string;
  /** Bytes the wedge's replacement needs; instruction length + padding must be ≥ room for every encoding. */
  room: number;
  /** Room in 64-bit code when different (absolute disp32 operands need a SIB byte there). */
  room64?: number;
  /**
   * The exact sequence the wedge writes at the site start, one AT&T instruction per element (32-bit code), for the
   * longest register form (written with %ecx: %eax would get the shorter moffs encodings). Placeholders: `@vcpu.<field>` is the absolute
   * address of a vCPU field (see VCPU_LAYOUT), `@vcpu.<field>+n` a byte inside it, `@wedge` the wedge entry the
   * call goes to, local labels `1:`/`1f` as in GNU as. Its assembled size is `room`.
   */
  asm32?: readonly string[];
  /** Same for 64-bit code (size `room64 ?? room`). */
  asm64?: readonly string[];
}

export interface CatalogueEntry {
  /** Stable id, used as the diagnostic code and in site lists: "cli", "mov-to-cr", "in-imm", ... */
  id: string;
  /** Lower-case AT&T spellings that can name this entry (suffix variants included). */
  mnemonics: readonly string[];
  condition: OperandCondition;
  class: SensitiveClass;
  modes: readonly ("ia32" | "x86-64")[];
  /** NOP bytes the afterburner emits after the instruction (32-bit; pad64 when different). */
  padding: number;
  padding64?: number;
  rewrite: RewriteSpec;
  /** One line: what the instruction does. */
  meaning: string;
  /** Why it matters for virtualization (cite Popek–Goldberg / Robin & Irvine where it applies). */
  why: string;
  backends: Readonly<Record<BackendName, BackendBehaviour>>;
  /** Machine forms (several when the mnemonic has several opcodes). */
  opcodes: readonly OpcodeForm[];
  /** iced-x86 Code names of the forms (for cross-checks and disassembly), e.g. ["Cli"]. */
  icedCodes: readonly string[];
  /** An example that GNU as assembles, per mode (absent when the mode has no such form). */
  example: { att32?: string; att64?: string };
  /** Original afterburner padding for the same form, when it had one (for the record / docs). */
  originalPadding?: number;
  /**
   * The CPUID feature the instruction needs, for extensions after the P6 baseline (e.g. "XSAVE" for xsetbv): a CPU
   * without it raises #UD, before any privilege check or VM exit. Absent for the baseline instructions.
   */
  feature?: string;
}
