// Child process for atomic_save_test.ts (beside this file): writes 32 MB checkpoints to one path,
// alternating between two contents, in a loop, until it is killed, so that it spends nearly all
// its time inside a write. Each file is a valid safetensors file whose metadata names the value it is filled with.
// `--streamed`: the checkpoint of a 32 MB store variable, streamed from the GPU by
// saveCheckpointFile in windows of 1 MiB (so that a kill lands between windows); otherwise bytes
// in memory written by writeFileAtomic.
import process from "node:process";
import {
  encodeSafetensors,
  requestDevice,
  saveCheckpointFile,
  VariableStore,
  writeFileAtomic,
} from "../../mod.ts";
import { setCheckpointChunkBytes } from "../../src/checkpoint/_windows.ts";

const path = process.argv.at(-1)!;
const fills = [7, 201];
let write: (round: number) => Promise<void>;
if (process.argv.includes("--streamed")) {
  setCheckpointChunkBytes(1 << 20);
  const store = new VariableStore(await requestDevice());
  const blob = store.variable("blob", [8 << 20]);
  write = async (round) => {
    const fill = fills[round % 2];
    blob.write(fill);
    await saveCheckpointFile(path, { variables: [blob] }, { fill: String(fill) });
  };
} else {
  const contents = fills.map((fill) =>
    encodeSafetensors(
      new Map([["blob", {
        dtype: "U8",
        shape: [32 << 20],
        data: new Uint8Array(32 << 20).fill(fill),
      }]]),
      { fill: String(fill) },
    )
  );
  write = (round) => writeFileAtomic(path, contents[round % 2]);
}
await write(1);
console.log("ready"); // a whole file exists: from now on every kill lands on a rewrite
for (let round = 0;; round++) await write(round);
