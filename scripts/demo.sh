#!/usr/bin/env bash
# The demo (README "Set up on a fresh machine"): the main job on real input, on a fresh machine.
#
#   bash scripts/demo.sh         in n8n-core, in this process, and ends:
#     1. installs what it needs (Node 24 when older, npm dependencies, gpg, the local Ceph RGW store),
#     2. starts the local S3-compatible store on 127.0.0.1:7480,
#     3. makes a throw-away gpg key pair (in a temp GNUPGHOME, deleted at the end),
#     4. runs the template workflows/whatsapp-capture-archive.json in n8n-core (in-process) behind a
#        loopback webhook URL, signs each delivery of test/fixtures/whatsapp with a throw-away app
#        secret and POSTs it there,
#     5. lists the archived object keys and prints one record decrypted by gpg.
#
#   bash scripts/demo.sh --n8n   in a real n8n with its editor, running until Ctrl-C:
#     installs n8n as the end-to-end suite does (cached: scripts/n8n-e2e.sh install), starts the store
#     and n8n on http://127.0.0.1:$DEMO_N8N_PORT (default 5678) with the pack installed from `npm pack`
#     of this checkout, then scripts/demo-n8n.ts creates the owner login, the credentials and every
#     template, activates the capture workflow, replays the signed fixture deliveries to its production
#     URL, runs a look at the store and the eDiscovery export, and prints "== ready" with the login.
#     Ctrl-C stops what the demo started. The demo's folder $CHAT_ARCHIVE_DEMO_DIR (default
#     ${TMPDIR:-/tmp}/chat-archive-demo: n8n's user folder n8n/, the pack, logs) is kept after Ctrl-C and
#     replaced by the next --n8n demo.
#     CHAT_ARCHIVE_PACK=<tarball> installs that tarball instead of packing this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=core
case "${1:-}" in
  '') ;;
  --n8n) mode=n8n ;;
  *) echo "usage: bash scripts/demo.sh [--n8n]" >&2; exit 2 ;;
esac
source scripts/node24.sh

if [ $mode = core ] && ! command -v gpg >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "demo: gpg is missing (apt-get install gnupg)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnupg >/dev/null
fi
stamp=node_modules/.chat-archive-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "== installing the npm dependencies (npm ci, install scripts ignored)"
  npm ci --ignore-scripts --no-audit --no-fund
  touch "$stamp"
fi
started_store=0
if ! bash scripts/s3-local.sh env >/dev/null 2>&1; then started_store=1; fi
eval "$(bash scripts/s3-local.sh start)"

# --n8n: a real n8n with the pack, the templates and archived deliveries, until Ctrl-C
if [ $mode = n8n ]; then
  DEMO_DIR=${CHAT_ARCHIVE_DEMO_DIR:-${TMPDIR:-/tmp}/chat-archive-demo}
  PORT=${DEMO_N8N_PORT:-5678}
  # Ctrl-C (or any failure) stops what the demo started: n8n, and the store when it was not running before
  stopped=0 sleeper= made_dir=0
  stop_demo() {
    [ $stopped = 1 ] && return 0
    stopped=1
    [ $made_dir = 1 ] || [ $started_store = 1 ] || return 0
    echo
    echo "== stopping what the demo started"
    [ $made_dir = 1 ] && E2E_DIR=$DEMO_DIR bash scripts/n8n-e2e.sh stop-all
    if [ $started_store = 1 ]; then
      bash scripts/s3-local.sh stop >/dev/null 2>&1 || true
      echo "   stopped the local store (its objects were in memory: they are gone)"
    else
      echo "   the local store was running before the demo: it keeps running (bash scripts/s3-local.sh stop ends it)"
    fi
    if [ $made_dir = 1 ]; then
      echo "   the demo's folder stays: $DEMO_DIR (n8n's user folder n8n/ with its workflows, credentials"
      echo "   and login; the pack; logs); remove it with: rm -rf $DEMO_DIR"
    fi
    if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null || true; wait "$sleeper" 2>/dev/null || true; fi
  }
  trap 'stop_demo; exit 130' INT TERM
  trap stop_demo EXIT
  for p in "$PORT" $((PORT + 1)); do
    if ss -Hltn "sport = :$p" | grep -q .; then
      echo "demo: port $p is in use (n8n needs $PORT and $((PORT + 1)) for its task broker): stop what uses it or set DEMO_N8N_PORT" >&2
      exit 1
    fi
  done
  export E2E_DIR=$DEMO_DIR E2E_PACK_FROM=worktree
  if [ -e "$DEMO_DIR" ]; then
    [ -f "$DEMO_DIR/.chat-archive-demo" ] || { echo "demo: $DEMO_DIR exists and is not a demo folder: remove it or set CHAT_ARCHIVE_DEMO_DIR" >&2; exit 1; }
    bash scripts/n8n-e2e.sh stop-all
    echo "== replacing the previous demo's data folder $DEMO_DIR"
    rm -rf "$DEMO_DIR"
  fi
  mkdir -p "$DEMO_DIR/pack"
  touch "$DEMO_DIR/.chat-archive-demo"
  made_dir=1
  if [ "$(bash scripts/n8n-e2e.sh installed)" != yes ]; then
    echo "== installing n8n $(bash scripts/n8n-e2e.sh version) into $(dirname "$(dirname "$(dirname "$(bash scripts/n8n-e2e.sh bin)")")") (the first time only: 3-9 min; log $DEMO_DIR/install.log)"
  fi
  bash scripts/n8n-e2e.sh install 2>"$DEMO_DIR/install.log" || { tail -n 40 "$DEMO_DIR/install.log" >&2; exit 1; }
  if [ -n "${CHAT_ARCHIVE_PACK:-}" ]; then
    cp "$CHAT_ARCHIVE_PACK" "$DEMO_DIR/pack/"
  else
    echo "== packing this checkout (n8n-node build, npm pack)"
    bash scripts/n8n-e2e.sh pack >/dev/null 2>"$DEMO_DIR/pack.log" || { cat "$DEMO_DIR/pack.log" >&2; exit 1; }
  fi
  echo "== starting n8n on http://127.0.0.1:$PORT (data folder $DEMO_DIR/n8n, log $DEMO_DIR/n8n/n8n.log)"
  N8N_PORT=$PORT bash scripts/n8n-e2e.sh start "$DEMO_DIR/n8n"
  DEMO_BASE_URL=http://127.0.0.1:$PORT npx tsx scripts/demo-n8n.ts
  echo "   Ctrl-C stops n8n$([ $started_store = 1 ] && echo ' and the local store')."
  sleep infinity &
  sleeper=$!
  wait $sleeper
  exit 0
fi

work=$(mktemp -d)
trap 'gpgconf --homedir "$work/gnupg" --kill all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
echo "== 1. a throw-away OpenPGP key pair for the archive team (gpg, ed25519/cv25519)"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Archive Team (demo) <archive@example.invalid>' ed25519 sign never
fpr=$(gpg --batch --quiet --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --quiet --passphrase '' --quick-add-key "$fpr" cv25519 encr never
gpg --batch --armor --export "$fpr" > "$work/team.asc"
echo "   fingerprint $fpr"

echo "== 2. the capture template in n8n-core, fed the signed fixture deliveries"
DEMO_PUBLIC_KEY_FILE=$work/team.asc DEMO_OUT=$work/one-record.pgp npx tsx scripts/demo.ts

echo "== 4. one archived record, decrypted by gpg (only the holder of the private key can)"
gpg --batch --quiet --decrypt "$work/one-record.pgp" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.stringify(JSON.parse(s), null, 2)));'
