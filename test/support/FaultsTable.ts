/**
 * A vitest reporter that prints the fault suite's table after a run that included test/faults: one row
 * per scenario (the test's name says what it injects and what must hold), with `held`, `BROKEN`, or
 * `todo` (a feature not built yet; the name says which issue). Runs without test/faults print nothing.
 */
import type { Reporter, RunnerTask, RunnerTestFile } from "vitest/node"

const rows = (task: RunnerTask, prefix: ReadonlyArray<string>): Array<{ readonly scenario: string; readonly verdict: string }> => {
  if (task.type === "suite") return task.tasks.flatMap((child) => rows(child, [...prefix, task.name]))
  const verdict = task.mode === "todo"
    ? "todo"
    : task.mode === "skip"
    ? "skipped"
    : task.result?.state === "pass"
    ? "held"
    : task.result?.state === "fail"
    ? "BROKEN"
    : "not run"
  return [{ scenario: [...prefix.slice(1), task.name].join(" › "), verdict }]
}

export default class FaultsTable implements Reporter {
  onFinished(files: ReadonlyArray<RunnerTestFile> = []): void {
    const faultFiles = files.filter((f) => f.filepath.replaceAll("\\", "/").includes("/test/faults/"))
    if (faultFiles.length === 0) return
    const all = faultFiles.flatMap((file) =>
      rows(file, []).map((r) => ({ ...r, file: file.name.replace(/^.*test\/faults\//, "") }))
    )
    const line = (scenario: string, verdict: string) => `${verdict.padEnd(7)}  ${scenario}`
    const out: Array<string> = ["", "Fault suite (test/faults): verdict  scenario (what is injected → what must hold)", ""]
    for (const file of [...new Set(all.map((r) => r.file))]) {
      out.push(`  ${file}`)
      for (const r of all.filter((x) => x.file === file)) out.push(`    ${line(r.scenario, r.verdict)}`)
    }
    const count = (v: string) => all.filter((r) => r.verdict === v).length
    out.push("", `  ${all.length} scenarios: ${count("held")} held, ${count("BROKEN")} broken, ${count("todo")} todo`, "")
    process.stdout.write(`${out.join("\n")}\n`)
  }
}
