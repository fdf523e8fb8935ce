// TfjsAdagrad's options and its working copies: rowWise, a schedule and epsilonInsideSqrt against
// the float64 reference; variables assigned, or stepped by another optimizer, are read anew.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { ExponentialDecay, RowWiseAdagrad } from "../../mod.ts";
import { TfjsAdagrad } from "../../tfjs.ts";
import {
  assertAllClose,
  randomValues,
  type RefState,
  refState,
  refStep,
  rng,
} from "../_reference.ts";
import { refRowWiseStep } from "../_reference.ts";
import { assertMoved } from "../_moved.ts";
import { readFresh, tfjsOnSharedDevice, withTfjs } from "./_tfjs.ts";
import { Keras3Reference, keras3State, torchState, torchStep } from "../_rules_reference.ts";
import { adagradDAStep, denseRows, familyState, proximalStep } from "../_proximal_reference.ts";

test("TfjsAdagrad: rowWise matches the float64 row-wise reference", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(61);
    const [rows, width] = [37, 5];
    const t0 = randomValues(random, rows * width);
    const b0 = randomValues(random, 67);
    const table = tf.variable(tf.tensor2d(t0, [rows, width]), true, "tfjs_rw_table");
    const bias = tf.variable(tf.tensor1d(b0), true, "tfjs_rw_bias");
    const opt = new TfjsAdagrad({ learningRate: 0.2, initialAccumulatorValue: 0.3, rowWise: true });
    const st: RefState = { value: Float64Array.from(t0), accum: new Float64Array(rows).fill(0.3) };
    const sb: RefState = { value: Float64Array.from(b0), accum: new Float64Array(67).fill(0.3) };
    for (let step = 0; step < 4; step++) {
      const gt = randomValues(random, rows * width);
      const gb = randomValues(random, 67);
      const tensors = [tf.tensor2d(gt, [rows, width]), tf.tensor1d(gb)];
      opt.applyGradients({ tfjs_rw_table: tensors[0], tfjs_rw_bias: tensors[1] });
      tf.dispose(tensors);
      refRowWiseStep(st, width, null, gt, Math.fround(0.2), 1e-7);
      refRowWiseStep(sb, 1, null, gb, Math.fround(0.2), 1e-7); // a vector: one row per element
    }
    assertAllClose(await table.data() as Float32Array, st.value, "table", 1e-5, 1e-6);
    assertAllClose(await bias.data() as Float32Array, sb.value, "bias", 1e-5, 1e-6);
    const weights = await opt.getWeights();
    assert.deepEqual(weights.map((w) => [w.name, w.tensor.shape]), [
      ["iter", []],
      ["tfjs_rw_table/accumulator", [rows]],
      ["tfjs_rw_bias/accumulator", [67]],
    ]);
    assertAllClose(weights[1].tensor.dataSync(), st.accum, "table accumulator", 1e-5, 1e-6);
    assert.equal(opt.getConfig().row_wise, true);
    const again = TfjsAdagrad.fromConfig(TfjsAdagrad, opt.getConfig()) as TfjsAdagrad;
    assert.ok(again.adagrad instanceof RowWiseAdagrad, "fromConfig keeps row_wise");
    assert.deepEqual(again.getConfig(), opt.getConfig());
    again.dispose();
    opt.dispose();
    tf.dispose([table, bias]);
  }));

test("TfjsAdagrad: an ExponentialDecay schedule matches the float64 reference", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(71);
    const w0 = randomValues(random, 83);
    const w = tf.variable(tf.tensor1d(w0), true, "tfjs_sched_w");
    const schedule = new ExponentialDecay(0.4, 2, 0.5);
    const opt = new TfjsAdagrad({ learningRate: schedule });
    const state = refState(w0, 0.1);
    for (let step = 0; step < 5; step++) {
      const g = randomValues(random, 83);
      const gt = tf.tensor1d(g);
      opt.minimize(() => tf.sum(tf.mul(w, gt)) as tf.Scalar); // d/dw sum(w * g) = g
      gt.dispose();
      refStep(state, g, 0.4 * 0.5 ** (step / 2), 1e-7);
    }
    assertAllClose(await w.data() as Float32Array, state.value, "w", 1e-5, 1e-6);
    assert.equal(opt.learningRate, schedule);
    assert.deepEqual(
      (opt.getConfig().learning_rate as { class_name: string }).class_name,
      "ExponentialDecay",
    );
    opt.dispose();
    w.dispose();
  }));

test("TfjsAdagrad: a variable assigned or stepped elsewhere between steps is read anew", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(81);
    const w0 = randomValues(random, 53);
    const init = tf.tensor1d(w0);
    const w = tf.variable(init, true, "tfjs_sync_w");
    init.dispose(); // the variable's first buffer goes back to TF.js's pool at the assign below
    const a = new TfjsAdagrad({ learningRate: 0.3 });
    const b = new TfjsAdagrad({ learningRate: 0.1 });
    const sa = refState(w0, 0.1); // a's accumulator (its value is not used after the assign)
    const sb = refState(w0, 0.1);
    const step = (opt: TfjsAdagrad, s: RefState, lr: number, value: Float64Array) => {
      const g = randomValues(random, 53);
      const gt = tf.tensor1d(g);
      opt.applyGradients({ tfjs_sync_w: gt });
      gt.dispose();
      s.value = Float64Array.from(value);
      refStep(s, g, Math.fround(lr), 1e-7);
      return s.value;
    };
    let value = step(a, sa, 0.3, sa.value);
    // assign swaps the variable's data: a's next step starts from the new values, although TF.js
    // may give the new data the old data's buffer (from its pool): only the dataId tells them apart.
    const fresh = randomValues(random, 53);
    const t = tf.tensor1d(fresh);
    w.assign(t);
    t.dispose();
    value = step(a, sa, 0.3, Float64Array.from(fresh));
    // b writes the same buffer in place (same dataId): a must see b's result, and b a's.
    value = step(b, sb, 0.1, value);
    value = step(a, sa, 0.3, value);
    value = step(b, sb, 0.1, value);
    assertAllClose(await w.data() as Float32Array, value, "w", 1e-5, 1e-6);
    a.dispose();
    b.dispose();
    w.dispose();
  }));

test("TfjsAdagrad: epsilonInsideSqrt is TF.js's rule where it differs from Keras's", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(91);
    const w0 = randomValues(random, 45);
    const ours = tf.variable(tf.tensor1d(w0), true, "tfjs_eps_ours");
    const theirs = tf.variable(tf.tensor1d(w0), true, "tfjs_eps_theirs");
    // Small gradients and accumulators, where sqrt(acc + eps) and sqrt(acc) + eps part.
    const opt = new TfjsAdagrad({
      learningRate: 0.01,
      epsilonInsideSqrt: true,
      epsilon: 1e-7,
      initialAccumulatorValue: 1e-8,
    });
    const reference = tf.train.adagrad(0.01, 1e-8);
    const inside = refState(w0, 1e-8);
    const outside = refState(w0, 1e-8);
    for (let step = 0; step < 3; step++) {
      const g = randomValues(random, 45, 1e-4, 5e-4);
      const gt = tf.tensor1d(g);
      opt.applyGradients({ tfjs_eps_ours: gt });
      reference.applyGradients([{ name: "tfjs_eps_theirs", tensor: gt }]);
      gt.dispose();
      for (let i = 0; i < 45; i++) {
        inside.accum[i] += g[i] * g[i];
        inside.value[i] -= Math.fround(0.01) * g[i] / Math.sqrt(inside.accum[i] + 1e-7);
      }
      refStep(outside, g, Math.fround(0.01), 1e-7);
    }
    const [a, b] = [await ours.data() as Float32Array, await theirs.data() as Float32Array];
    assertAllClose(a, inside.value, "ours", 1e-5, 1e-7);
    assertAllClose(b, inside.value, "tf.train.adagrad", 1e-5, 1e-7);
    // The two rules part by far more than the tolerance here, so the checks above can fail.
    assert.throws(() => assertAllClose(a, outside.value, "Keras's rule", 1e-5, 1e-7));
    opt.dispose();
    reference.dispose();
    tf.dispose([ours, theirs]);
  }));

test("TfjsAdagrad: tensors sharing a variable's data keep their values; a pending read is not left stale", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(91);
    const v0 = randomValues(random, 29);
    const init = tf.tensor1d(v0);
    const v = tf.variable(init, true, "tfjs_shared_v"); // shares init's data while init lives
    const copy = tf.clone(v); // shares it too
    const other = tf.variable(tf.zeros([29]), true, "tfjs_shared_other");
    other.assign(v); // another variable with v's data, as setWeights(getWeights()) does
    const opt = new TfjsAdagrad({ learningRate: 0.1 });
    const state = refState(v0, 0.1);
    const g = randomValues(random, 29);
    const gt = tf.tensor1d(g);
    opt.applyGradients({ tfjs_shared_v: gt });
    refStep(state, g, 0.1, 1e-7);
    assertAllClose(await readFresh(v), state.value, "v stepped", 1e-5, 1e-6);
    for (const [name, t] of [["init", init], ["clone", copy], ["assigned", other]] as const) {
      assert.deepEqual(await readFresh(t), v0, `${name} keeps the values it had`);
    }
    // A read asked for before a step resolves with the values before it, and leaves no stale copy.
    const pending = v.data();
    const g2 = randomValues(random, 29);
    const gt2 = tf.tensor1d(g2);
    opt.applyGradients({ tfjs_shared_v: gt2 });
    refStep(state, g2, 0.1, 1e-7);
    await pending;
    assertAllClose(await v.data() as Float32Array, state.value, "v after the step", 1e-5, 1e-6);
    opt.dispose();
    tf.dispose([init, v, copy, other, gt, gt2]);
  }));

test("TfjsAdagrad: row-wise accumulators survive setWeights before the first step, and save again", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(93);
    const [rows, width] = [11, 4];
    const t0 = randomValues(random, rows * width);
    const table = tf.variable(tf.tensor2d(t0, [rows, width]), true, "tfjs_rw_save");
    const trained = new TfjsAdagrad({ learningRate: 0.2, rowWise: true });
    const g = tf.tensor2d(randomValues(random, rows * width), [rows, width]);
    trained.applyGradients({ tfjs_rw_save: g });
    const saved = (await trained.getWeights()).map((w) => ({
      name: w.name,
      tensor: w.tensor.clone(),
    }));
    // A new optimizer, as loading a saved model makes: the weights before its first step.
    const loaded = new TfjsAdagrad({ learningRate: 0.2, rowWise: true });
    await loaded.setWeights(saved);
    const resaved = await loaded.getWeights();
    assert.deepEqual(resaved.map((w) => [w.name, w.tensor.shape]), [
      ["iter", []],
      ["tfjs_rw_save/accumulator", [rows]],
    ], "saving before the first step keeps the accumulators");
    assert.deepEqual(resaved[1].tensor.dataSync(), saved[1].tensor.dataSync());
    // Both take the same step from the same state.
    const twin = tf.variable(table.clone(), true, "tfjs_rw_save_twin");
    loaded.applyGradients({ tfjs_rw_save_twin: g }); // a renamed variable: matched by position
    trained.applyGradients({ tfjs_rw_save: g });
    assert.deepEqual(await readFresh(twin), await readFresh(table));
    assertMoved(await readFresh(table), t0, "the table"); // steps that did nothing would agree
    // An accumulator that does not fit a variable the optimizer has: refused, nothing changes.
    const wrong = [saved[0], {
      name: "tfjs_rw_save/accumulator",
      tensor: tf.zeros([rows * width]),
    }];
    const before = (await trained.getWeights())[1].tensor.dataSync();
    await assert.rejects(trained.setWeights(wrong), /does not fit variable 'tfjs_rw_save'/);
    assert.equal(trained.iterations, 2);
    assert.deepEqual((await trained.getWeights())[1].tensor.dataSync(), before);
    tf.dispose([table, twin, g, wrong[1].tensor, ...saved.map((w) => w.tensor)]);
    trained.dispose();
    loaded.dispose();
  }));

test("TfjsAdagrad.keras3 and .torch: the rules' steps, weights and configs through TF.js", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(63);
    const w0 = randomValues(random, 301);
    const keras3 = tf.variable(tf.tensor1d(w0), true, "tfjs_rule_k3");
    const torch = tf.variable(tf.tensor1d(w0), true, "tfjs_rule_pt");
    const k3 = TfjsAdagrad.keras3({ learningRate: 0.1, weightDecay: 0.05, useEma: true });
    const pt = TfjsAdagrad.torch({ lr: 0.1, lrDecay: 0.5, weightDecay: 0.05, maximize: true });
    const lr = Math.fround(0.1);
    const rk = keras3State(w0, 0.1);
    const ref3 = new Keras3Reference({
      lr: () => lr,
      epsilon: Math.fround(1e-7),
      initial: 0.1,
      weightDecay: Math.fround(0.05),
      clip: {},
      useEma: true,
      emaMomentum: Math.fround(0.99),
    });
    const rt = torchState(w0, 0);
    const settings = {
      lr,
      lrDecay: 0.5,
      weightDecay: Math.fround(0.05),
      eps: 1e-10,
      maximize: true,
    };
    for (let step = 0; step < 3; step++) {
      const g = randomValues(random, 301);
      const tensors = [tf.tensor1d(g), tf.tensor1d(g)];
      k3.applyGradients({ tfjs_rule_k3: tensors[0] });
      pt.applyGradients({ tfjs_rule_pt: tensors[1] });
      tf.dispose(tensors);
      ref3.apply([{ state: rk, grad: g, decay: true }]);
      torchStep(rt, g, settings);
    }
    assertAllClose(await keras3.data() as Float32Array, rk.value, "keras3", 1e-5, 1e-6);
    assertAllClose(await torch.data() as Float32Array, rt.value, "torch", 1e-5, 1e-6);
    const names = (await k3.getWeights()).map((w) => w.name);
    assert.deepEqual(names, ["iter", "tfjs_rule_k3/average", "tfjs_rule_k3/accumulator"]);
    const ptWeights = await pt.getWeights();
    assert.deepEqual(ptWeights.map((w) => w.name), ["iter", "tfjs_rule_pt/sum"]);
    // The configs name the rule and come back as the same rule.
    for (const opt of [k3, pt]) {
      const again = TfjsAdagrad.fromConfig(TfjsAdagrad, opt.getConfig()) as TfjsAdagrad;
      assert.equal(again.adagrad.rule, opt.adagrad.rule);
      assert.deepEqual(again.getConfig(), opt.getConfig());
      again.dispose();
    }
    await assert.rejects(k3.setWeights(await k3.getWeights()), /accumulators only/);
    // PyTorch's `sum` goes back by name into a fresh optimizer before its first step.
    const fresh = TfjsAdagrad.torch({ lr: 0.1, lrDecay: 0.5, weightDecay: 0.05, maximize: true });
    await fresh.setWeights(ptWeights);
    assert.throws(() => TfjsAdagrad.keras3({ device: {} } as never), /no `device` option/);
    for (const o of [k3, pt, fresh]) o.dispose();
    tf.dispose([keras3, torch]);
  }));

test("TfjsAdagrad.proximal and .adagradDA: TF's rules through TF.js, against float64; weights and configs", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(64);
    const w0 = randomValues(random, 301);
    const pv = tf.variable(tf.tensor1d(w0), true, "tfjs_rule_prox");
    const dv = tf.variable(tf.tensor1d(w0), true, "tfjs_rule_da");
    const options = {
      learningRate: 0.3,
      l1RegularizationStrength: 0.05,
      l2RegularizationStrength: 0.1,
    };
    const prox = TfjsAdagrad.proximal(options);
    const da = TfjsAdagrad.adagradDA(options);
    const s = { lr: Math.fround(0.3), l1: Math.fround(0.05), l2: Math.fround(0.1) };
    const rp = familyState(w0, 301, 0.1);
    const rd = familyState(w0, 301, 0.1);
    for (let step = 0; step < 3; step++) {
      const g = randomValues(random, 301);
      const tensors = [tf.tensor1d(g), tf.tensor1d(g)];
      prox.applyGradients({ tfjs_rule_prox: tensors[0] });
      da.applyGradients({ tfjs_rule_da: tensors[1] });
      tf.dispose(tensors);
      proximalStep(rp, denseRows(g, 1), 1, s);
      adagradDAStep(rd, denseRows(g, 1), 1, s, step + 1);
    }
    assertAllClose(await pv.data() as Float32Array, rp.value, "proximal", 1e-5, 1e-6);
    assertAllClose(await dv.data() as Float32Array, rd.value, "adagradDA", 1e-5, 1e-6);
    assert.ok((await pv.data()).some((x) => x === 0), "L1 left exact zeros");
    assert.deepEqual((await da.getWeights()).map((w) => w.name), [
      "iter",
      "tfjs_rule_da/gradient_accumulator",
      "tfjs_rule_da/gradient_squared_accumulator",
    ]);
    const proxWeights = await prox.getWeights();
    assert.deepEqual(proxWeights.map((w) => w.name), ["iter", "tfjs_rule_prox/accumulator"]);
    // The configs name the rule and come back as the same optimizer, camelCased by a loader too.
    for (const opt of [prox, da]) {
      const config = opt.getConfig();
      const camel = Object.fromEntries(
        Object.entries(config).map((
          [k, v],
        ) => [k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()), v]),
      );
      for (const c of [config, camel]) {
        const again = TfjsAdagrad.fromConfig(TfjsAdagrad, c) as TfjsAdagrad;
        assert.equal(again.adagrad.constructor, opt.adagrad.constructor);
        assert.deepEqual(again.getConfig(), config);
        again.dispose();
      }
    }
    await assert.rejects(da.setWeights(await da.getWeights()), /accumulators only/);
    // ProximalAdagrad's accumulator goes back by name into a fresh optimizer.
    const fresh = TfjsAdagrad.proximal(options);
    await fresh.setWeights(proxWeights);
    assert.throws(() => TfjsAdagrad.proximal({ learningRate: 0 }), /lr is not a positive scalar/);
    for (const o of [prox, da, fresh]) o.dispose();
    tf.dispose([pv, dv]);
  }));

test("TfjsAdagrad.optax and an optimizer given to the constructor: optax's step, config round trip", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(71);
    const w0 = randomValues(random, 29);
    const w = tf.variable(tf.tensor1d(w0), true, "tfjs_optax_w");
    const opt = TfjsAdagrad.optax({ learningRate: 0.3, initialAccumulatorValue: 0 });
    const sum = new Float64Array(29);
    const expected = Float64Array.from(w0);
    for (let step = 0; step < 3; step++) {
      const g = randomValues(random, 29);
      const gt = tf.tensor1d(g);
      opt.applyGradients({ tfjs_optax_w: gt });
      gt.dispose();
      // optax: sum += g^2; w -= lr * g / sqrt(sum + eps), 0 where sum == 0.
      for (let i = 0; i < 29; i++) {
        sum[i] += g[i] * g[i];
        if (sum[i] > 0) expected[i] -= Math.fround(0.3) * g[i] / Math.sqrt(sum[i] + 1e-7);
      }
    }
    const after = await w.data() as Float32Array;
    assertMoved(after, w0, "w");
    assertAllClose(after, expected, "w", 1e-5, 1e-6);
    assert.equal(opt.getConfig().rule, "optax");
    const again = TfjsAdagrad.fromConfig(TfjsAdagrad, opt.getConfig()) as TfjsAdagrad;
    assert.equal(again.adagrad.rule, "optax");
    assert.deepEqual(again.getConfig(), opt.getConfig());
    // The learning rate under any spelling lands on each rule's own key (PyTorch's `lr`).
    for (
      const [rule, config] of [
        ["torch", { rule: "torch", learning_rate: 0.25 }],
        ["torch", { rule: "torch", learningRate: 0.25 }],
        ["torch", { rule: "torch", lr: 0.25 }],
        ["keras3", { rule: "keras3", lr: 0.25 }],
        ["optax", { rule: "optax", learningRate: 0.25 }],
        ["keras2", { lr: 0.25 }],
      ] as const
    ) {
      const built = TfjsAdagrad.fromConfig(TfjsAdagrad, { ...config }) as TfjsAdagrad;
      assert.equal(built.adagrad.rule, rule, JSON.stringify(config));
      assert.equal(built.learningRate, 0.25, JSON.stringify(config));
      built.dispose();
    }
    // The same optimizer, given to the constructor; one that has taken steps is refused.
    const wrapped = new TfjsAdagrad(again.adagrad);
    assert.equal(wrapped.adagrad, again.adagrad);
    assert.throws(() => new TfjsAdagrad(opt.adagrad), {
      name: "TypeError",
      message: /has already taken steps; wrap a new one/,
    });
    again.dispose();
    opt.dispose();
    w.dispose();
  }));
