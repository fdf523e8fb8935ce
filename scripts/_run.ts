// Runs a command with inherited output; throws, naming it, when it fails.
import process from "node:process";
import { spawnSync } from "node:child_process";

/** Runs `command args` in `cwd`; throws when it exits non-zero or dies. Returns its stdout if piped. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; capture?: boolean; env?: Record<string, string> } = {},
): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    stdio: options.capture ? ["ignore", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
    env: options.env ? { ...process.env, ...options.env } : undefined,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const how = result.signal ? `died by ${result.signal}` : `exited with ${result.status}`;
    throw new Error(`${command} ${args.join(" ")} ${how}`);
  }
  return result.stdout ?? "";
}
