// One call of an optimizer as the step needs it: the record a rule makes for each call
// (src/rules/rule.ts) and the optimizer completes with what it says of each variable; the step
// runner and the pipeline carry it unchanged.
import type { StepEntry } from "./slot_home.ts";
import type { StepValues } from "./uniforms.ts";
import type { VariableTerms } from "./update_group.ts";

/** What one call writes into the step's uniforms, and how the step runs. */
export interface StepCall {
  /** lr_t for the call `j` calls back (0: this one), for skipNonFinite's table. */
  lrAt(j: number): number;
  values: StepValues;
  /** Keras 3's gradient accumulation: a call that only adds, or the update. */
  accumulation?: "add" | "update";
  /** What the rule says of each entry's variable (weight decay, its lag); none if absent. */
  variableTerms?(entry: StepEntry): VariableTerms;
}
