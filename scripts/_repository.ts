// Where the project lives on GitHub: the one place its address is written. The npm package's
// links and the absolute image links of README.md and docs/ (checked by
// tests/package/docs_test.ts) are made from it.

/** The repository, `owner/name` on GitHub. */
export const REPOSITORY = "webgpu-adagrad/webgpu-adagrad";

/** The repository's page. */
export const REPOSITORY_URL = `https://github.com/${REPOSITORY}`;

/**
 * Where GitHub serves the main branch's files, ending in `/`: images in README.md and docs/ are
 * linked here, since npm and JSR show those pages without the repository's other files.
 */
export const RAW_URL = `https://raw.githubusercontent.com/${REPOSITORY}/main/`;
