#!/usr/bin/env bash
# The SwiftNIO transport (Docs/NIO.md): dp-nio-http (NIO's HTTP/1.1 server
# pipeline) and dp-hb-http (a Hummingbird 2 router), each on a tap in a
# network namespace this script makes, fetched with curl (python3 when
# curl is missing) from that namespace; the body is checked. The same two
# programs with --kernel (NIOPosix, Hummingbird's own Application) are
# fetched over the namespace's loopback. Namespace and servers are
# removed at the end, also on failure.
set -euo pipefail
source "$(dirname "$0")/lib/suite.sh"
suite_begin nio-http dp-nio-http dp-hb-http dp-stat

# fetch URL: the body, from inside the namespace.
fetch() {
  if command -v curl >/dev/null; then
    ip netns exec "$ns" timeout 20 curl -sf --max-time 10 "$1"
  else
    ip netns exec "$ns" timeout 20 python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"
  fi
}

# expect_body URL PATTERN SIZE: the body is SIZE bytes of PATTERN repeated.
expect_body() {
  local body expected
  body=$(fetch "$1")
  expected=$(python3 -c 'import sys; p = sys.argv[1]; n = int(sys.argv[2]); print((p * (n // len(p) + 1))[:n], end="")' "$2" "$3")
  [ "$body" = "$expected" ] || { echo "nio-http: $1 answered '${body:0:80}...' (${#body} bytes), expected ${3} bytes of '$2'"; exit 1; }
}

# serve NAME ARGS...: starts a server in the namespace, waits for "serving".
serve() {
  local name=$1; shift
  ip netns exec "$ns" "$bin/$name" "$@" --seconds 60 >"$work/$name.log" 2>&1 &
  server=$!
  for _ in $(seq 150); do grep -q serving "$work/$name.log" && return 0; sleep 0.1; done
  cat "$work/$name.log"; echo "nio-http: $name did not start"; exit 1
}

stop() {
  kill -INT "$server"
  wait "$server" || true
  server=""
}

suite_namespace dpn

# NIO's HTTP pipeline on the data plane.
serve dp-nio-http --tap dpn0 --ip 10.80.0.2/24 --port 8080 --size 1024 --idle-sleep-us 50
ip netns exec "$ns" ip addr add 10.80.0.1/24 dev dpn0
ip netns exec "$ns" ip link set dpn0 up
expect_body http://10.80.0.2:8080/ "Hello from SwiftNIO. " 1024
expect_body http://10.80.0.2:8080/any/path "Hello from SwiftNIO. " 1024
# Its telemetry socket (Docs/OPERATIONS.md): dp-stat reads the port, the core's counters and its listener.
"$bin/dp-stat" "$server" --json --show ports,cores,tcp >"$work/stat.json"
python3 - "$work/stat.json" <<'PY'
import json, sys
stat = json.load(open(sys.argv[1]))
assert stat["ports"][0]["device"] == "dpn0", stat["ports"]
assert stat["portStats"][0]["basic"]["receivedPackets"] > 0, stat["portStats"]
core = stat["cores"][0]
assert core["tcp"]["connectionsAccepted"] >= 2, core["tcp"]
assert any(l["local"].endswith(":8080") for l in stat["tcp"][0]["listeners"]), stat["tcp"]
PY
stop
grep -q "nio-http: stopped" "$work/dp-nio-http.log"

# Two cores on one tap (software RSS): every core listens, all answer.
serve dp-nio-http --tap dpn2 --ip 10.80.2.2/24 --port 8080 --size 300 --idle-sleep-us 50 --cores 2
ip netns exec "$ns" ip addr add 10.80.2.1/24 dev dpn2
ip netns exec "$ns" ip link set dpn2 up
for _ in 1 2 3 4 5 6 7 8; do expect_body http://10.80.2.2:8080/ "Hello from SwiftNIO. " 300; done
stop

# The Hummingbird router on the data plane (the tap is made anew).
serve dp-hb-http --tap dpn1 --ip 10.80.1.2/24 --port 8081 --size 1024 --idle-sleep-us 50
ip netns exec "$ns" ip addr add 10.80.1.1/24 dev dpn1
ip netns exec "$ns" ip link set dpn1 up
expect_body http://10.80.1.2:8081/ "Hello from Hummingbird. " 1024
[ "$(fetch http://10.80.1.2:8081/hello/tap)" = "Hello, tap!" ] || { echo "nio-http: /hello/tap answered wrong"; exit 1; }
stop
grep -q "hb-http: stopped" "$work/dp-hb-http.log"

# The same programs on the kernel's sockets (NIOPosix), the benchmark's peer.
serve dp-nio-http --kernel --ip 127.0.0.1 --port 8082 --size 512
expect_body http://127.0.0.1:8082/ "Hello from SwiftNIO. " 512
stop
serve dp-hb-http --kernel --ip 127.0.0.1 --port 8083 --size 512
expect_body http://127.0.0.1:8083/ "Hello from Hummingbird. " 512
stop
echo "nio-http: NIO's HTTP server and a Hummingbird router served curl over a tap, and over NIOPosix"
