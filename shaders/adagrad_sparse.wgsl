// requires: _interface.wgsl
// requires: _dispatch.wgsl
// requires: _gradient.wgsl
// requires: _rules.wgsl
// requires: _sparse_update.wgsl
// Sparse gradients, step 3: Keras's IndexedSlices update, after sparse_keys.wgsl and
// bitonic_sort.wgsl have put each row's duplicates side by side. Per touched row, as Keras does:
//
//   g     <- sum over the row's duplicates, in the caller's order, of clip(value)
//   accum <- accum + g * g
//   var   <- var - (g * lr) / (sqrt(accum) + epsilon)
//
// where clip is clipvalue, then clipnorm (the norm of the raw value rows, duplicates counted
// separately) or global_clipnorm. Only the first of a row's duplicates writes, so each row is
// updated once and rows nobody touched keep their bits. One thread per element of the sorted
// (nnz x width) block: the work grows with nnz x width, not with the table's rows. The tiles'
// `identity` is row-wise Adagrad's (rowwise_adagrad.wgsl); this kernel ignores it. The rule RULE
// names (`rule_step`, shaders/rules/) computes each element's step, with its own learning rate
// (`rule_lr`, from the tile's `lag`); options that act on whole variables (weight decay, Keras 3's
// moving average and accumulation) are refused for IndexedSlices before the step. A rule's sums
// (RULE_SUMS) are kept in `gradient_sums`.

@compute @workgroup_size(WORKGROUP_SIZE)
fn sparse_update(id: Invocation) {
  let tile = sparse_tile(id);
  let last = tile.start + max(tile.length, 1u) - 1u;
  if (keys_outside(tile, tile.start / max(tile.width, 1u), last / max(tile.width, 1u))) {
    return;
  }
  let args = rule_args(params);
  let lr = rule_lr(step_lr(params, verdict), params.step, tile.lag, args);
  let rates = RuleRates(lr, params.epsilon, params.step, args, false);
  let unscale = verdict.unscale;
  var divisor = 1.0;
  if (NORM_MODE == NORM_CLIPNORM) {
    divisor = norms.divisors[tile.variable];
  }
  let end = tile.nnz_base + tile.nnz;
  // Element e is (sorted position s, column): divided once, then stepped, since an integer
  // division per element is costly where it is not a native vector instruction (CPU adapters).
  let first = tile.start + id.lane;
  var s = first / tile.width;
  var column = first - s * tile.width;
  let rows_step = WORKGROUP_SIZE / tile.width;
  let columns_step = WORKGROUP_SIZE - rows_step * tile.width;
  for (var e = first; e < tile.start + tile.length; e += WORKGROUP_SIZE) {
    if (e != first) {
      s += rows_step;
      column += columns_step;
      if (column >= tile.width) {
        column -= tile.width;
        s += 1u;
      }
    }
    let p = tile.nnz_base + s;
    let key = pairs[p].x;
    let row = key - tile.row_base;
    // Out of range (skipped and counted by sparse_keys), or not the first of its duplicates.
    if (row >= tile.rows || (s > 0u && pairs[p - 1u].x == key)) {
      continue;
    }
    var g = 0.0;
    for (var q = p; q < end && pairs[q].x == key; q++) {
      let x = values[tile.value_base + (pairs[q].y - tile.nnz_base) * tile.width + column];
      g += clip(x, params, unscale, divisor, norms.global_scale);
    }
    let slot = tile.slot_offset + row * tile.width + column;
    let v = tile.var_offset + row * tile.width + column;
    var state = RuleState(0.0, load_accumulator(slot), 0.0);
    if (RULE_READS_VARIABLE) {
      state.variable = load_variable(v);
    }
    if (RULE_SUMS) {
      state.gradient_sum = load_gradient_sum(slot);
    }
    let stepped = rule_step(g, state, rates);
    store_accumulator(slot, stepped.accumulator);
    store_variable(v, stepped.variable);
    if (RULE_SUMS) {
      store_gradient_sum(slot, stepped.gradient_sum);
    }
  }
}
