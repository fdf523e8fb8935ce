// The optimizer's accumulators: which SlotHome holds each variable's, and its Slot object. Store
// variables share one ArenaSlots per arena; variables in a caller's buffer one ExternalSlots per
// buffer. Slots are made the first time a variable gets a gradient (or by addSlot).
import type { Arena } from "../memory/_arena.ts";
import type { ExternalRef } from "./external_ref.ts";
import { ExternalSlots } from "./external_slots.ts";
import { type ExternalEntry, externalRef, type StoreEntry } from "./plan.ts";
import { ArenaSlots } from "./arena_slots.ts";
import type { GroupFactory, SlotHome, StepEntry } from "./slot_home.ts";
import type { Variant } from "./variant.ts";
import { Slot } from "../memory/slot.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import { arenaOf, piecesOf, Variable, type VariablePiece } from "../memory/variable.ts";
import type { BufferRegion } from "../memory/buffer_region.ts";
import { halfWords } from "../_common/float16.ts";
import type { GradSource } from "./plan.ts";

/** The accumulator's slot name. */
export const SLOT = "accumulator";

export class SlotStorage {
  /** Variables in caller-owned buffers, by buffer (the planner checks overlaps against them). */
  readonly externals = new Map<GPUBuffer, ExternalSlots>();
  readonly #variant: Variant;
  readonly #initialValue: number;
  readonly #label: string;
  readonly #onSlot: (slot: Slot) => void;
  /** Throws once the optimizer is destroyed: its slots then refuse every read and write. */
  readonly #assertAlive: () => void;
  /** Store variables with a slot, by name. */
  readonly #byName = new Map<string, Variable>();
  readonly #arenas = new Map<Arena, ArenaSlots>();
  readonly #slots = new Map<Variable, Slot>();
  /** Slots of variables in caller-owned buffers, by buffer and `offset:byteLength`. */
  readonly #externalSlots = new Map<GPUBuffer, Map<string, Slot>>();

  /**
   * `onSlot` hears of every new slot, in creation order (Keras's `weights`); `assertAlive` throws
   * once the optimizer is destroyed.
   */
  constructor(
    variant: Variant,
    initialValue: number,
    label: string,
    onSlot: (slot: Slot) => void,
    assertAlive: () => void,
  ) {
    this.#variant = variant;
    this.#initialValue = initialValue;
    this.#label = label;
    this.#onSlot = onSlot;
    this.#assertAlive = assertAlive;
  }

  /** The store variable of that name with a slot here, if any. */
  variableNamed(name: string): Variable | undefined {
    return this.#byName.get(name);
  }

  /** The accumulator of a store variable, if it has one. */
  storeSlot(variable: Variable): Slot | undefined {
    return this.#slots.get(variable);
  }

  /** The accumulator of a variable in a caller's buffer, if it has one. */
  externalSlot(ref: ExternalRef): Slot | undefined {
    return this.#externalSlots.get(ref.buffer)?.get(`${ref.offset}:${ref.byteLength}`);
  }

  /**
   * `addSlot`: makes `variable`'s slot now. `device` is the optimizer's, if it has one yet;
   * `prepare` gives the group factory of the device the slot will live on.
   */
  add(
    variable: VariableRef,
    device: GPUDevice | undefined,
    prepare: (device: GPUDevice) => GroupFactory,
  ): void {
    if (variable instanceof Variable) {
      const arena = arenaOf(variable);
      arena.assertAlive(`variable '${variable.name}'`);
      if (device && device !== arena.device) {
        throw new TypeError(`variable '${variable.name}' lives on another GPUDevice`);
      }
      this.ensureStore(prepare(arena.device), variable);
      return;
    }
    const ref = externalRef(variable, "addSlot");
    this.#variant.checkExternal(this.#label, ref.name);
    if (!device) throw new TypeError("addSlot: pass `device` to the Adagrad constructor first");
    this.ensureExternal(prepare(device), device, [ref]);
  }

  /**
   * Makes the slots of the step's variables that have none (Keras creates them before applying)
   * and resolves every entry to its home: store variables first, then those in caller buffers.
   */
  resolve(
    makeGroup: GroupFactory,
    device: GPUDevice,
    entries: readonly (StoreEntry | ExternalEntry)[],
  ): StepEntry[] {
    const out: StepEntry[] = [];
    const external: ExternalEntry[] = [];
    for (const e of entries) {
      if (e.kind === "external") {
        external.push(e);
        continue;
      }
      const { variable, grad, pieces } = e;
      const homes = this.ensureStore(makeGroup, variable);
      if (pieces.length === 1) {
        const { index } = pieces[0];
        const { shape, byteLength } = variable;
        out.push({ home: homes[0], index, grad, shape, byteLength });
        continue;
      }
      const width = variable.length / variable.shape[0]; // a split variable has rows
      pieces.forEach((p, k) => {
        out.push({
          home: homes[k],
          index: p.index,
          grad: pieceGradient(grad, p),
          shape: [p.rows, ...variable.shape.slice(1)],
          byteLength: 4 * p.length,
          piece: { firstRow: p.first / width, continues: k > 0 },
        });
      });
    }
    const indices = this.ensureExternal(makeGroup, device, external.map((e) => e.ref));
    external.forEach(({ ref, grad }, i) => {
      const home = this.externals.get(ref.buffer)!;
      const shape = [ref.byteLength / 4];
      out.push({ home, index: indices[i], grad, shape, byteLength: ref.byteLength });
    });
    return out;
  }

  /** The homes of a store variable's pieces, with its slot made. */
  ensureStore(makeGroup: GroupFactory, variable: Variable): SlotHome[] {
    const pieces = piecesOf(variable);
    const homes = pieces.map(({ arena }) => {
      let home = this.#arenas.get(arena);
      if (!home) {
        home = new ArenaSlots(makeGroup, arena, this.#variant, this.#initialValue, this.#label);
        this.#arenas.set(arena, home);
      }
      return home;
    });
    if (!this.#slots.has(variable)) {
      const arena = arenaOf(variable);
      const shape = this.#variant.slotShape(variable.shape);
      const regions: BufferRegion[] = pieces.map((p: VariablePiece, k) => {
        const pieceShape = this.#variant.slotShape([p.rows, ...variable.shape.slice(1)]);
        return homes[k].accumulator(p.index, pieceShape.reduce((a, b) => a * b, 1));
      });
      const slot = new Slot(SLOT, variable.name, shape, arena.device, () => {
        this.#assertAlive();
        return regions.length === 1 ? regions[0] : regions;
      });
      this.#slots.set(variable, slot);
      this.#byName.set(variable.name, variable);
      this.#onSlot(slot);
    }
    return homes;
  }

  /** Registers new variables in caller buffers; returns each one's member index in its home. */
  ensureExternal(
    makeGroup: GroupFactory,
    device: GPUDevice,
    refs: readonly ExternalRef[],
  ): number[] {
    const fresh = new Map<GPUBuffer, ExternalRef[]>();
    for (const ref of refs) {
      if ((this.externals.get(ref.buffer)?.indexOf(ref.offset, ref.byteLength) ?? -1) >= 0) {
        continue;
      }
      const list = fresh.get(ref.buffer) ?? [];
      list.push(ref);
      fresh.set(ref.buffer, list);
    }
    for (const [buffer, list] of fresh) {
      let home = this.externals.get(buffer);
      if (!home) {
        home = new ExternalSlots(device, makeGroup, buffer, this.#initialValue);
        this.externals.set(buffer, home);
      }
      const h = home;
      h.add(list).forEach((index, i) => {
        const ref = list[i];
        const elements = ref.byteLength / 4;
        // Looked up on each use: the accumulators move when the buffer gains a variable.
        const slot = new Slot(
          SLOT,
          ref.name,
          [elements],
          device,
          () => {
            this.#assertAlive();
            return h.accumulator(index, elements);
          },
        );
        let slots = this.#externalSlots.get(buffer);
        if (!slots) this.#externalSlots.set(buffer, slots = new Map());
        slots.set(`${ref.offset}:${ref.byteLength}`, slot);
        this.#onSlot(slot);
      });
    }
    return refs.map((ref) => this.externals.get(ref.buffer)!.indexOf(ref.offset, ref.byteLength));
  }

  destroy(): void {
    for (const home of this.#arenas.values()) home.destroy();
    for (const home of this.externals.values()) home.destroy();
  }
}

/** A dense gradient of a variable past one binding, cut to one piece. */
function pieceGradient(grad: GradSource, piece: VariablePiece): GradSource {
  const { first, length } = piece;
  switch (grad.kind) {
    case "upload":
      // Float16 halves are padded to whole 32-bit words, as every upload is.
      return {
        kind: "upload",
        data: grad.data instanceof Float32Array
          ? grad.data.subarray(first, first + length)
          : halfWords(grad.data.subarray(first, first + length)),
      };
    case "copy": {
      const bytes = piece.arena.gradDtype === "float16" ? 2 : 4;
      return { kind: "copy", buffer: grad.buffer, offset: grad.offset + bytes * first };
    }
    default:
      return grad; // in place, or an IndexedSlices staged once for every piece
  }
}
