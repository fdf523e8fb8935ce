// The main job on a subset: the held-out loss falls, the accuracy beats the majority class, and a
// run resumed from its checkpoint carries on from where it stopped. With ProximalAdagrad's and
// AdagradDA's L1 most trained rows end exactly zero, and the demo says so (the CLI too, on Deno).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeSafetensors } from "../../mod.ts";
import { trainSpamClassifier } from "../../examples/spam_classifier.ts";
import { countSparsity, sparsityText, trainedRows } from "../../examples/spam_sparsity.ts";
import type { SpamData } from "../../examples/spam_data.ts";
import { withDevice } from "../_gpu.ts";
import { repoRoot } from "../_repo.ts";

/** A run of the demo small enough for the suite: 400 messages, one epoch, a 2^16-row table. */
const SMALL_RUN = { epochs: 1, batch: 32, learningRate: 0.2, tableBits: 16, seed: 3, limit: 400 };

test("spam classifier on 400 messages, one epoch, then resumed for one more", async () => {
  const dir = await mkdtemp(join(tmpdir(), "webgpu-adagrad-demo-"));
  try {
    await withDevice(async (device) => {
      const options = { ...SMALL_RUN, checkpoint: join(dir, "spam.safetensors") };
      const first = await trainSpamClassifier(device, options);
      assert.deepEqual(first.messages, { train: 320, test: 80 });
      assert.ok(
        first.finalLoss < 0.9 * first.initialLoss,
        `held-out loss ${first.initialLoss} -> ${first.finalLoss}`,
      );
      assert.ok(
        first.accuracy > first.majority,
        `accuracy ${first.accuracy} vs majority ${first.majority}`,
      );
      const second = await trainSpamClassifier(device, { ...options, resume: true });
      assert.equal(second.epochsDone, 2);
      assert.equal(second.initialLoss, first.finalLoss, "resumed from the saved weights");
      // The second epoch starts from trained weights: its training loss is below the first's.
      assert.ok(
        second.trainLoss[0] < first.trainLoss[0],
        `training loss ${first.trainLoss[0]} then ${second.trainLoss[0]}`,
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("spam classifier in mixed precision: float16 gradients of a scaled loss learn as well", async () => {
  await withDevice(async (device) => {
    const options = SMALL_RUN;
    const plain = await trainSpamClassifier(device, options);
    const mixed = await trainSpamClassifier(device, { ...options, mixedPrecision: true });
    assert.ok(mixed.accuracy > mixed.majority, `accuracy ${mixed.accuracy}`);
    // float16 rounds each gradient to 11 significant bits: the losses agree to about 1e-3.
    assert.ok(
      Math.abs(mixed.finalLoss - plain.finalLoss) < 2e-3 * plain.initialLoss,
      `held-out loss ${plain.finalLoss} (float32) vs ${mixed.finalLoss} (mixed precision)`,
    );
    assert.ok(mixed.finalLoss < 0.9 * mixed.initialLoss, `held-out loss ${mixed.finalLoss}`);
  });
});

test("the wgpu-matrix example fits its 4x4 transform, in float32 and in mixed precision", async () => {
  const { fitTransform } = await import("../../examples/fit_transform.ts");
  await withDevice(async (device) => {
    for (const mixedPrecision of [false, true]) {
      const r = await fitTransform(device, { steps: 200, points: 300, mixedPrecision });
      const what = mixedPrecision ? "mixed precision" : "float32";
      assert.ok(r.initialError > 1, `${what}: starts far: ${r.initialError}`);
      assert.ok(r.finalError < 0.01, `${what}: largest entry error ${r.finalError}`);
      assert.ok(r.pointError < 0.01, `${what}: point error ${r.pointError}`);
      // The first gradients times 2**15 overflow float16: those steps were skipped, the scale fell.
      if (mixedPrecision) assert.ok(r.lossScale! < 2 ** 15, `loss scale ${r.lossScale}`);
      else assert.equal(r.lossScale, undefined);
    }
  });
});

test("sparsity counts exact zeros (-0 too) of all rows and of the rows training messages hash to", () => {
  // Four rows; training message 1 hashes to rows 0 and 2, held-out message 0 to row 3.
  const data = {
    n: 2,
    tableBits: 2,
    starts: new Uint32Array([0, 1, 3]),
    dataset: new Uint32Array([0, 1, 3, 3, 0, 2]),
    train: [1],
  } as unknown as SpamData;
  const trained = trainedRows(data);
  assert.deepEqual([...trained], [1, 0, 1, 0]);
  const s = countSparsity(new Float32Array([-0, 0, 0.5, 1e-30]), trained);
  assert.deepEqual(s, { rows: 4, zeros: 2, trained: 2, trainedZeros: 1 });
  assert.equal(sparsityText(s), "zeros 50.00% (trained rows 50.00%)");
  assert.throws(() => countSparsity(new Float32Array(3), trained), RangeError);
});

test("spam classifier with L1: ProximalAdagrad and AdagradDA zero most trained rows, and learn", async () => {
  const dir = await mkdtemp(join(tmpdir(), "webgpu-adagrad-demo-"));
  try {
    await withDevice(async (device) => {
      const options = SMALL_RUN;
      const share = (s: { trainedZeros: number; trained: number }) => s.trainedZeros / s.trained;
      const plain = await trainSpamClassifier(device, options);
      // Plain Adagrad moves every row it trains (but for rows whose batch gradients cancel).
      assert.ok(share(plain.sparsity) < 0.01, `plain Adagrad: ${JSON.stringify(plain.sparsity)}`);
      // The table starts at zero, and rows no training message hashes to keep it.
      const untrained = plain.sparsity.rows - plain.sparsity.trained;
      assert.equal(plain.sparsity.rows, 2 ** 16);
      assert.ok(plain.sparsity.zeros >= untrained, `${plain.sparsity.zeros} < ${untrained}`);
      for (const [optimizer, l1] of [["proximal", 3e-3], ["adagrad-da", 1e-3]] as const) {
        const checkpoint = join(dir, `${optimizer}.safetensors`);
        const r = await trainSpamClassifier(device, { ...options, optimizer, l1, checkpoint });
        const s = r.sparsity;
        // Measured on lavapipe: 41% (proximal) and 55% (AdagradDA) of the 51,152 trained rows.
        assert.ok(share(s) > 0.3, `${optimizer}: ${JSON.stringify(s)}`);
        assert.equal(s.trained, plain.sparsity.trained);
        assert.ok(r.accuracy > r.majority, `${optimizer}: accuracy ${r.accuracy}`);
        assert.ok(r.finalLoss < 0.9 * r.initialLoss, `${optimizer}: held-out loss ${r.finalLoss}`);
        // The count is the saved table's, and the file names the optimizer and its L1.
        const file = decodeSafetensors(new Uint8Array(await readFile(checkpoint)));
        const table = file.tensors.get("spam/table")!.data;
        const weights = new Float32Array(table.slice().buffer);
        assert.equal(weights.filter((w) => w === 0).length, s.zeros);
        const config = JSON.parse(file.metadata.optimizer_config);
        assert.equal(config.l1_regularization_strength, l1);
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const isDeno = "Deno" in globalThis;
/** Runs the CLI demo with `args` under the running Deno, as `deno task demo` does. */
function demo(args: string[]) {
  const root = repoRoot();
  const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
  const result = spawnSync(deno, [
    "run",
    "--quiet",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--config",
    fileURLToPath(new URL("deno.json", root)),
    fileURLToPath(new URL("examples/train_spam_classifier.ts", root)),
    ...args,
  ], { encoding: "utf8", timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("CLI demo: --optimizer proximal --l1 prints the share of zeros by the accuracy", {
  skip: isDeno ? false : "runs the CLI with Deno, as `deno task demo` does (the Deno suite)",
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "webgpu-adagrad-demo-"));
  try {
    const { status, stdout, stderr } = demo([
      ...["--optimizer", "proximal", "--l1", "0.003", "--epochs", "1", "--batch", "32"],
      ...["--table-bits", "16", "--seed", "3", "--limit", "400"],
      ...["--checkpoint", join(dir, "spam.safetensors")],
    ]);
    assert.equal(status, 0, `${stdout}${stderr}`);
    assert.match(stdout, /table of 2\^16 rows \(51,152 of them in training messages\)/);
    const epoch = stdout.match(
      /^epoch 1 .* accuracy ([\d.]+)% {2}zeros ([\d.]+)% \(trained rows ([\d.]+)%\) {2}\(\d+ msg\/s\)$/m,
    );
    assert.ok(epoch, `no epoch line with zeros:\n${stdout}`);
    const [, accuracy, zeros, trainedZeros] = epoch.map(Number);
    assert.ok(accuracy > 63.75, `accuracy ${accuracy}% (the majority class is 63.75%)`);
    assert.ok(
      trainedZeros > 30 && zeros > trainedZeros,
      `zeros ${zeros}%, trained ${trainedZeros}%`,
    );
    assert.match(
      stdout,
      new RegExp(
        `^done: held-out accuracy ${accuracy.toFixed(2)}% \\(majority class [\\d.]+%\\), ` +
          `zeros ${zeros.toFixed(2)}% \\(trained rows ${trainedZeros.toFixed(2)}%\\), `,
        "m",
      ),
    );
    // With an L1, the non-zero weights are saved too, for serving.
    assert.match(
      stdout,
      /^saved .*spam\.weights\.safetensors \(the non-zero weights: \d+ KiB, dense 256 KiB\)$/m,
    );
    // Resuming with another optimizer says which flags the checkpoint needs, without a trace.
    const resumed = demo([
      ...["--optimizer", "adagrad-da", "--l1", "0.003", "--epochs", "1", "--resume"],
      ...["--table-bits", "16", "--seed", "3", "--limit", "400"],
      ...["--checkpoint", join(dir, "spam.safetensors")],
    ]);
    assert.equal(resumed.status, 2, `${resumed.stdout}${resumed.stderr}`);
    assert.match(
      resumed.stderr,
      /^cannot resume from .*holds a ProximalAdagrad's state, not an AdagradDA's/m,
    );
    assert.match(
      resumed.stderr,
      /saved by ProximalAdagrad with .*"l1_regularization_strength":0\.003.*run with the --optimizer/,
    );
    assert.doesNotMatch(resumed.stderr, /\bat .*\.ts:\d+/, "a stack trace");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("CLI demo: an optimizer setting that does not apply is refused before training", {
  skip: isDeno ? false : "runs the CLI with Deno, as `deno task demo` does (the Deno suite)",
}, () => {
  const cases: [string[], RegExp][] = [
    [["--l1", "0.001"], /^l1 needs optimizer 'proximal' or 'adagrad-da', not 'adagrad'$/m],
    [["--optimizer", "rowwise", "--l2", "1"], /^l2 needs optimizer .*, not 'rowwise'$/m],
    [["--optimizer", "adam"], /^--optimizer needs one of adagrad, rowwise, proximal, adagrad-da/m],
    [["--optimizer", "proximal", "--l1", "-1"], /^--l1 needs a non-negative number, got -1$/m],
    [["--optimizer", "adagrad-da", "--mixed-precision"], /mixed precision does not go with/],
  ];
  for (const [args, message] of cases) {
    const { status, stdout, stderr } = demo(args);
    assert.equal(status, 2, `${args.join(" ")}: ${stdout}${stderr}`);
    assert.match(stderr, message, args.join(" "));
    assert.equal(stdout, "", `${args.join(" ")} trained anyway`);
  }
});
