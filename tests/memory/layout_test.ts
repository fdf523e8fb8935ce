// Arena packing and tile tables: pure arithmetic, no GPU.
import { test } from "node:test";
import assert from "node:assert/strict";
import { alignUp, ArenaPacker } from "../../src/_common/layout.ts";
import {
  dispatchGrid,
  TILE_FIELDS,
  TILE_HEADER_BYTES,
  tilesFor,
  writeTiles,
} from "../../src/_kernels/tiles.ts";
import { rng } from "../_reference.ts";

test("packer: aligned offsets, no overlap, arenas never exceed their limit", () => {
  const random = rng(3);
  const packer = new ArenaPacker(256, 10_000);
  const placed: { arena: number; offset: number; bytes: number }[] = [];
  for (let i = 0; i < 500; i++) {
    const bytes = 4 * (1 + Math.floor(random() * 2500));
    placed.push({ ...packer.place(bytes), bytes });
  }
  for (const [i, p] of placed.entries()) {
    assert.equal(p.offset % 256, 0, `offset ${p.offset} unaligned`);
    assert.ok(p.offset + p.bytes <= 10_000, `variable ${i} ends past its arena`);
    const prev = placed[i - 1];
    if (prev && prev.arena === p.arena) {
      assert.ok(p.offset >= alignUp(prev.offset + prev.bytes, 256), `variable ${i} overlaps`);
    } else if (prev) {
      assert.equal(p.arena, prev.arena + 1);
      assert.equal(p.offset, 0);
      // It really did not fit in the previous arena.
      assert.ok(alignUp(prev.offset + prev.bytes, 256) + p.bytes > 10_000);
    }
  }
  assert.ok(placed.at(-1)!.arena > 10);
});

test("packer: seal closes the open arena; too-large variables are refused", () => {
  const packer = new ArenaPacker(32, 1024);
  assert.deepEqual(packer.place(8), { arena: 0, offset: 0 });
  assert.deepEqual(packer.place(8), { arena: 0, offset: 32 });
  packer.seal();
  assert.deepEqual(packer.place(1024), { arena: 1, offset: 0 });
  assert.deepEqual(packer.place(4), { arena: 2, offset: 0 });
  packer.seal();
  packer.seal(); // sealing an empty arena does nothing
  assert.deepEqual(packer.place(4), { arena: 3, offset: 0 });
  assert.equal(packer.fits(1028), false);
  assert.throws(() => packer.place(1028), RangeError);
  assert.throws(() => new ArenaPacker(6, 1024), RangeError);
  assert.throws(() => new ArenaPacker(32, 1022), RangeError);
});

test("tiles cover every element of the chosen variables exactly once, never straddling two", () => {
  const random = rng(8);
  const sources = Array.from({ length: 40 }, (_, id) => ({
    varOffset: id * 100_000 + 7,
    slotOffset: id * 100_000,
    length: 1 + Math.floor(random() * 20_000),
    id,
  }));
  const tile = 4096;
  const capacity = sources.reduce((n, s) => n + tilesFor(s.length, tile), 0);
  const words = new Uint32Array(TILE_HEADER_BYTES / 4 + capacity * TILE_FIELDS);
  const count = writeTiles(sources, tile, words);
  assert.equal(count, capacity);
  assert.equal(words[0], count);
  const covered = new Map<number, number>();
  for (let t = 0; t < count; t++) {
    const at = 4 + TILE_FIELDS * t;
    const [varOffset, slotOffset, length, id] = words.subarray(at, at + 4);
    const s = sources[id];
    assert.ok(length >= 1 && length <= tile);
    assert.equal(varOffset - s.varOffset, slotOffset - s.slotOffset);
    assert.ok(slotOffset >= s.slotOffset && slotOffset + length <= s.slotOffset + s.length);
    covered.set(id, (covered.get(id) ?? 0) + length);
  }
  for (const s of sources) assert.equal(covered.get(s.id), s.length);
});

test("dispatch grid stays within the per-dimension limit and covers every tile", () => {
  for (const n of [1, 65_535, 65_536, 200_000, 1_000_003]) {
    const [x, y] = dispatchGrid(n, 65_535);
    assert.ok(x <= 65_535 && y <= 65_535);
    assert.ok(x * y >= n && x * (y - 1) < n, `n=${n}: ${x}x${y}`);
  }
});
