#!/usr/bin/env bash
# n8n-e2e.sh - the pack in a REAL n8n 2.x (headless, SQLite or PostgreSQL, loopback only), for `npm run test:e2e`.
#
#   n8n-e2e.sh test [jest args]   everything: install n8n (cached), start the local S3 store when it is
#                                 not running, build + `npm pack` the pack, run the jest e2e suite
#                                 (jest.e2e.config.js); the suite starts/stops n8n through this script;
#                                 on exit every n8n this script started is stopped by its pid file.
#   n8n-e2e.sh bench [args]       bench/webhook-latency.ts (templates beside bare Webhook and n8n-nodes peers,
#                                 per expression engine; args passed on, e.g. --runs 1 --engines vm)
#   n8n-e2e.sh install            install n8n@$N8N_VERSION on Node 24 into the cache (skipped when there)
#   n8n-e2e.sh pack               build the pack from a snapshot (E2E_PACK_FROM=HEAD|worktree), `npm pack` it;
#                                 prints the tarball path
#   n8n-e2e.sh start <dir>        set up <dir> as n8n's user folder (pack tarball installed into
#                                 <dir>/.n8n/nodes/node_modules/n8n-nodes-chat-archive) and start n8n
#                                 there, headless; waits for /healthz/readiness; pid file <dir>/n8n.pid,
#                                 log <dir>/n8n.log. Environment variables set by the caller (N8N_*,
#                                 EXECUTIONS_*, DB_*) override the defaults below (DB_TYPE defaults to
#                                 sqlite; DB_TYPE=postgresdb with the DB_POSTGRESDB_* that pg-start prints).
#                                 E2E_ROLE=webhook[-<name>] | worker-<name> starts a queue-mode webhook
#                                 process or worker instead (pid file <dir>/n8n-<role>.pid)
#   n8n-e2e.sh stop <dir> [role]  stop that n8n (TERM to its process group, KILL after 20 s); without a
#                                 role: every process of <dir> (workers, webhooks, main, redis, postgres)
#   n8n-e2e.sh redis-start <dir> <port>  a throw-away redis-server on 127.0.0.1:<port> (pid <dir>/redis.pid)
#   n8n-e2e.sh pg-start <dir> <port>     a throw-away PostgreSQL cluster (Debian's postgresql) in <dir>,
#                                 on 127.0.0.1:<port> only, fsync off; a database and a user for n8n;
#                                 prints their DB_TYPE / DB_POSTGRESDB_* settings as shell lines
#                                 (pid <dir>/postgres.pid; stop / stop-all stop it)
#   n8n-e2e.sh stop-all           stop every n8n started under $E2E_DIR
#   n8n-e2e.sh bin                print the n8n binary path
#   n8n-e2e.sh installed | version  "yes" when n8n@$N8N_VERSION is in the cache (else "no") | that version
#
# Environment (all optional):
#   CHAT_ARCHIVE_CACHE  cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-chat-archive);
#                       n8n goes to <cache>/n8n
#   N8N_VERSION         default 2.40.7 (2.41.x needs a package the registry lacks)
#   E2E_DIR             work folder (default ${TMPDIR:-/tmp}/chat-archive-n8n-e2e): pack/, instances
#   E2E_PACK_FROM       HEAD (default: the last commit) or worktree (uncommitted changes too)
#   N8N_PORT            default 5678; the task broker uses N8N_RUNNERS_BROKER_PORT (default port+1)
# Recipe: /work/shared/notes/n8n-headless-e2e.md (env set, readiness, pid files, pitfalls).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
source scripts/node24.sh

CACHE=${CHAT_ARCHIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-chat-archive}
N8N_VERSION=${N8N_VERSION:-2.40.7}
N8N_DIR=$CACHE/n8n
N8N_BIN=$N8N_DIR/node_modules/.bin/n8n
E2E_DIR=${E2E_DIR:-${TMPDIR:-/tmp}/chat-archive-n8n-e2e}
T0=$(date +%s.%N)

log() { printf '[n8n-e2e %6.1fs] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*" >&2; }
die() { echo "n8n-e2e: $*" >&2; exit 1; }

installed_version() {
  node -p "require('$N8N_DIR/node_modules/n8n/package.json').version" 2>/dev/null || echo none
}

is_installed() {
  [ "$(installed_version)" = "$N8N_VERSION" ] && [ -x "$N8N_BIN" ] &&
    [ -f "$N8N_DIR/.sqlite3-rebuilt-$N8N_VERSION" -o -n "$(ls "$N8N_DIR"/node_modules/sqlite3/build/Release/*.node 2>/dev/null)" ]
}

do_install() {
  if is_installed; then
    log "n8n $N8N_VERSION already installed in $N8N_DIR"
    return 0
  fi
  log "installing n8n@$N8N_VERSION into $N8N_DIR (install scripts ignored; takes 3-5 min)"
  mkdir -p "$N8N_DIR"
  printf '{"name":"n8n-e2e-install","private":true}\n' >"$N8N_DIR/package.json"
  rm -f "$N8N_DIR/.sqlite3-rebuilt-"*
  (cd "$N8N_DIR" && npm install --ignore-scripts --no-audit --no-fund --save-exact "n8n@$N8N_VERSION" >&2)
  log "rebuilding sqlite3 against Node 24 headers ($NODE24_DIR)"
  (cd "$N8N_DIR" && npm rebuild sqlite3 --nodedir="$NODE24_DIR" >&2)
  [ "$(installed_version)" = "$N8N_VERSION" ] || die "n8n install failed (found $(installed_version))"
  touch "$N8N_DIR/.sqlite3-rebuilt-$N8N_VERSION"
  log "n8n $(installed_version) installed"
}

# Build from a snapshot, so that the build neither writes dist/ into the (shared) checkout nor picks up
# half-written files: E2E_PACK_FROM=HEAD (default) packs the last commit, E2E_PACK_FROM=worktree the
# working tree (tracked + untracked-not-ignored files).
do_pack() {
  local snap=$E2E_DIR/pack/src out=$E2E_DIR/pack from=${E2E_PACK_FROM:-HEAD}
  [ -d node_modules/@n8n/node-cli ] || die "npm dependencies are missing (run npm ci --ignore-scripts)"
  rm -rf "$snap"; mkdir -p "$snap"
  if [ "$from" = worktree ]; then
    log "packing the working tree"
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done | tar --null -T - -cf - | tar -xf - -C "$snap"
  else
    log "packing commit $(git rev-parse --short "$from") ($from; E2E_PACK_FROM=worktree packs uncommitted changes)"
    git archive --format=tar "$from" | tar -xf - -C "$snap"
  fi
  ln -s "$REPO/node_modules" "$snap/node_modules"
  log "building the pack (n8n-node build) in $snap"
  (cd "$snap" && npx n8n-node build >&2) || die "build failed"
  rm -f "$out"/*.tgz
  (cd "$snap" && npm pack --silent --pack-destination "$out" >/dev/null) || die "npm pack failed"
  local tgz; tgz=$(ls "$out"/n8n-nodes-chat-archive-*.tgz)
  log "packed $tgz ($(du -k "$tgz" | cut -f1) KiB)"
  echo "$tgz"
}

# pid file of a role: main → <dir>/n8n.pid, webhook / worker-N → <dir>/n8n-<role>.pid
pidfile() { if [ "${2:-main}" = main ]; then echo "$1/n8n.pid"; else echo "$1/n8n-$2.pid"; fi; }
alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1; [ -n "$st" ] && [ "$st" != Z ]; }

# install the tarball as an installed community package of the user folder $1
install_pack() {
  local user=$1 tgz
  tgz=$(ls "$E2E_DIR"/pack/n8n-nodes-chat-archive-*.tgz 2>/dev/null | head -1)
  [ -n "$tgz" ] || tgz=$(do_pack)
  local nodes=$user/.n8n/nodes
  if [ -f "$nodes/.installed-from" ] && [ "$(cat "$nodes/.installed-from")" = "$(sha256sum "$tgz" | cut -d' ' -f1)" ]; then
    return 0
  fi
  mkdir -p "$nodes"
  [ -f "$nodes/package.json" ] || printf '{"name":"installed-nodes","private":true,"dependencies":{}}\n' >"$nodes/package.json"
  log "installing $(basename "$tgz") into $nodes/node_modules"
  # peer dependency n8n-workflow comes from n8n itself, as for packages installed from the editor
  (cd "$nodes" && npm install --no-audit --no-fund --ignore-scripts --omit=dev --legacy-peer-deps \
      --prefer-offline "$tgz" >&2) || die "installing the pack tarball failed"
  [ -f "$nodes/node_modules/n8n-nodes-chat-archive/package.json" ] || die "pack not in $nodes/node_modules"
  sha256sum "$tgz" | cut -d' ' -f1 >"$nodes/.installed-from"
}

# E2E_ROLE=main (n8n start, default) | webhook (n8n webhook) | worker-<name> (n8n worker); all roles of
# one user folder share its database, encryption key and installed pack (queue mode: EXECUTIONS_MODE=queue
# and QUEUE_BULL_REDIS_* set by the caller; workers answer readiness on QUEUE_HEALTH_CHECK_PORT).
do_start() {
  local user=${1:?usage: start <user folder>} role=${E2E_ROLE:-main}
  mkdir -p "$user"; user=$(cd "$user" && pwd)
  [ -x "$N8N_BIN" ] || die "n8n is not installed (run: $0 install)"
  local pf; pf=$(pidfile "$user" "$role")
  if [ -s "$pf" ] && alive "$(cat "$pf")"; then die "n8n $role already running for $user (pid $(cat "$pf"))"; fi
  install_pack "$user"
  local port=${N8N_PORT:-5678} cmd ready_port logf=$user/n8n.log
  case "$role" in
    main) cmd=start; ready_port=$port ;;
    webhook*) cmd=webhook; ready_port=$port; logf=$user/n8n-$role.log ;;
    worker*) cmd="worker --concurrency=${N8N_WORKER_CONCURRENCY:-5}"; ready_port=${QUEUE_HEALTH_CHECK_PORT:?workers need QUEUE_HEALTH_CHECK_PORT}
      logf=$user/n8n-$role.log ;;
    *) die "unknown role $role" ;;
  esac
  if ss -Hltn "sport = :$ready_port" | grep -q .; then die "port $ready_port is already in use"; fi
  [ -s "$user/encryption-key" ] || head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$user/encryption-key"
  echo "$user" >>"$E2E_DIR/instances"
  log "starting n8n $(installed_version) $role (user folder $user, port $ready_port)"
  (
    export N8N_USER_FOLDER=$user
    export N8N_ENCRYPTION_KEY; N8N_ENCRYPTION_KEY=$(cat "$user/encryption-key")
    export N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=true
    export N8N_HOST=127.0.0.1 N8N_LISTEN_ADDRESS=127.0.0.1 N8N_PORT=$port N8N_PROTOCOL=http
    export N8N_WEBHOOK_URL=${N8N_WEBHOOK_URL:-http://127.0.0.1:$port/}
    export N8N_EDITOR_BASE_URL=${N8N_EDITOR_BASE_URL:-http://127.0.0.1:$port/}
    export N8N_RUNNERS_BROKER_PORT=${N8N_RUNNERS_BROKER_PORT:-$((port + 1))}
    export N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1
    export N8N_WORKER_SERVER_ADDRESS=127.0.0.1
    export N8N_SECURE_COOKIE=false
    export N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false
    export N8N_TEMPLATES_ENABLED=false N8N_PERSONALIZATION_ENABLED=false N8N_HIRING_BANNER_ENABLED=false
    export N8N_PUBLIC_API_DISABLED=false
    export N8N_DISABLED_MODULES=${N8N_DISABLED_MODULES:-mcp-registry}
    export N8N_RUNNERS_TASK_TIMEOUT=60 N8N_UNVERIFIED_PACKAGES_ENABLED=false
    export N8N_COMPRESSION_NODE_MAX_DECOMPRESSED_SIZE_BYTES=268435456 N8N_COMPRESSION_NODE_MAX_ZIP_ENTRIES=1000
    export N8N_LOG_LEVEL=${N8N_LOG_LEVEL:-info}
    export DB_TYPE=${DB_TYPE:-sqlite}
    # jest sets NODE_ENV=test, with which n8n 2.40.7 exits at once without a word
    export NODE_ENV=production
    unset JEST_WORKER_ID
    cd "$user"
    # shellcheck disable=SC2086
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pf" "$N8N_BIN" $cmd >>"$logf" 2>&1 </dev/null &
  )
  for _ in $(seq 1 50); do [ -s "$pf" ] && break; sleep 0.1; done
  [ -s "$pf" ] || die "n8n did not write its pid file"
  local pid; pid=$(cat "$pf")
  for _ in $(seq 1 720); do
    if curl -sf -m 2 -o /dev/null "http://127.0.0.1:$ready_port/healthz/readiness"; then
      log "n8n $role ready on http://127.0.0.1:$ready_port (pid $pid)"
      return 0
    fi
    alive "$pid" || { tail -n 40 "$logf" >&2; die "n8n $role exited during boot (log: $logf)"; }
    sleep 0.25
  done
  tail -n 40 "$logf" >&2
  stop_one "$pf"
  die "n8n $role not ready after 180 s (log: $logf)"
}

# stop the process group whose leader's pid is in pid file $1 (signal $2, default TERM; KILL after 20 s)
stop_one() {
  local pf=$1 sig=${2:-TERM} pid what
  [ -s "$pf" ] || return 0
  pid=$(cat "$pf"); what=$(basename "$pf" .pid)
  if alive "$pid"; then
    kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    # children (the task runner) are in the same process group
    for _ in $(seq 1 50); do pgrep -g "$pid" >/dev/null 2>&1 || break; sleep 0.1; done
    pgrep -g "$pid" >/dev/null 2>&1 && kill -KILL -- "-$pid" 2>/dev/null || true
    log "stopped $what (pid $pid, $(dirname "$pf"))"
  fi
  rm -f "$pf"
}

# stop <dir> [role]: one role, or every process of <dir>: workers, webhooks, main, redis, then postgres
# (SIGINT: PostgreSQL's fast shutdown; TERM would wait for every client to disconnect)
do_stop() {
  local user=${1:?usage: stop <user folder> [role]} role=${2:-}
  if [ -n "$role" ]; then stop_one "$(pidfile "$user" "$role")"; return 0; fi
  local pf
  for pf in "$user"/n8n-worker*.pid "$user"/n8n-webhook*.pid "$user"/n8n.pid "$user"/redis.pid; do
    [ -e "$pf" ] && stop_one "$pf"
  done
  [ -e "$user/postgres.pid" ] && stop_one "$user/postgres.pid" INT
  return 0
}

# redis-start <dir> <port>: a throw-away redis-server on 127.0.0.1 (no persistence), pid file <dir>/redis.pid
do_redis_start() {
  local user=${1:?usage: redis-start <dir> <port>} port=${2:-6390}
  mkdir -p "$user"; user=$(cd "$user" && pwd)
  if ! command -v redis-server >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "redis-server is missing (apt-get install redis-server)"
    log "installing Debian redis-server"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 || die "apt-get install redis-server failed"
  fi
  if ss -Hltn "sport = :$port" | grep -q .; then die "port $port is already in use"; fi
  echo "$user" >>"$E2E_DIR/instances"
  local pf=$user/redis.pid
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pf" redis-server --bind 127.0.0.1 --port "$port" \
    --save '' --appendonly no --dir "$user" --protected-mode yes >>"$user/redis.log" 2>&1 </dev/null &
  for _ in $(seq 1 100); do
    if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then log "redis ready on 127.0.0.1:$port"; return 0; fi
    sleep 0.1
  done
  stop_one "$pf"
  die "redis did not start (log: $user/redis.log)"
}

# pg-start <dir> <port>: a throw-away PostgreSQL cluster for test data (Debian's postgresql; n8n recommends
# PostgreSQL for queue mode: docs.n8n.io/hosting/scaling/queue-mode/). As root, initdb and the server
# run as the `postgres` user in <dir>/data, which it owns (the server refuses to run as root). Loopback
# TCP only, password auth (scram-sha-256) for the n8n user; the Unix socket lives in <dir>/data.
# fsync, synchronous_commit and full_page_writes are off: nothing here needs to survive a crash.
# Prints DB_TYPE and DB_POSTGRESDB_* as `export` lines for n8n's processes.
PG_PORT_DEFAULT=5440
pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return 0; }
  done
  return 1
}
do_pg_start() {
  local dir=${1:?usage: pg-start <dir> <port>} port=${2:-$PG_PORT_DEFAULT} bin
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if ! bin=$(pg_bindir); then
    [ "$(id -u)" = 0 ] || die "PostgreSQL is missing (apt-get install postgresql)"
    log "installing Debian postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1; } ||
      die "apt-get install postgresql failed"
    bin=$(pg_bindir) || die "postgresql installed but no initdb/postgres under /usr/lib/postgresql"
  fi
  if ss -Hltn "sport = :$port" | grep -q .; then die "port $port is already in use"; fi
  local pf=$dir/postgres.pid data=$dir/data as=()
  if [ -s "$pf" ] && alive "$(cat "$pf")"; then die "postgres already running for $dir (pid $(cat "$pf"))"; fi
  if [ "$(id -u)" = 0 ]; then
    as=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env --)
    # the postgres user must reach <dir>: it owns it (mode 700) and can traverse every parent folder
    chown postgres:postgres "$dir"; chmod 700 "$dir"
    setpriv --reuid=postgres --regid=postgres --init-groups test -x "$dir" ||
      die "the postgres user cannot reach $dir (a parent folder is not searchable by others)"
  fi
  echo "$dir" >>"$E2E_DIR/instances"
  rm -rf "$data"
  local password; password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  log "initdb ($("$bin/postgres" --version)) in $data"
  "${as[@]}" env PATH="$bin:/usr/bin:/bin" LC_ALL=C.UTF-8 "$bin/initdb" -D "$data" -U postgres -E UTF8 \
    --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 --no-sync >>"$dir/postgres.log" 2>&1 ||
    { tail -n 20 "$dir/postgres.log" >&2; die "initdb failed (log: $dir/postgres.log)"; }
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pf" "${as[@]}" "$bin/postgres" -D "$data" \
    -c listen_addresses=127.0.0.1 -c port="$port" -c unix_socket_directories="$data" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=200 -c shared_buffers=128MB >>"$dir/postgres.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$pf" ] && break; sleep 0.1; done
  local ok=0
  for _ in $(seq 1 300); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then ok=1; break; fi
    alive "$(cat "$pf" 2>/dev/null || echo 0)" || break
    sleep 0.1
  done
  [ $ok = 1 ] || { tail -n 20 "$dir/postgres.log" >&2; stop_one "$pf" INT; die "postgres did not start (log: $dir/postgres.log)"; }
  # on stdin, not argv: the password stays out of the process list
  printf "CREATE ROLE n8n LOGIN PASSWORD '%s';\nCREATE DATABASE n8n OWNER n8n;\n" "$password" |
    "${as[@]}" "$bin/psql" -q -v ON_ERROR_STOP=1 -h "$data" -p "$port" -U postgres -d postgres >>"$dir/postgres.log" 2>&1 ||
    { stop_one "$pf" INT; die "creating the n8n database failed (log: $dir/postgres.log)"; }
  log "postgres ready on 127.0.0.1:$port (database n8n)"
  printf 'export DB_TYPE=postgresdb DB_POSTGRESDB_HOST=127.0.0.1 DB_POSTGRESDB_PORT=%s DB_POSTGRESDB_DATABASE=n8n DB_POSTGRESDB_USER=n8n DB_POSTGRESDB_PASSWORD=%s\n' "$port" "$password"
}

do_stop_all() {
  [ -f "$E2E_DIR/instances" ] || return 0
  sort -u "$E2E_DIR/instances" | while read -r u; do [ -n "$u" ] && do_stop "$u"; done
  rm -f "$E2E_DIR/instances"
}

# the editor suite: Debian chromium and playwright-core (devDependency, else cached like n8n)
PLAYWRIGHT_VERSION=${PLAYWRIGHT_VERSION:-1.65.1}
ensure_browser() {
  if ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing Debian redis-server (queue mode suite)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 || log "apt-get install redis-server failed"
  fi
  if ! pg_bindir >/dev/null && [ "$(id -u)" = 0 ]; then
    log "installing Debian postgresql (queue mode suite)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 || log "apt-get install postgresql failed"
  fi
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    [ "$(id -u)" = 0 ] || die "chromium is missing (apt-get install chromium)"
    log "installing Debian chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
      die "apt-get install chromium failed"
  fi
  if ! node -e "require.resolve('playwright-core')" >/dev/null 2>&1 &&
     [ ! -f "$CACHE/playwright/node_modules/playwright-core/package.json" ]; then
    log "installing playwright-core@$PLAYWRIGHT_VERSION into $CACHE/playwright"
    mkdir -p "$CACHE/playwright"
    [ -f "$CACHE/playwright/package.json" ] || printf '{"name":"chat-archive-playwright","private":true}\n' >"$CACHE/playwright/package.json"
    (cd "$CACHE/playwright" && npm install --no-audit --no-fund --save-exact "playwright-core@$PLAYWRIGHT_VERSION" >&2) ||
      die "installing playwright-core failed"
  fi
}

do_test() {
  command -v gpg >/dev/null 2>&1 || die "gpg is missing (apt-get install gnupg)"
  do_install
  ensure_browser
  local started_store=0
  if ! bash scripts/s3-local.sh env >/dev/null 2>&1; then started_store=1; fi
  eval "$(bash scripts/s3-local.sh start)"
  # shellcheck disable=SC2064
  trap "bash '$REPO/scripts/n8n-e2e.sh' stop-all; if [ $started_store = 1 ] && [ \"\${KEEP_S3:-0}\" != 1 ]; then bash '$REPO/scripts/s3-local.sh' stop >/dev/null 2>&1 || true; fi" EXIT
  mkdir -p "$E2E_DIR"
  do_stop_all
  rm -rf "$E2E_DIR/runs"   # user folders of the previous run
  do_pack >/dev/null
  export E2E_DIR N8N_E2E_SCRIPT="$REPO/scripts/n8n-e2e.sh"
  local rc=0
  npx jest -c jest.e2e.config.js "$@" || rc=$?
  return $rc
}

do_bench() {
  do_install
  local started_store=0
  if ! bash scripts/s3-local.sh env >/dev/null 2>&1; then started_store=1; fi
  eval "$(bash scripts/s3-local.sh start)"
  # shellcheck disable=SC2064
  trap "bash '$REPO/scripts/n8n-e2e.sh' stop-all; if [ $started_store = 1 ] && [ \"\${KEEP_S3:-0}\" != 1 ]; then bash '$REPO/scripts/s3-local.sh' stop >/dev/null 2>&1 || true; fi" EXIT
  mkdir -p "$E2E_DIR"
  do_stop_all
  do_pack >/dev/null
  export E2E_DIR N8N_E2E_SCRIPT="$REPO/scripts/n8n-e2e.sh"
  npx tsx bench/webhook-latency.ts "$@"
}

case "${1:-}" in
  install) do_install ;;
  pack) mkdir -p "$E2E_DIR"; do_pack ;;
  start) shift; mkdir -p "$E2E_DIR"; do_start "$@" ;;
  stop) shift; do_stop "$@" ;;
  redis-start) shift; mkdir -p "$E2E_DIR"; do_redis_start "$@" ;;
  pg-start) shift; mkdir -p "$E2E_DIR"; do_pg_start "$@" ;;
  stop-all) do_stop_all ;;
  bin) echo "$N8N_BIN" ;;
  installed) if is_installed; then echo yes; else echo no; fi ;;
  version) echo "$N8N_VERSION" ;;
  test) shift; do_test "$@" ;;
  bench) shift; do_bench "$@" ;;
  *) echo "usage: $0 test [jest args] | bench | install | pack | start <dir> | stop <dir> | redis-start <dir> <port> | pg-start <dir> <port> | stop-all | bin | installed | version" >&2; exit 2 ;;
esac
