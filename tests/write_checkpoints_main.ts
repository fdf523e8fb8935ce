// Child process for tests/reliability_test.ts: writes 32 MB checkpoints to one path, alternating
// between two contents, in a loop, until it is killed, so that it spends nearly all its time inside
// a write. Each file is a valid safetensors file whose metadata names the byte it is filled with.
import process from "node:process";
import { encodeSafetensors, writeFileAtomic } from "../mod.ts";

const path = process.argv.at(-1)!;
const contents = [7, 201].map((fill) =>
  encodeSafetensors(
    new Map([["blob", {
      dtype: "U8",
      shape: [32 << 20],
      data: new Uint8Array(32 << 20).fill(fill),
    }]]),
    { fill: String(fill) },
  )
);
await writeFileAtomic(path, contents[1]);
console.log("ready"); // a whole file exists: from now on every kill lands on a rewrite
for (let round = 0;; round++) await writeFileAtomic(path, contents[round % 2]);
