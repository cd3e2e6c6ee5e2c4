// Validates xAPI statements with Learning Locker's conformance-tested `xapi-validation` package.
// Reads a JSON array of statements on stdin; prints a JSON array with one list of problems per statement
// ("path: warning (detail)"), empty when the statement is valid. Used by tests/xapi_validator.py.
import { createRequire } from "node:module";

// The package is CommonJS with an ES-module-style `default` export: require() reaches it the same way on
// every Node version.
const validate = createRequire(import.meta.url)("xapi-validation").default;

const IGNORED = new Set(["data", "path", "message", "name", "stack", "warnings"]);

// rulr reports some problems as a `Warnings` holding others: flatten them so each problem gets its own line.
function describe(warning) {
  if (Array.isArray(warning.warnings)) {
    return warning.warnings.flatMap(describe);
  }
  const details = Object.entries(warning)
    .filter(([key]) => !IGNORED.has(key))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  const suffix = details.length ? ` (${details.join(", ")})` : "";
  return [`${warning.path.join(".")}: ${warning.constructor.name}${suffix}`];
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) {
  input += chunk;
}
const statements = JSON.parse(input);
if (!Array.isArray(statements)) {
  throw new TypeError("expected a JSON array of statements on stdin");
}
process.stdout.write(JSON.stringify(statements.map((statement) => validate(statement).flatMap(describe))));
