// Checkpoint files: the package reaches node:fs/promises through process.getBuiltinModule, with no
// import that `deno publish` would warn about (.ci/run fails on any publish warning). On Deno,
// Node and Bun a checkpoint goes through a file and back; in a browser the file functions say
// that there are no files and what to do instead. No node: import here, so that the file also
// runs in the in-page suite.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  restoreCheckpointFile,
  saveCheckpointFile,
  VariableStore,
  writeFileAtomic,
} from "../../mod.ts";
import { fileSystem } from "../../src/checkpoint/_file_system.ts";
import { withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { randomValues, rng } from "../_reference.ts";

const inBrowser = typeof (globalThis as { document?: unknown }).document !== "undefined";

/** A fresh path in the system's temporary directory (Deno, Node and Bun). */
function temporaryPath(): string {
  const process = (globalThis as { process: { getBuiltinModule(id: string): unknown } }).process;
  const os = process.getBuiltinModule("node:os") as { tmpdir(): string };
  return `${os.tmpdir()}/webgpu-adagrad-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

if (inBrowser) {
  test("in a browser, the checkpoint file functions say there are no files", async () => {
    const bytes = new Uint8Array(8);
    for (
      const [name, call] of [
        ["writeFileAtomic", () => writeFileAtomic("x.safetensors", bytes)],
        ["saveCheckpointFile", () => saveCheckpointFile("x.safetensors", { variables: [] })],
        ["restoreCheckpointFile", () => restoreCheckpointFile("x.safetensors", { variables: [] })],
      ] as const
    ) {
      await assert.rejects(call(), {
        name: "Error",
        message: new RegExp(`^${name}: there are no files here .*saveCheckpoint\\(\\)`),
      });
    }
  });
} else {
  test("a checkpoint goes through a file and back (node:fs via process.getBuiltinModule)", async () => {
    await withDevice(async (device, own) => {
      const random = rng(2601);
      const store = own(new VariableStore(device));
      const init = randomValues(random, 111);
      const w = store.variable("dense/kernel", [37, 3], init);
      const opt = own(new Adagrad({ learningRate: 0.05 }));
      await opt.applyGradients([[randomValues(random, 111), w]]);
      const saved = {
        weights: await w.read(),
        accumulator: await opt.getSlot(w, "accumulator").read(),
      };
      assertMoved(saved.weights, init, "the weights saved");
      const path = `${temporaryPath()}.safetensors`;
      const fs = fileSystem("test");
      try {
        await saveCheckpointFile(path, { variables: [w], optimizer: opt }, { note: "issue 26" });
        w.write(0);
        await opt.applyGradients([[randomValues(random, 111), w]]);
        await restoreCheckpointFile(path, { variables: [w], optimizer: opt });
        assert.deepEqual(await w.read(), saved.weights);
        assert.deepEqual(await opt.getSlot(w, "accumulator").read(), saved.accumulator);
        assert.equal(opt.iterations, 1);
        // writeFileAtomic replaces the file whole.
        await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
        assert.deepEqual(new Uint8Array(await fs.readFile(path)), new Uint8Array([1, 2, 3]));
      } finally {
        await fs.rm(path, { force: true });
      }
    });
  });
}

test("fileSystem: node:fs/promises from process.getBuiltinModule, else an error saying why", () => {
  const fake = { readFile: () => Promise.resolve(new Uint8Array()) };
  const asked: string[] = [];
  const runtime = {
    process: {
      getBuiltinModule(id: string) {
        asked.push(id);
        return id === "node:fs/promises" ? fake : undefined;
      },
    },
  };
  assert.equal(fileSystem("writeFileAtomic", runtime), fake);
  assert.deepEqual(asked, ["node:fs/promises"]);
  // No `process`: a browser.
  assert.throws(() => fileSystem("writeFileAtomic", {}), {
    name: "Error",
    message:
      /^writeFileAtomic: there are no files here \(no node:fs; this looks like a browser\)\. Keep the bytes of saveCheckpoint\(\) instead, e\.g\. offer them as a download, and hand them back to restoreCheckpoint\(\)\.$/,
  });
  // `process` without getBuiltinModule: a runtime too old for it (or a bundler's stand-in).
  assert.throws(() => fileSystem("restoreCheckpointFile", { process: {} }), {
    name: "Error",
    message:
      /^restoreCheckpointFile: this runtime has `process` but no process\.getBuiltinModule.*Node 20\.16 or later, Deno 2\.1 or later and current Bun have it: update the runtime\.$/,
  });
  // getBuiltinModule without node:fs.
  assert.throws(
    () => fileSystem("saveCheckpointFile", { process: { getBuiltinModule: () => undefined } }),
    {
      name: "Error",
      message:
        /^saveCheckpointFile: this runtime's process\.getBuiltinModule has no node:fs\/promises/,
    },
  );
});
