/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  // swc strips types only; `npm test` type-checks the whole project with tsc first.
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.js"],
  testTimeout: 60000,
  // The default reporter, and one that says at the end which tests were skipped for a missing tool.
  reporters: ["default", "<rootDir>/__tests__/support/skip-reporter.js"],
};
