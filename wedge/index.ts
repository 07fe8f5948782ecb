// wedge/: the in-place VMM and the hypervisor models (contract A of the shared contracts).
export { BACKENDS } from "../core/isa/index.js";
export type { BackendName } from "../core/isa/index.js";
export { loadGuest, DEFAULT_MAX_INSTRUCTIONS } from "./guest.js";
export { WedgeLoadError, describeLocation } from "./loader.js";
export { Ledger } from "./ledger.js";
export { VTX_CONTROLS } from "./backends/vtx.js";
export { WEDGE_VIRT, WEDGE_SPAN, VCPU_BASE, WEDGE_ENTRY, inWedge } from "./layout.js";
export { LEDGER_EVENT_KINDS } from "./types.js";
export type {
  Guest,
  GuestOptions,
  GuestSnapshot,
  LedgerEvent,
  LedgerEventKind,
  LedgerReport,
  LedgerSiteRow,
  RewrittenSite,
  SiteLocation,
} from "./types.js";
