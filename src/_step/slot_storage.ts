// The optimizer's slots: which SlotHome holds each variable's, and their Slot objects (one per
// SlotSpec: the accumulator, and the other slots of the optimizer's rule). Store variables share
// one ArenaSlots per arena; variables in a caller's buffer one ExternalSlots per buffer. Slots are
// made the first time a variable gets a gradient (or by addSlot), all of a variable's at once.
import type { Arena } from "../memory/_arena.ts";
import type { ExternalRef } from "./external_ref.ts";
import { ExternalSlots } from "./external_slots.ts";
import { type ExternalEntry, externalRef, type StoreEntry } from "./plan.ts";
import { ArenaSlots } from "./arena_slots.ts";
import {
  type GroupFactory,
  slotFormat,
  type SlotHome,
  type SlotSpec,
  type StepEntry,
  type VariableRecord,
} from "./slot_home.ts";
import type { Variant } from "./variant.ts";
import { Slot } from "../memory/slot.ts";
import type { BufferRegion } from "../memory/buffer_region.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import { arenaOf, piecesOf, Variable, type VariablePiece } from "../memory/variable.ts";
import { halfWords } from "../_common/float16.ts";
import type { GradSource } from "./plan.ts";

export class SlotStorage {
  /** Variables in caller-owned buffers, by buffer (the planner checks overlaps against them). */
  readonly externals = new Map<GPUBuffer, ExternalSlots>();
  /** The slots every variable gets, in order. */
  readonly specs: readonly SlotSpec[];
  readonly #variant: Variant;
  readonly #label: string;
  readonly #onSlot: (slot: Slot) => void;
  /** Throws once the optimizer is destroyed: its slots then refuse every read and write. */
  readonly #assertAlive: () => void;
  /** Store variables with slots, by name. */
  readonly #byName = new Map<string, Variable>();
  readonly #arenas = new Map<Arena, ArenaSlots>();
  readonly #records = new Map<Variable, VariableRecord>();
  /** Records of variables in caller-owned buffers, by buffer and `offset:byteLength`. */
  readonly #externalRecords = new Map<GPUBuffer, Map<string, VariableRecord>>();

  /**
   * `onSlot` hears of every new slot, in creation order (Keras's `weights`); `assertAlive` throws
   * once the optimizer is destroyed.
   */
  constructor(
    variant: Variant,
    specs: readonly SlotSpec[],
    label: string,
    onSlot: (slot: Slot) => void,
    assertAlive: () => void,
  ) {
    this.#variant = variant;
    this.specs = specs;
    this.#label = label;
    this.#onSlot = onSlot;
    this.#assertAlive = assertAlive;
  }

  /** The store variable of that name with slots here, if any. */
  variableNamed(name: string): Variable | undefined {
    return this.#byName.get(name);
  }

  /** The slots of a store variable, if it has them. */
  storeRecord(variable: Variable): VariableRecord | undefined {
    return this.#records.get(variable);
  }

  /** The slots of a variable in a caller's buffer, if it has them. */
  externalRecord(ref: ExternalRef): VariableRecord | undefined {
    return this.#externalRecords.get(ref.buffer)?.get(`${ref.offset}:${ref.byteLength}`);
  }

  /** Every variable with slots: store variables first, in creation order, then external ones. */
  get records(): VariableRecord[] {
    return [
      ...this.#records.values(),
      ...[...this.#externalRecords.values()].flatMap((m) => [...m.values()]),
    ];
  }

  /** Every slot of `variable`, made and announced; `locate(k)` finds slot k's region. */
  #record(
    variable: Variable | ExternalRef,
    shape: readonly number[],
    device: GPUDevice,
    locate: (k: number) => BufferRegion | readonly BufferRegion[],
  ): VariableRecord {
    const name = variable.name;
    const slots = this.specs.map((spec, k) =>
      new Slot(spec.name, name, shape, device, () => {
        this.#assertAlive();
        return locate(k);
      }, slotFormat(spec))
    );
    for (const slot of slots) this.#onSlot(slot);
    return { name, variable, slots, updates: 0 };
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
      const record = this.#records.get(variable)!;
      if (pieces.length === 1) {
        const { index } = pieces[0];
        const { shape, byteLength } = variable;
        out.push({ home: homes[0], index, grad, shape, byteLength, record });
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
          record,
        });
      });
    }
    const indices = this.ensureExternal(makeGroup, device, external.map((e) => e.ref));
    external.forEach(({ ref, grad }, i) => {
      const home = this.externals.get(ref.buffer)!;
      const shape = [ref.byteLength / 4];
      const record = this.externalRecord(ref)!;
      out.push({ home, index: indices[i], grad, shape, byteLength: ref.byteLength, record });
    });
    return out;
  }

  /** The homes of a store variable's pieces, with its slots made. */
  ensureStore(makeGroup: GroupFactory, variable: Variable): SlotHome[] {
    const pieces = piecesOf(variable);
    const homes = pieces.map(({ arena }) => {
      let home = this.#arenas.get(arena);
      if (!home) {
        home = new ArenaSlots(makeGroup, arena, this.#variant, this.specs, this.#label);
        this.#arenas.set(arena, home);
      }
      return home;
    });
    if (!this.#records.has(variable)) {
      const shape = this.#variant.slotShape(variable.shape);
      // Slot k of each piece, in order: one region, or one per window of a split variable.
      const regions = this.specs.map((_, k) =>
        pieces.map((p, i) => {
          const pieceShape = this.#variant.slotShape([p.rows, ...variable.shape.slice(1)]);
          return homes[i].slot(p.index, pieceShape.reduce((a, b) => a * b, 1), k);
        })
      );
      const locate = (k: number) => regions[k].length === 1 ? regions[k][0] : regions[k];
      const record = this.#record(variable, shape, arenaOf(variable).device, locate);
      this.#records.set(variable, record);
      this.#byName.set(variable.name, variable);
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
        home = new ExternalSlots(device, makeGroup, buffer, this.specs);
        this.externals.set(buffer, home);
      }
      const h = home;
      h.add(list).forEach((index, i) => {
        const ref = list[i];
        const elements = ref.byteLength / 4;
        // Looked up on each use: the slots move when the buffer gains a variable.
        const record = this.#record(
          ref,
          [elements],
          device,
          (k) => h.slot(index, elements, k),
        );
        let records = this.#externalRecords.get(buffer);
        if (!records) this.#externalRecords.set(buffer, records = new Map());
        records.set(`${ref.offset}:${ref.byteLength}`, record);
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
