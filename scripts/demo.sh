#!/usr/bin/env bash
# The demo (README "Set up on a fresh machine"): the main job on real input, on a fresh machine.
#  1. installs what it needs (Node 24 when older, npm dependencies, gpg, the local Ceph RGW store),
#  2. starts the local S3-compatible store on 127.0.0.1:7480,
#  3. makes a throw-away gpg key pair (in a temp GNUPGHOME, deleted at the end),
#  4. runs the template workflows/whatsapp-capture-archive.json in n8n-core (in-process) behind a
#     loopback webhook URL, signs each delivery of test/fixtures/whatsapp with a throw-away app
#     secret and POSTs it there,
#  5. lists the archived object keys and prints one record decrypted by gpg.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node24.sh

if ! command -v gpg >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "demo: gpg is missing (apt-get install gnupg)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnupg >/dev/null
fi
stamp=node_modules/.chat-archive-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --ignore-scripts --no-audit --no-fund
  touch "$stamp"
fi
eval "$(bash scripts/s3-local.sh start)"

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
