// Names shared by the npm build, its checks, `scripts/run.sh pack` and the documentation's tests.

/** The package's name on npm. */
export const NPM_NAME = "webgpu-adagrad";
/** Where the package is built (git-ignored; JSR publishing skips it). */
export const OUT = "npm";
/** Where `scripts/run.sh pack` leaves the tarball (git-ignored). */
export const DIST = "dist";

/** The tarball's file name for `version`, as `npm pack` names it and README.md's Install shows it. */
export function tarballName(version: string): string {
  return `${NPM_NAME}-${version}.tgz`;
}
