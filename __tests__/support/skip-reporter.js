/**
 * Says at the end of a run which tests were skipped and why: requireTool (support/go-render.ts)
 * warns with a fixed prefix when a tool is missing, and jest's own summary shows only "N skipped".
 */
const PREFIX = "acr-gate: tool missing: ";

class SkipReporter {
  constructor() {
    this.reasons = new Map(); // reason -> { files: Set, skipped: number }
  }

  onTestResult(_test, result) {
    const reasons = (result.console || []).map((c) => String(c.message)).filter((m) => m.startsWith(PREFIX));
    if (!reasons.length) return;
    const skipped = result.testResults.filter((t) => t.status === "pending").length;
    for (const r of new Set(reasons)) {
      const entry = this.reasons.get(r) || { files: new Set(), skipped: 0 };
      entry.files.add(require("path").basename(result.testFilePath));
      entry.skipped += skipped;
      this.reasons.set(r, entry);
    }
  }

  onRunComplete() {
    if (!this.reasons.size) return;
    process.stderr.write("\nSkipped, and why (ACR_GATE_REQUIRE_TOOLS=1 makes each an error):\n");
    for (const [reason, e] of this.reasons) {
      process.stderr.write(`  ${reason.slice(PREFIX.length)}: ${e.skipped} test(s) in ${[...e.files].sort().join(", ")}\n`);
    }
  }
}

module.exports = SkipReporter;
