// A checkpoint file is written whole or not at all: a process killed while saving (bytes or
// streamed) leaves the old file or the new one, never a mix (write_checkpoints_main.ts is the
// process).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeSafetensors } from "../../mod.ts";
import { repoRoot } from "../_repo.ts";

for (const mode of ["bytes", "streamed"] as const) {
  test(`a process killed while saving (${mode}) leaves a whole checkpoint, old or new`, {
    skip: "Deno" in globalThis ? false : "spawns Deno; run from the Deno suite",
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "webgpu-adagrad-atomic-"));
    const path = join(dir, "model.safetensors");
    const root = fileURLToPath(repoRoot());
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
    const args = ["run", "-A", `${root}tests/checkpoint/write_checkpoints_main.ts`];
    if (mode === "streamed") args.push("--streamed");
    try {
      let checked = 0;
      for (const delay of [20, 60, 110, 170]) {
        const child = spawn(deno, [...args, path]);
        // Wait until it writes, then a little more, then kill it: mid-write, nearly always.
        await new Promise((resolve) => child.stdout.once("data", resolve));
        await new Promise((resolve) => setTimeout(resolve, delay));
        child.kill("SIGKILL");
        await new Promise((resolve) => child.on("exit", resolve));
        const file = decodeSafetensors(new Uint8Array(await readFile(path))); // throws if partial
        const fill = Number(file.metadata.fill);
        const blob = file.tensors.get("blob")!.data;
        assert.equal(blob.length, 32 << 20);
        const values = mode === "bytes" ? blob : new Float32Array(blob.slice().buffer);
        assert.ok(values.every((x) => x === fill), "the file's bytes are one whole version");
        checked++;
      }
      assert.equal(checked, 4);
      // Temporary files of killed writes may remain; the checkpoint itself is never one of them.
      assert.ok((await readdir(dir)).includes("model.safetensors"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
