#!/usr/bin/env bash
# Supply chain: no known high or critical vulnerability in the runtime dependencies (the packages
# dist/index.js bundles; dev tools are left out). npm audit asks the registry's advisory service,
# so this needs the network: CI runs it, the offline test suite does not.
#   exit 0  no high or critical vulnerability
#   exit 1  findings (each one listed on stderr)
#   exit 2  the audit could not run (no network, or the advisory service answered with an error)
set -uo pipefail
cd "$(dirname "$0")/.."

npm audit --omit=dev --audit-level=high --json 2>/dev/null | node -e '
let text = ""
process.stdin.on("data", (chunk) => (text += chunk))
process.stdin.on("end", () => {
  let report
  try {
    report = JSON.parse(text)
  } catch {
    console.error("npm audit gave no report (is the registry reachable?)")
    process.exit(2)
  }
  if (report.error || !report.metadata) {
    const why = report.message || (report.error && (report.error.summary || report.error.code)) || "unknown error"
    console.error(`npm audit could not run: ${why}`)
    process.exit(2)
  }
  const counts = report.metadata.vulnerabilities || {}
  const serious = Object.entries(report.vulnerabilities || {}).filter(([, v]) =>
    ["high", "critical"].includes(v.severity),
  )
  if (serious.length > 0 || (counts.high || 0) + (counts.critical || 0) > 0) {
    for (const [name, v] of serious) {
      const via = (v.via || []).map((x) => (typeof x === "string" ? x : x.url || x.title)).join(", ")
      console.error(`${v.severity}: ${name} ${v.range || ""} ${via}`.trim())
    }
    console.error(`npm audit --omit=dev: ${counts.high || 0} high, ${counts.critical || 0} critical`)
    process.exit(1)
  }
  console.log(`npm audit --omit=dev: no high or critical vulnerability (${counts.total || 0} in all)`)
})
'
