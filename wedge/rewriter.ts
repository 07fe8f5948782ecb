// The rewriter: the real x86 bytes each site becomes on a pre-virtualized backend (xen, l4), per the catalogue's
// rewrite contract (core/isa RewriteSpec): inline vCPU operations where they fit, else `call rel32` into the wedge's
// entry region. Encodings are written out here byte by byte (the catalogue's asm32 sequences, with the site's own
// registers); the tests decode every rewritten site with iced-x86 and compare.

import { VCPU_LAYOUT, type VcpuField } from "../core/isa/index.js";
import { describeLocation, WedgeLoadError, type LoadedSite } from "./loader.js";
import { STUB_SIZE, VCPU_BASE, WEDGE_ENTRY, WEDGE_POST, WEDGE_STUBS } from "./layout.js";

export interface SiteRewrite {
  kind: "inline" | "call";
  /** The whole site's new bytes (replacement, then 0x90 up to the site end). */
  bytes: Uint8Array;
  /** Linear address of the instruction whose vCPU access counts one inline execution (inline rewrites). */
  countAt?: number;
  /** Return addresses of the `call`s this rewrite makes into the entry region. */
  callReturns: number[];
  /** Call-out sites: the stub that runs the original operation (original bytes, then jmp to the post entry). */
  stub?: Uint8Array;
  stubAddress?: number;
}

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const vcpu = (f: VcpuField, plus = 0) => u32(VCPU_BASE + VCPU_LAYOUT[f] + plus);
const rel32 = (from: number, to: number) => u32((to - from) >>> 0);
const SREG_FIELDS: VcpuField[] = ["es", "cs", "ss", "ds", "fs", "gs"];

/** Instructions that never fall through to the next one: their stub needs no jump back. */
const NO_FALLTHROUGH = new Set(["iret", "lret", "lret-imm", "ljmp-direct", "ljmp-indirect", "sysexit", "sysret"]);

function inlineBytes(site: LoadedSite): { bytes: number[]; countOffset: number; callAt?: number } | undefined {
  const e = site.entry;
  if (!e || e.rewrite.kind !== "inline") return undefined;
  const insn = site.insn;
  const op = insn.operands;
  switch (e.id) {
    case "cli": // pushfl; andb $0xfd, vcpu.flags+1; popfl
      return { bytes: [0x9c, 0x80, 0x25, ...vcpu("flags", 1), 0xfd, 0x9d], countOffset: 1 };
    case "sti": // pushfl; orb $2, vcpu.flags+1; cmpb $0, vcpu.pending; je 1f; call @wedge; 1: popfl
      return {
        bytes: [0x9c, 0x80, 0x0d, ...vcpu("flags", 1), 0x02, 0x80, 0x3d, ...vcpu("pending"), 0x00, 0x74, 0x05, 0xe8, 0, 0, 0, 0, 0x9d],
        countOffset: 1,
        callAt: 17,
      };
    case "pushf":
      if (insn.opsize16) return undefined;
      // pushfl; pushfl; pushl %eax; movb vcpu.flags+1,%al; xorb 9(%esp),%al; andb $0x32,%al; xorb %al,9(%esp); popl %eax; popfl
      return {
        bytes: [0x9c, 0x9c, 0x50, 0xa0, ...vcpu("flags", 1), 0x32, 0x44, 0x24, 0x09, 0x24, 0x32, 0x30, 0x44, 0x24, 0x09, 0x58, 0x9d],
        countOffset: 3,
      };
    case "popf":
      if (insn.opsize16) return undefined;
      // popl vcpu.flags; cmpb $0, vcpu.pending; je 1f; call @wedge; 1: pushl vcpu.flags; popfl
      return {
        bytes: [0x8f, 0x05, ...vcpu("flags"), 0x80, 0x3d, ...vcpu("pending"), 0x00, 0x74, 0x05, 0xe8, 0, 0, 0, 0, 0xff, 0x35, ...vcpu("flags"), 0x9d],
        countOffset: 0,
        callAt: 15,
      };
    case "mov-from-cr0":
    case "mov-from-cr2":
    case "mov-from-cr3":
    case "mov-from-cr4": {
      const dst = op[0];
      if (dst?.kind !== "reg" || dst.reg.kind !== "gpr" || dst.reg.size !== 4) return undefined;
      const field = `cr${e.id.slice(-1)}` as VcpuField;
      if (dst.reg.index === 0) return { bytes: [0xa1, ...vcpu(field)], countOffset: 0 }; // movl moffs32,%eax
      return { bytes: [0x8b, 0x05 | (dst.reg.index << 3), ...vcpu(field)], countOffset: 0 };
    }
    case "mov-from-sreg": {
      const [dst, src] = op;
      if (dst?.kind !== "reg" || dst.reg.kind !== "gpr" || src?.kind !== "reg" || src.reg.kind !== "sreg") return undefined;
      const modrm = 0x05 | (dst.reg.index << 3);
      const field = SREG_FIELDS[src.reg.index]!;
      return dst.reg.size === 4
        ? { bytes: [0x8b, modrm, ...vcpu(field)], countOffset: 0 }
        : { bytes: [0x66, 0x8b, modrm, ...vcpu(field)], countOffset: 0 };
    }
    case "mov-to-sreg": {
      // movw %reg16, vcpu.<sreg>, then the load itself: the wedge runs the guest on its own (hardware) segments,
      // as kaxen with CONFIG_IA32_HARDWARE_SEGMENTS, so the vCPU copy and the real register stay equal.
      const [dst, src] = op;
      if (dst?.kind !== "reg" || dst.reg.kind !== "sreg" || src?.kind !== "reg" || src.reg.kind !== "gpr") return undefined;
      const field = SREG_FIELDS[dst.reg.index]!;
      const original = [...site.original.subarray(0, insn.length)];
      return { bytes: [0x66, 0x89, 0x05 | (src.reg.index << 3), ...vcpu(field), ...original], countOffset: 0 };
    }
    case "push-sreg": {
      const src = op[0];
      if (src?.kind !== "reg" || src.reg.kind !== "sreg") return undefined;
      const field = SREG_FIELDS[src.reg.index]!;
      return insn.opsize16
        ? { bytes: [0x66, 0xff, 0x35, ...vcpu(field)], countOffset: 0 } // pushw vcpu.<sreg>
        : { bytes: [0xff, 0x35, ...vcpu(field)], countOffset: 0 }; // pushl vcpu.<sreg>
    }
    case "pop-sreg": {
      // The pop itself (it loads the descriptor), then movw %sreg, vcpu.<sreg> to keep the vCPU copy.
      const dst = op[0];
      if (dst?.kind !== "reg" || dst.reg.kind !== "sreg") return undefined;
      const field = SREG_FIELDS[dst.reg.index]!;
      const original = [...site.original.subarray(0, insn.length)];
      return { bytes: [...original, 0x8c, 0x05 | (dst.reg.index << 3), ...vcpu(field)], countOffset: insn.length };
    }
    default:
      return undefined;
  }
}

/** The rewrite of one site (pre-virtualized backends). Throws WedgeLoadError when it does not fit its room. */
export function rewriteSite(site: LoadedSite, fileName: string): SiteRewrite {
  const room = site.end - site.start;
  const inl = inlineBytes(site);
  let bytes: number[];
  let kind: "inline" | "call";
  const callReturns: number[] = [];
  let countAt: number | undefined;
  if (inl) {
    kind = "inline";
    bytes = inl.bytes;
    countAt = site.start + inl.countOffset;
    if (inl.callAt !== undefined) {
      bytes.splice(inl.callAt + 1, 4, ...rel32(site.start + inl.callAt + 5, WEDGE_ENTRY));
      callReturns.push(site.start + inl.callAt + 5);
    }
  } else {
    kind = "call";
    bytes = [0xe8, ...rel32(site.start + 5, WEDGE_ENTRY)];
    callReturns.push(site.start + 5);
  }
  if (bytes.length > room) {
    throw new WedgeLoadError(
      `${fileName}: site at ${describeLocation(site.location)}: the ${kind} rewrite of \`${site.insn.text}\` needs ${bytes.length} bytes, the site has ${room}`,
      site.location,
    );
  }
  const out = new Uint8Array(room).fill(0x90);
  out.set(bytes);
  const rw: SiteRewrite = { kind, bytes: out, countAt, callReturns };
  if (kind === "call") {
    const stubAddress = WEDGE_STUBS + site.index * STUB_SIZE;
    const orig = [...site.original.subarray(0, site.opLength)];
    const id = site.entry?.id ?? "";
    const tail = NO_FALLTHROUGH.has(id) ? [] : [0xe9, ...rel32(stubAddress + orig.length + 5, WEDGE_POST + site.index)];
    rw.stub = Uint8Array.from([...orig, ...tail]);
    rw.stubAddress = stubAddress;
  }
  return rw;
}
