#!/usr/bin/env bash
# Another package depends on Dataplane by version, as a user's would: the
# checkout's tracked files become a temporary git repository tagged
# $version (and a later 1.0.0 whose manifest does not even parse, which
# `from: "$version"` must not take); the example application
# (Examples/EchoServer, `import Dataplane` only) resolves it from that
# repository's file:// URL, builds in its own folder, and serves TCP and UDP
# echo with each socket API over a tap in a network namespace this script
# makes, to a Linux client there that checks every byte. The namespace, the
# server and the temporary folder go at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "package-by-version: needs root for network namespaces; skipped"; exit 0; fi
version=0.1.0  # Docs/SWIFT.md "Versions"
grep -q "from: \"$version\"" Examples/EchoServer/Package.swift \
  || { echo "package-by-version: Examples/EchoServer/Package.swift does not ask for from: \"$version\""; exit 1; }
started=$(date +%s)
work=$(mktemp -d /tmp/dp-package-XXXXXX)
ns="dpv-$$-$RANDOM"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# copy_tracked DEST [PATH...]: the tracked files as they are in the work tree
# (edits included; build folders and other untracked files left behind).
copy_tracked() {
  local dest=$1
  shift
  mkdir -p "$dest"
  git ls-files -z -- "$@" | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
    | tar --null -T - -cf - | tar -xf - -C "$dest"
}

# The tagged repository, named as the example's dependency names it.
repo="$work/dataplane"
copy_tracked "$repo"
commit() { git -C "$repo" -c user.name=package-by-version -c user.email=test@localhost commit -qm "$1"; }
git -C "$repo" init -q
git -C "$repo" add -A
commit "Dataplane $version"
git -C "$repo" tag "$version"
echo "this is not a manifest" >"$repo/Package.swift"
git -C "$repo" add -A
commit "a next major version that no 0.x requirement may resolve to"
git -C "$repo" tag 1.0.0

# The example as a user has it: a package in its own folder, with its own
# .build, naming Dataplane by URL and version (DATAPLANE_URL, see its Package.swift).
copy_tracked "$work" Examples/EchoServer
app="$work/Examples/EchoServer"
build_start=$(date +%s)
(cd "$app" && DATAPLANE_URL="file://$repo" swift build --manifest-cache local) >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; echo "package-by-version: the example did not build"; exit 1; }
build_seconds=$(( $(date +%s) - build_start ))
resolved=$(python3 -c 'import json,sys
pins = json.load(open(sys.argv[1]))["pins"]
print(next(p["state"].get("version") for p in pins if p["identity"] == "dataplane"))' "$app/Package.resolved")
[ "$resolved" = "$version" ] || { echo "package-by-version: resolved dataplane $resolved, not $version"; exit 1; }
echo "package-by-version: the example resolved dataplane $resolved from file://$repo and built in $build_seconds s"

# run_echo API: the example on a tap in a new namespace, the Linux client, the checks.
run_echo() {
  local api=$1 log="$work/server-$1.log"
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  # stdbuf: the server's lines reach the log as printed; timeout bounds a server that hangs.
  timeout 300 ip netns exec "$ns" stdbuf -oL "$app/.build/debug/EchoServer" \
    --tap dpv0 --ip 10.86.0.2/24 --port 7007 --api "$api" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    ip netns exec "$ns" ip link show dpv0 >/dev/null 2>&1 && grep -q serving "$log" && break
    sleep 0.1
  done
  grep -q serving "$log" || { cat "$log"; echo "package-by-version: the $api server did not start"; exit 1; }
  ip netns exec "$ns" ip addr add 10.86.0.1/24 dev dpv0
  ip netns exec "$ns" ip link set dpv0 up
  local peer
  peer=$(ip netns exec "$ns" timeout 120 python3 Tools/test.d/package_echo_peer.py 10.86.0.2 7007) \
    || { cat "$log"; echo "package-by-version: the $api echo failed the Linux client"; exit 1; }
  echo "$peer"
  kill -INT "$server"
  wait "$server"
  server=""
  ip netns delete "$ns"
  cat "$log"
  # The server's own count: every connection and TCP byte (the UDP count may hold a retry's repeats).
  local connections bytes
  connections=$(sed -n 's/^package-echo-peer: \([0-9]*\) TCP connections, \([0-9]*\) TCP bytes.*/\1/p' <<<"$peer")
  bytes=$(sed -n 's/^package-echo-peer: \([0-9]*\) TCP connections, \([0-9]*\) TCP bytes.*/\2/p' <<<"$peer")
  grep -q "^EchoServer: $connections TCP connections, $bytes TCP bytes" "$log" \
    || { echo "package-by-version: the $api server's totals differ from the client's ($connections, $bytes)"; exit 1; }
}
run_echo async
run_echo blocking
echo "package-by-version: dataplane $version by file:// URL: the example built ($build_seconds s) and echoed TCP and UDP with the async and the blocking API; $(( $(date +%s) - started )) s in all"
