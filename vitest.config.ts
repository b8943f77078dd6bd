import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: suites that start servers or Redis run in separate forks, two at a time.
    pool: "forks",
    maxWorkers: 2,
  },
});
