// Runs a command with inherited output; throws, naming it, when it fails.
import process from "node:process";
import { spawnSync } from "node:child_process";

/** How `run` runs a command. */
export interface RunOptions {
  cwd?: string;
  /** Returns stdout instead of printing it (stderr is still printed). */
  capture?: boolean;
  /**
   * Prints nothing unless the command fails, then all it printed: for commands whose output on
   * success is only chatter (npm's "added 4 packages"; a documented example's own console.log).
   * Returns stdout.
   */
  quiet?: boolean;
  env?: Record<string, string>;
}

/** Runs `command args` in `cwd`; throws when it exits non-zero or dies. Returns its stdout if piped. */
export function run(command: string, args: string[], options: RunOptions = {}): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    stdio: options.quiet
      ? ["ignore", "pipe", "pipe"]
      : options.capture
      ? ["ignore", "pipe", "inherit"]
      : "inherit",
    encoding: "utf8",
    env: options.env ? { ...process.env, ...options.env } : undefined,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    if (options.quiet) process.stdout.write(`${result.stdout}${result.stderr}`);
    const how = result.signal ? `died by ${result.signal}` : `exited with ${result.status}`;
    throw new Error(`${command} ${args.join(" ")} ${how}`);
  }
  return result.stdout ?? "";
}
