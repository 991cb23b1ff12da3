#!/usr/bin/env bash
# s3-local.sh - a throw-away, real S3-compatible store on loopback for tests and the demo:
# a single-node Ceph cluster (1 monitor, 1 OSD on the in-memory object store, 1 radosgw)
# with its S3 endpoint on 127.0.0.1:7480, no cephx, and a fixed test user and keys.
#
#   s3-local.sh start   start it (idempotent: prints the settings when it already runs);
#                       installs ceph-mon ceph-osd radosgw ceph-common first when they are
#                       missing and the user is root
#   s3-local.sh stop    stop only the daemons this script started (pid files, checked against
#                       their command line); --purge also removes the state folder
#   s3-local.sh env     print the shell settings (export lines) of a running store
#
# All state (conf, mon store, OSD, logs, pid files, sockets) lives under $CHAT_ARCHIVE_S3_DIR.
# Environment (all optional):
#   CHAT_ARCHIVE_S3_DIR    state folder                    (default ${TMPDIR:-/tmp}/chat-archive-s3)
#   CEPH_MON_PORT          monitor msgr2 port, loopback    (default 46789)
#   RGW_PORT               S3 endpoint port, loopback      (default 7480)
#   S3_ACCESS_KEY / S3_SECRET_KEY   keys of the RGW user "test" (default testaccess / testsecret)
#   MEMSTORE_BYTES         capacity of the RAM-backed OSD  (default 4 GiB)
#   RGW_LC_DEBUG_INTERVAL  > 0: one lifecycle "day" lasts this many seconds (default 0)
# Recipe and pitfalls: docs/local-s3.md
set -euo pipefail

D=${CHAT_ARCHIVE_S3_DIR:-${TMPDIR:-/tmp}/chat-archive-s3}
MON_PORT=${CEPH_MON_PORT:-46789}
RGW_PORT=${RGW_PORT:-7480}
AK=${S3_ACCESS_KEY:-testaccess}
SK=${S3_SECRET_KEY:-testsecret}
MEMSTORE_BYTES=${MEMSTORE_BYTES:-4294967296}
LC_DEBUG=${RGW_LC_DEBUG_INTERVAL:-0}
export CEPH_CONF=$D/ceph.conf
T0=$(date +%s.%N)

log() { printf '[s3-local %5.1fs] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*" >&2; }
die() { echo "s3-local: $*" >&2; exit 1; }

alive() {                          # running and not a zombie
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
# the pid in run/$1.pid is alive and is one of ours (our ceph.conf on its command line)
ours_alive() {
  local pf=$D/run/$1.pid pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf")
  alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$D/ceph.conf"
}
died() { [ -s "$D/run/$1.pid" ] && ! ours_alive "$1"; }

stop_one() {                       # $1 = daemon name, e.g. osd.0
  local pf=$D/run/$1.pid pid
  [ -s "$pf" ] || return 0
  pid=$(cat "$pf")
  if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$D/ceph.conf"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $1 (pid $pid)"
  elif alive "$pid"; then
    log "pid $pid in $pf is not one of ours any more; not touching it"
  fi
  rm -f "$pf"
}

do_stop() {
  if [ -d "$D/run" ]; then
    for n in client.rgw.a osd.0 mon.a; do stop_one "$n"; done   # reverse start order
  fi
  if [ "${1:-}" = "--purge" ]; then rm -rf "$D"; log "removed $D"; fi
}

write_env() {
  cat >"$D/env" <<ENV
export S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export S3_ACCESS_KEY=$AK
export S3_SECRET_KEY=$SK
export S3_REGION=us-east-1
export CEPH_CONF=$D/ceph.conf
ENV
  cat "$D/env"
}

ensure_packages() {
  local missing=()
  for b in ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw ceph:ceph-common radosgw-admin:radosgw monmaptool:ceph-common; do
    command -v "${b%%:*}" >/dev/null 2>&1 || missing+=("${b##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ceph-mon ceph-osd radosgw ceph-common)"
  log "installing ceph-mon ceph-osd radosgw ceph-common"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq ceph-mon ceph-osd radosgw ceph-common uuid-runtime >/dev/null || die "apt-get install failed"
}

do_start() {
  ensure_packages
  if ours_alive mon.a && ours_alive osd.0 && ours_alive client.rgw.a &&
     curl -sf -m 2 -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
    log "already running (state in $D)"
    write_env
    return 0
  fi
  do_stop >/dev/null 2>&1
  for p in "$MON_PORT" "$RGW_PORT"; do
    if ss -Hltn "sport = :$p" | grep -q .; then
      die "port $p is already in use: $(ss -Hltnp "sport = :$p" | grep -o 'users:.*')"
    fi
  done
  rm -rf "$D"
  mkdir -p "$D"/{mon,osd0,log,run,crash}
  STARTED=1
  trap 'if [ "${READY:-0}" = 0 ]; then echo "s3-local: FAILED - stopping what was started; logs in $D/log" >&2; do_stop; fi' EXIT

  local lc_conf="# rgw lc debug interval: not set"
  if [ "$LC_DEBUG" -gt 0 ] 2>/dev/null; then lc_conf="rgw lc debug interval = $LC_DEBUG
rgw lifecycle work time = 00:00-23:59"; fi
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
mon data = $D/mon
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon warn on insecure global id reclaim allowed = false
mon warn on insecure global id reclaim = false
log file = $D/log/\$name.log
mon cluster log file = $D/log/\$cluster.\$channel.log
crash dir = $D/crash
run dir = $D/run
pid file = $D/run/\$name.pid
admin socket = $D/run/\$name.asok
mon allow pool delete = true
paxos propose interval = 0.1

[osd]
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd data = $D/osd0
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# the "wrong fsid" race with auth=none: place osd.0 in CRUSH ourselves instead
osd crush update on start = false
osd class update on start = false

[client]
admin socket =
$lc_conf

[client.rgw.a]
admin socket = $D/run/\$name.asok
# radosgw defaults to ms_mon_client_mode=secure, which auth=none cannot provide
ms mon client mode = crc
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $D/rgw
rgw enable usage log = false
rgw thread pool size = 64
CONF

  monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$fsid" "$D/monmap" >/dev/null
  ceph-mon -c "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap"
  ceph-mon -c "$D/ceph.conf" -i a
  timeout 30 ceph mon stat >/dev/null 2>&1 || die "monitor did not form a quorum"
  ceph health mute MGR_DOWN --sticky >/dev/null 2>&1 || true
  log "mon up"

  local osd_uuid; osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph osd new "$osd_uuid" 0 >/dev/null
  ceph osd crush add osd.0 1.0 root=default host=localhost >/dev/null 2>&1
  ceph-osd -c "$D/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1 || die "ceph-osd --mkfs failed"
  ceph-osd -c "$D/ceph.conf" -i 0 2>/dev/null
  for _ in $(seq 1 60); do
    ceph osd stat 2>/dev/null | grep -q ' 1 up' && break
    died osd.0 && die "ceph-osd exited (see $D/log/osd.0.log)"
    sleep 0.5
  done
  ceph osd stat | grep -q ' 1 up' || die "osd.0 did not come up"
  log "osd up"

  timeout 60 radosgw -c "$D/ceph.conf" -n client.rgw.a
  local rgw_pid=""
  for _ in $(seq 1 120); do
    curl -sf -m 2 -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break
    [ -z "$rgw_pid" ] && [ -s "$D/run/client.rgw.a.pid" ] && rgw_pid=$(cat "$D/run/client.rgw.a.pid")
    if [ -n "$rgw_pid" ] && ! kill -0 "$rgw_pid" 2>/dev/null; then die "radosgw exited (see $D/log/client.rgw.a.log)"; fi
    sleep 0.5
  done
  curl -sf -m 2 -o /dev/null "http://127.0.0.1:$RGW_PORT/" || die "radosgw not answering on :$RGW_PORT"
  log "rgw up"

  # --max-buckets=0: unlimited (default 1000; every test makes its own buckets)
  radosgw-admin user create --uid=test --display-name="test user" --max-buckets=0 \
    --access-key="$AK" --secret-key="$SK" >/dev/null
  READY=1
  log "user 'test' created; store ready on http://127.0.0.1:$RGW_PORT"
  write_env
}

case "${1:-}" in
  start) do_start ;;
  stop) shift; do_stop "${1:-}" ;;
  env) [ -s "$D/env" ] && ours_alive client.rgw.a || die "not running (run: $0 start)"; cat "$D/env" ;;
  *) echo "usage: $0 start|stop [--purge]|env" >&2; exit 2 ;;
esac
