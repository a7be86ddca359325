import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the e2e suite starts a real gateway; it has its own, longer budget per test
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // the fault suite's table (scenario → held) after any run that includes test/faults
    reporters: ["default", "./test/support/FaultsTable.ts"],
    sequence: { concurrent: false }
  }
})
