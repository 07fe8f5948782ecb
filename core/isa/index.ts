// core/isa: the sensitive-instruction catalogue and its lookups.
export { CATALOGUE } from "./catalogue.js";
export {
  classify,
  entryById,
  entryForForm,
  entryInMode,
  hookForms,
  MNEMONICS,
  paddingFor,
  roomFor,
} from "./classify.js";
export type { ClassifiableInstruction, DecodedForm, MnemonicNote, Mode } from "./classify.js";
export { COSTS, cyclesFor, WEDGE_COSTS } from "./costs.js";
export type { CostFigure } from "./costs.js";
export { describe } from "./describe.js";
export {
  CONTROL_REGISTERS,
  DEBUG_REGISTERS,
  GENERAL_REGISTERS,
  REGISTERS_BY_KIND,
  registerKind,
  SEGMENT_REGISTERS,
} from "./registers.js";
export type { RegisterKind } from "./registers.js";
export { crOffset, drOffset, sregOffset, VCPU_FLAGS, VCPU_LAYOUT, VCPU_SIZE } from "./vcpu-layout.js";
export type { VcpuField } from "./vcpu-layout.js";
export * from "./types.js";
