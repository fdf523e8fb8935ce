// Tile tables: the map from workgroups to runs of one variable, read by the fused kernels.
import { REDUCE_TILE_ELEMENTS } from "./kernels.ts";
import { TILE, TILE_TABLE } from "./shader_interface.ts";

/** Bytes of the table header (`TileTable`: count, partial_base, padding), before the first tile. */
export const TILE_HEADER_BYTES = TILE_TABLE.bytes;
/** u32 fields per tile (`Tile`): var_offset, slot_offset, length, variable, decay, lag. */
export const TILE_FIELDS = TILE.words;

/** One variable's part in a step: element offsets and the element count. */
export interface TileSource {
  /** Element offset of the variable in the bound variable buffer. */
  varOffset: number;
  /** Element offset of its gradient and accumulator in the bound slot buffers. */
  slotOffset: number;
  /** Elements. */
  length: number;
  /** The variable's index among the step's variables (indexes per-variable norms). */
  id: number;
  /** 1 when weight decay applies to the variable (0 when absent). */
  decay?: number;
  /** PyTorch: the optimizer's steps the variable missed (0 when absent). */
  lag?: number;
}

/**
 * The step's variables, numbered in order, with the range of partial sums each one's tiles own:
 * the one numbering that the tile tables, the variable table and the sparse value tiles follow.
 */
export class StepNumbering {
  variables = 0;
  partials = 0;
  readonly firsts: number[] = [];
  readonly counts: number[] = [];

  /**
   * Numbers a variable of `length` elements, one partial sum per reduction tile (of
   * REDUCE_TILE_ELEMENTS); returns its index.
   */
  add(length: number): number {
    const tiles = tilesFor(length, REDUCE_TILE_ELEMENTS);
    this.firsts.push(this.partials);
    this.counts.push(tiles);
    this.partials += tiles;
    return this.variables++;
  }

  /**
   * Adds `length` more elements to the last variable numbered (the next piece of a variable past
   * one binding: one variable, one norm, its partial sums contiguous); returns its index.
   */
  extend(length: number): number {
    const tiles = tilesFor(length, REDUCE_TILE_ELEMENTS);
    this.counts[this.counts.length - 1] += tiles;
    this.partials += tiles;
    return this.variables - 1;
  }
}

/** Number of tiles `length` elements take. */
export function tilesFor(length: number, tileElements: number): number {
  return Math.ceil(length / tileElements);
}

/** u32 words of the table `writeTiles` writes for `sources` (at least one tile's room). */
export function tableWords(sources: readonly { length: number }[], tileElements: number): number {
  const tiles = sources.reduce((n, s) => n + tilesFor(s.length, tileElements), 0);
  return TILE_TABLE.words + Math.max(tiles, 1) * TILE.words;
}

/** u32 words a tile table of `tiles` tiles uses (what `writeTiles` wrote, to upload). */
export function tableUsed(tiles: number): number {
  return TILE_TABLE.words + tiles * TILE.words;
}

/**
 * Writes the tile table for `sources` into `out` (u32 words: a 4-word header holding the tile
 * count and `partialBase`, the index of this table's first tile among the step's partial sums,
 * then TILE_FIELDS words per tile) and returns the number of tiles. Tiles never straddle two variables, so
 * a per-tile partial sum belongs to exactly one variable.
 */
export function writeTiles(
  sources: readonly TileSource[],
  tileElements: number,
  out: Uint32Array,
  partialBase = 0,
): number {
  let t = 0;
  for (const s of sources) {
    for (let start = 0; start < s.length; start += tileElements) {
      const w = TILE_TABLE.words + t * TILE.words;
      out[w + TILE.at.var_offset] = s.varOffset + start;
      out[w + TILE.at.slot_offset] = s.slotOffset + start;
      out[w + TILE.at.length] = Math.min(tileElements, s.length - start);
      out[w + TILE.at.variable] = s.id;
      out[w + TILE.at.decay] = s.decay ?? 0;
      out[w + TILE.at.lag] = s.lag ?? 0;
      t++;
    }
  }
  out[TILE_TABLE.at.count] = t;
  out[TILE_TABLE.at.partial_base] = partialBase;
  return t;
}

/** Workgroup grid for `tiles` workgroups, within `maxPerDimension` per dimension. */
export function dispatchGrid(tiles: number, maxPerDimension: number): [number, number] {
  if (tiles <= maxPerDimension) return [tiles, 1];
  const y = Math.ceil(tiles / maxPerDimension);
  return [Math.ceil(tiles / y), y];
}

/** Records one dispatch of `pipeline` over `workgroups` workgroups (a 2-D grid past the limit). */
export function dispatch(
  pass: GPUComputePassEncoder,
  pipeline: GPUComputePipeline,
  group: GPUBindGroup,
  workgroups: number,
  maxPerDimension: number,
  offsets?: number[],
): void {
  pass.setPipeline(pipeline);
  if (offsets) pass.setBindGroup(0, group, offsets);
  else pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(...dispatchGrid(workgroups, maxPerDimension));
}

/**
 * Fills `positions[k]` with the table position of tile k of `count`, the tiles dealt out in
 * bit-reversed order: position p holds tile reverse(p), skipping reversals past the count. Any run
 * of consecutive tiles is then spread over the whole dispatch, each of 2^j equal blocks of it
 * getting an even share of a run of at least 2^j tiles, whatever the run's length. lavapipe splits
 * a dispatch's workgroups between its threads in contiguous blocks, and a window of a variable past
 * one binding has work only in the tiles of its rows, a run of consecutive tiles that in table
 * order would all fall to one thread.
 */
export function dealtOrder(count: number, positions: Uint32Array): void {
  let bits = 0;
  while (2 ** bits < count) bits++;
  let next = 0;
  for (let p = 0; p < 2 ** bits; p++) {
    let tile = 0;
    for (let b = 0, x = p; b < bits; b++, x >>= 1) tile = tile * 2 + (x & 1);
    if (tile < count) positions[tile] = next++;
  }
}
