// Names shared by the npm build and its checks.

/** The package's name on npm. */
export const NPM_NAME = "webgpu-adagrad";
/** Where the package is built (git-ignored; JSR publishing skips it). */
export const OUT = "npm";
