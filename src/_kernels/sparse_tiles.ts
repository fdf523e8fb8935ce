// Sparse tile tables (`SparseTileTable`), read by the sparse update and the row kernel: runs of a
// sparse gradient's sorted block, or identity tiles of rows for a row-wise group's dense gradient.
// One packer writes every SparseTile.
import { SPARSE_TILE, SPARSE_TILE_TABLE } from "./shader_interface.ts";
import type { TileSource } from "./tiles.ts";

/** One SparseTile's fields (shaders/_interface.wgsl says what each holds). */
export interface SparseTileFields {
  varOffset: number;
  slotOffset: number;
  width: number;
  variable: number;
  nnzBase: number;
  nnz: number;
  rowBase: number;
  rows: number;
  valueBase: number;
  start: number;
  length: number;
  identity: number;
  lag: number;
}

/** u32 words of a sparse tile table of `tiles` tiles (at least one tile's room). */
export function sparseTableWords(tiles: number): number {
  return SPARSE_TILE_TABLE.words + Math.max(tiles, 1) * SPARSE_TILE.words;
}

/** Writes tile `t` of the table in `out`. */
export function writeSparseTile(out: Uint32Array, t: number, f: SparseTileFields): void {
  const w = SPARSE_TILE_TABLE.words + t * SPARSE_TILE.words;
  const at = SPARSE_TILE.at;
  out[w + at.var_offset] = f.varOffset;
  out[w + at.slot_offset] = f.slotOffset;
  out[w + at.width] = f.width;
  out[w + at.variable] = f.variable;
  out[w + at.nnz_base] = f.nnzBase;
  out[w + at.nnz] = f.nnz;
  out[w + at.row_base] = f.rowBase;
  out[w + at.rows] = f.rows;
  out[w + at.value_base] = f.valueBase;
  out[w + at.start] = f.start;
  out[w + at.length] = f.length;
  out[w + at.identity] = f.identity;
  out[w + at.lag] = f.lag;
}

/** Sets the table's tile count; returns the words used. */
export function finishSparseTable(out: Uint32Array, tiles: number): number {
  out[SPARSE_TILE_TABLE.at.count] = tiles;
  return SPARSE_TILE_TABLE.words + tiles * SPARSE_TILE.words;
}

/**
 * A row-wise group's dense update: identity tiles of `unit` rows each over every source (`widths`
 * elements per row), each row's gradient where it lies in the gradient arena (mirroring the
 * variables). Returns the tile count.
 */
export function writeRowTiles(
  sources: readonly TileSource[],
  widths: readonly number[],
  unit: number,
  out: Uint32Array,
): number {
  let t = 0;
  sources.forEach((s, k) => {
    const rows = s.length / widths[k];
    for (let start = 0; start < rows; start += unit, t++) {
      writeSparseTile(out, t, {
        varOffset: s.varOffset,
        slotOffset: s.slotOffset,
        width: widths[k],
        variable: s.id,
        nnzBase: 0,
        nnz: rows,
        rowBase: 0,
        rows,
        valueBase: s.varOffset,
        start,
        length: Math.min(unit, rows - start),
        identity: 1,
        lag: s.lag ?? 0,
      });
    }
  });
  return t;
}

/** One staged sparse gradient of a group: where it goes and where its data lies. */
export interface SparseTileSource {
  member: { varOffset: number; slotOffset: number };
  staged: {
    width: number;
    nnzBase: number;
    nnz: number;
    rowBase: number;
    rows: number;
    valueBase: number;
  };
  id: number;
  lag: number;
}

/**
 * The sparse update's tiles: runs of `tilings[k].unit` of each source's sorted block, in table
 * order or at the positions `dealt` gives (dealtOrder). Returns the tile count.
 */
export function writeSparseTiles(
  sources: readonly SparseTileSource[],
  tilings: readonly { unit: number; length: number }[],
  dealt: Uint32Array | null,
  out: Uint32Array,
): number {
  let t = 0;
  sources.forEach(({ member, staged, id, lag }, k) => {
    const { unit, length } = tilings[k];
    for (let start = 0; start < length; start += unit, t++) {
      writeSparseTile(out, dealt ? dealt[t] : t, {
        varOffset: member.varOffset,
        slotOffset: member.slotOffset,
        width: staged.width,
        variable: id,
        nnzBase: staged.nnzBase,
        nnz: staged.nnz,
        rowBase: staged.rowBase,
        rows: staged.rows,
        valueBase: staged.valueBase,
        start,
        length: Math.min(unit, length - start),
        identity: 0,
        lag,
      });
    }
  });
  return t;
}
