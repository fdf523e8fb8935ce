/**
 * The processes of `deno task test` (scripts/test.ts): each child's output read line by line into
 * its stage's output (scripts/_test_report.ts's OrderedOutput), with the lines a run expects from a
 * runtime left out.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Writes `text` to stdout, all of it, before returning (stages' output never interleaves). */
export function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

/** Splits a stream of text into lines; `onLine` gets each without its newline. */
async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder(); // `stream: true` keeps a character split between chunks
  let rest = "";
  for await (const chunk of stream) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  rest += decoder.decode();
  if (rest) onLine(rest);
}

/** Where a child process's output lines go: a stage's output, or a filter in front of one. */
export interface LineSink {
  line(text: string): void;
}

/** What `spawn` runs and how. */
export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /**
   * Whole lines dropped from the output (stdout and stderr): messages a runtime prints that the
   * run expects, such as Dawn's note on lavapipe's limits. Anything else goes through.
   */
  drop?: readonly RegExp[];
}

/**
 * Runs `command args` with its stdout and stderr going, line by line, to `out` (a line of stderr
 * may come before a line of stdout printed a moment earlier). Returns its exit status.
 */
export async function spawn(
  out: LineSink,
  command: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<Deno.CommandStatus> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const drop = options.drop ?? [];
  const onLine = (line: string) => {
    if (!drop.some((d) => d.test(line))) out.line(line);
  };
  const [status] = await Promise.all([
    child.status,
    eachLine(child.stdout, onLine),
    eachLine(child.stderr, onLine),
  ]);
  return status;
}

/**
 * Dawn (Node's and Bun's WebGPU) prints these to stderr once per process when it opens lavapipe,
 * whose Vulkan driver advertises more dynamic buffers than Dawn allows. They say nothing about the
 * tests, and they came in dozens (every Node and Bun process); dropped where Dawn runs.
 */
export const DAWN_LAVAPIPE_NOTES: readonly RegExp[] = [
  /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/,
];

/** Seconds since `t0` (a performance.now()), rounded: "153 s". */
export function seconds(t0: number): string {
  return `${Math.round((performance.now() - t0) / 1000)} s`;
}
