// Tile tables: the map from workgroups to runs of one variable, read by the fused kernels.

/** Bytes of the table header (`count`, `partial_base`, padding), before the first tile. */
export const TILE_HEADER_BYTES = 16;
/** u32 fields per tile: var_offset, slot_offset, length, variable. */
export const TILE_FIELDS = 4;

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
}

/** Number of tiles `length` elements take. */
export function tilesFor(length: number, tileElements: number): number {
  return Math.ceil(length / tileElements);
}

/**
 * Writes the tile table for `sources` into `out` (u32 words: a 4-word header holding the tile
 * count and `partialBase`, the index of this table's first tile among the step's partial sums,
 * then 4 words per tile) and returns the number of tiles. Tiles never straddle two variables, so
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
      const w = TILE_HEADER_BYTES / 4 + t * TILE_FIELDS;
      out[w] = s.varOffset + start;
      out[w + 1] = s.slotOffset + start;
      out[w + 2] = Math.min(tileElements, s.length - start);
      out[w + 3] = s.id;
      t++;
    }
  }
  out[0] = t;
  out[1] = partialBase;
  return t;
}

/** Workgroup grid for `tiles` workgroups, within `maxPerDimension` per dimension. */
export function dispatchGrid(tiles: number, maxPerDimension: number): [number, number] {
  if (tiles <= maxPerDimension) return [tiles, 1];
  const y = Math.ceil(tiles / maxPerDimension);
  return [Math.ceil(tiles / y), y];
}
