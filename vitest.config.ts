import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests of the built package and of `npm start` run dist/: build it first when stale.
    globalSetup: ["test/support/build-dist.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: suites that start servers or Redis run in separate forks, two at a time.
    pool: "forks",
    maxWorkers: 2,
  },
});
