/**
 * Two projects, so that `npm test` gives feedback while working (about 30 s on 2 cores) and the
 * rest runs where it is worth its time:
 * - unit: everything in-process, and the CLI as a process;
 * - engines (`npm run test:engines`, and CI): the tests that run Azure's task engine (acb), real
 *   terraform against the provider mirror, a Go toolchain, the fuzzer's 600 configs, the CI
 *   pipeline's offline steps, cdktf with its (5x slower) creation traces on, or the lab (npm run
 *   lab: every scenario on acb for real, several minutes).
 * `npm run test:all` runs both.
 */
const ENGINES = ["acb-check", "mirror", "tf-test", "tf-upgrade", "tf-split-migration", "tofu", "go-render", "versions", "fuzz-config", "ci-example", "cdktf-tuning", "startup", "provider-plan", "lab"];

const common = {
  testEnvironment: "node",
  // swc strips types only; `npm test` type-checks the whole project with tsc first.
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.js"],
  roots: ["<rootDir>/__tests__"],
};

/** @type {import('jest').Config} */
module.exports = {
  // jest's default is one worker per core but one: on 2 cores, one. The tests are CPU-bound.
  maxWorkers: 2,
  testTimeout: 60000,
  // The default reporter, and one that says at the end which tests were skipped for a missing tool.
  reporters: ["default", "<rootDir>/__tests__/support/skip-reporter.js"],
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["**/*.test.ts"],
      testPathIgnorePatterns: ENGINES.map((e) => `/__tests__/${e}\\.test\\.ts$`),
    },
    { ...common, displayName: "engines", testMatch: ENGINES.map((e) => `**/__tests__/${e}.test.ts`) },
  ],
};
