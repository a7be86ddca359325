import { defineConfig } from "vitest/config"

// tests talk to 127.0.0.1 only: a proxy set on the machine must not catch that traffic
const loopback = "127.0.0.1,localhost,::1"
const noProxy = [process.env["NO_PROXY"] ?? process.env["no_proxy"], loopback].filter((v) => v !== undefined && v !== "").join(",")

export default defineConfig({
  test: {
    env: { NO_PROXY: noProxy, no_proxy: noProxy },
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
