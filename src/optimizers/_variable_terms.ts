// What a rule says of each variable of a call (VariableTerms, written into its tiles): whether
// the rule's weight decay applies to it (Keras 3's exclude_from_weight_decay, decided once per
// variable as Keras caches it) and, for a rule that counts each variable's own steps (PyTorch's
// `state["step"]`), its lag behind the call: counted as the step is encoded, undone if it fails.
import type { StepCall } from "../_step/step_call.ts";
import type { StepEntry, VariableRecord } from "../_step/slot_home.ts";
import type { VariableTerms } from "../_step/update_group.ts";
import type { ResolvedOptions } from "../rules/_options.ts";
import type { Rule } from "../rules/rule.ts";
import { excluded, type Exclusions, parseExclusions } from "./_keras3_methods.ts";

export class VariableTermsOf {
  readonly #rule: Rule;
  readonly #options: ResolvedOptions;
  #exclusions: Exclusions = parseExclusions({});
  #decays = new WeakMap<VariableRecord, boolean>();

  constructor(rule: Rule, options: ResolvedOptions) {
    this.#rule = rule;
    this.#options = options;
  }

  /** Keras 3's `exclude_from_weight_decay()`: replaces the exclusions, checked first. */
  exclude(exclusions: unknown): void {
    this.#exclusions = parseExclusions(exclusions);
    this.#decays = new WeakMap();
  }

  /** `call` with its variables' terms, and how to take back the steps it counted. */
  forCall(call: StepCall): { call: StepCall; undo(): void } {
    const stepped: VariableRecord[] = [];
    const variableTerms = (entry: StepEntry): VariableTerms => {
      const record = entry.record;
      if (this.#rule.variableSteps) {
        // Once per variable: the windows of a variable past one binding are one variable.
        if (!entry.piece?.continues) {
          record.updates++;
          stepped.push(record);
        }
        return { decay: 1, lag: (call.values.step ?? 1) - record.updates };
      }
      return { decay: this.#decaysFor(record) ? 1 : 0, lag: 0 };
    };
    return {
      call: { ...call, variableTerms },
      undo: () => {
        for (const record of stepped) record.updates--;
        stepped.length = 0;
      },
    };
  }

  /** Whether the rule's per-variable weight decay applies to the variable. */
  #decaysFor(record: VariableRecord): boolean {
    if (!this.#rule.decays?.(this.#options)) return false;
    let decay = this.#decays.get(record);
    if (decay === undefined) {
      decay = !excluded(this.#exclusions, record.variable);
      this.#decays.set(record, decay);
    }
    return decay;
  }
}
