#!/usr/bin/env bash
# Our TCP against the Linux kernel's, connection handling (not bulk transfer):
# 1,000 concurrent connections each way, 10,000+ sequential cycles each way, half-close
# both ways, a Linux RST mid-transfer seen as ECONNRESET, a port with no
# listener refused, and a bounded SYN flood during a transfer and new
# connections (SYN cookies). All in a network namespace this script makes:
#   dpe0  tap of dp-echo (our stack as the server)   10.79.0.2 | kernel 10.79.0.1
#   dpc0  tap of dp-tcp-check (our stack as client)  10.79.1.2 | kernel 10.79.1.1
# The Linux side is Tools/test.d/tcp_linux_peer.py. Every check prints one
# line; the script exits non-zero when any failed.
set -euo pipefail
source "$(dirname "$0")/lib/suite.sh"
suite_begin tcp-linux-connections dp-echo dp-tcp-check
peer=(/usr/bin/python3 "$PWD/Tools/test.d/tcp_linux_peer.py")
echo_mac=02:00:00:79:00:02
pids=()
echo_pid=""
suite_processes="echo_pid pids[@]"
in_ns() { ip netns exec "$ns" "$@"; }
failed=0
# Runs one check with a time bound; its 'ok:'/'FAIL:' lines are the result.
check() {
  local seconds=$1 status=0; shift
  in_ns timeout "$seconds" "$@" >"$work/out" 2>&1 || status=$?
  if [ "$status" != 0 ]; then
    cat "$work/out"
    local why="exit status $status"
    [ "$status" = 124 ] && why="timed out after $seconds s"
    grep -q '^FAIL' "$work/out" || echo "FAIL: $(basename "$1") ${*:2} ($why, output above)"
    failed=1
    return 0
  fi
  grep -E '^(ok|flood):' "$work/out" || cat "$work/out"
}

suite_namespace dptc
# dp-tcp-check's tap: persistent, so each run of the tool attaches to the same one.
in_ns ip tuntap add dev dpc0 mode tap
in_ns ip addr add 10.79.1.1/24 dev dpc0
in_ns ip link set dpc0 up

# dp-echo on dpe0 for SECONDS, its stats in FILE.
start_echo() {
  local seconds=$1 stats=$2
  # Not through in_ns: $! must be dp-echo itself (ip netns exec execs it), so SIGINT reaches it.
  ip netns exec "$ns" "$bin/dp-echo" --tap dpe0 --ip 10.79.0.2/24 --gateway 10.79.0.1 --mac $echo_mac --tcp-echo 7 --tcp-discard 9 \
    --seconds "$seconds" --stats-json "$stats" >"$work/echo.log" 2>&1 &
  echo_pid=$!
  for _ in $(seq 100); do
    in_ns ip link show dpe0 >/dev/null 2>&1 && grep -q "tcp echo" "$work/echo.log" && break
    sleep 0.1
  done
  in_ns ip addr add 10.79.0.1/24 dev dpe0
  in_ns ip link set dpe0 up
}
stop_echo() {
  kill -INT "$echo_pid" 2>/dev/null || true
  wait "$echo_pid" || { echo "FAIL: dp-echo exited with status $?"; cat "$work/echo.log"; failed=1; }
  echo_pid=""
}

# MARK: dp-echo serving Linux clients
start_echo 200 "$work/stats-a.json"
check 90 "${peer[@]}" concurrent --to 10.79.0.2:7 --count 1000 --size 4096 --seconds 80
check 100 "${peer[@]}" cycles --to 10.79.0.2:7 --count 10000 --seconds 90
check 40 "${peer[@]}" half-close --to 10.79.0.2:7 --bytes 1000000 --seconds 30
# Zero windows both ways: the client stops reading with megabytes in flight, then resumes.
check 40 "${peer[@]}" stall --to 10.79.0.2:7 --bytes $((4 << 20)) --pause 2
# Linux resets 50 connections mid-echo: dp-echo must free them all (live 0 at exit).
check 30 "${peer[@]}" reset-clients --to 10.79.0.2:7 --count 50
check 10 "${peer[@]}" refused --to 10.79.0.2:5555
sleep 0.5
stop_echo
/usr/bin/python3 - "$work/stats-a.json" <<'PY' || failed=1
import json, sys
s = json.load(open(sys.argv[1]))
tcp, pool = s["tcp"], s["pool"]
cycles_bytes = sum(len(b"cycle %d\n" % i) for i in range(10000))
expect_connections = 1000 + 10000 + 1 + 1 + 50
# The reset clients' connections echo part of what they sent: at least this much.
expect_bytes = 1000 * 4096 + cycles_bytes + 1000000 + (4 << 20)
problems = []
if s["tcpConnections"] != expect_connections: problems.append(f"tcpConnections {s['tcpConnections']} != {expect_connections}")
if tcp["liveConnections"] != 0: problems.append(f"{tcp['liveConnections']} connections still live at exit (leak)")
if s["tcpBytesEchoed"] < expect_bytes: problems.append(f"tcpBytesEchoed {s['tcpBytesEchoed']} < {expect_bytes}")
if tcp["resetsForClosedPorts"] < 1: problems.append("no RST for the port without a listener")
if pool["available"] < pool["capacity"] * 0.9: problems.append(f"pool {pool['available']}/{pool['capacity']} available at exit")
line = (f"dp-echo stats: {s['tcpConnections']} connections accepted, {s['tcpBytesEchoed']} bytes echoed, "
        f"{tcp['resetsForClosedPorts']} RSTs for closed ports, {tcp['liveConnections']} live at exit, "
        f"pool {pool['available']}/{pool['capacity']}")
print(("FAIL: " + line + ": " + "; ".join(problems)) if problems else "ok: " + line)
sys.exit(1 if problems else 0)
PY

# MARK: our stack as the client of Linux servers
tcp_check=("$bin/dp-tcp-check")
our=(--tap dpc0 --ip 10.79.1.2/24)
ip netns exec "$ns" "${peer[@]}" echo-server --listen 10.79.1.1:7007 --seconds 200 >"$work/echo-server.log" 2>&1 &
pids+=($!)
sleep 0.3
# Our side opens 1,000 at once (non-blocking connects, an interest set).
check 60 "${tcp_check[@]}" concurrent "${our[@]}" --to 10.79.1.1:7007 --count 1000 --size 4096 --seconds 50
# 20,000 > the 16,384 ephemeral ports: past 16,384 every connect reuses our oldest TIME-WAIT entry.
check 130 "${tcp_check[@]}" cycles "${our[@]}" --to 10.79.1.1:7007 --count 20000 --seconds 120
# The Linux server closes right after its echo: its FIN comes first or crosses ours (simultaneous close).
ip netns exec "$ns" "${peer[@]}" echo-server --listen 10.79.1.1:7017 --seconds 60 --close-after-echo >"$work/echo-server2.log" 2>&1 &
pids+=($!)
sleep 0.3
check 60 "${tcp_check[@]}" cycles "${our[@]}" --to 10.79.1.1:7017 --count 10000 --seconds 50
kill "${pids[-1]}" 2>/dev/null || true
wait "${pids[-1]}" 2>/dev/null || true
# Only 500 local ports for 2,000 connections: every port is in TIME-WAIT after
# the first 500, so connects must reuse TIME-WAIT entries (older than 1 s, with timestamps).
check 60 "${tcp_check[@]}" cycles "${our[@]}" --to 10.79.1.1:7007 --count 2000 --ephemeral-ports 61000-61499 --seconds 50
kill "${pids[-1]}" 2>/dev/null || true
wait "${pids[-1]}" 2>/dev/null || true
grep -v '^ok' "$work/echo-server.log" || true

# The server does not read for 2 s: our sender meets a zero window and must probe it.
ip netns exec "$ns" timeout 40 "${peer[@]}" eof-echo-server --listen 10.79.1.1:7008 --expect 4000000 --delay 2 >"$work/eof-server.log" 2>&1 &
eof_server=$!
sleep 0.3
check 40 "${tcp_check[@]}" half-close "${our[@]}" --to 10.79.1.1:7008 --bytes 4000000
wait $eof_server || { echo "FAIL: the Linux half-close server:"; failed=1; }
cat "$work/eof-server.log"

ip netns exec "$ns" timeout 40 "${peer[@]}" reset-server --listen 10.79.1.1:7009 >"$work/reset-server.log" 2>&1 &
reset_server=$!
sleep 0.3
check 40 "${tcp_check[@]}" expect-reset "${our[@]}" --to 10.79.1.1:7009
wait $reset_server || { echo "FAIL: the Linux reset server:"; failed=1; }
cat "$work/reset-server.log"
# The same with our side only receiving: the reset must surface through recv.
ip netns exec "$ns" timeout 40 "${peer[@]}" reset-server --listen 10.79.1.1:7010 --after-sent 2000000 >"$work/reset-server.log" 2>&1 &
reset_server=$!
sleep 0.3
check 40 "${tcp_check[@]}" expect-reset "${our[@]}" --to 10.79.1.1:7010 --receive-only
wait $reset_server || { echo "FAIL: the Linux reset server:"; failed=1; }
cat "$work/reset-server.log"

# Our side resets: close with unread data (RFC 2525), and close with SO_LINGER {1, 0};
# the Linux server's recv must fail with ECONNRESET.
port=7012
for how in unread linger; do
  ip netns exec "$ns" timeout 20 "${peer[@]}" expect-peer-reset --listen 10.79.1.1:$port >"$work/abort-server.log" 2>&1 &
  abort_server=$!
  sleep 0.3
  check 20 "${tcp_check[@]}" abort "${our[@]}" --to 10.79.1.1:$port --how $how
  wait $abort_server || { echo "FAIL: the Linux server saw no reset from our close ($how):"; failed=1; }
  cat "$work/abort-server.log"
  port=$((port + 1))
done

# Our side as a server closing first (TIME-WAIT ours); Linux reconnects from one
# port, so every SYN meets our TIME-WAIT entry and must reopen it (RFC 6191).
ip netns exec "$ns" timeout 40 "$bin/dp-tcp-check" serve-close-first "${our[@]}" --port 8000 --count 200 --seconds 35 \
  >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 50); do grep -q "serving on" "$work/serve.log" && break; sleep 0.1; done
check 40 "${peer[@]}" same-port-cycles --to 10.79.1.2:8000 --source 10.79.1.1 --source-port 40000 --count 200 --gap 0.002
wait $serve_pid || { echo "FAIL: serve-close-first:"; failed=1; }
grep -v "^serving" "$work/serve.log"

# Keepalive (idle 1 s, 3 probes 1 s apart): Linux answers the probes and the idle
# connection stays up; then, with Linux silenced (iptables DROP in this namespace
# only), recv must fail with ETIMEDOUT.
ip netns exec "$ns" "${peer[@]}" echo-server --listen 10.79.1.1:7040 --seconds 60 >"$work/echo-server3.log" 2>&1 &
pids+=($!)
sleep 0.3
check 20 "${tcp_check[@]}" keepalive "${our[@]}" --to 10.79.1.1:7040 --expect alive
ip netns exec "$ns" timeout 30 "$bin/dp-tcp-check" keepalive "${our[@]}" --to 10.79.1.1:7040 --expect timeout >"$work/keepalive.log" 2>&1 &
keepalive_pid=$!
for _ in $(seq 100); do grep -q "^connected" "$work/keepalive.log" && break; sleep 0.1; done
in_ns iptables -I INPUT -i dpc0 -s 10.79.1.2 -j DROP
wait $keepalive_pid || failed=1
grep -v "^connected" "$work/keepalive.log"
in_ns iptables -D INPUT -i dpc0 -s 10.79.1.2 -j DROP
kill "${pids[-1]}" 2>/dev/null || true
wait "${pids[-1]}" 2>/dev/null || true

# A Linux port with no listener: the kernel's RST must fail our connect with ECONNREFUSED.
check 20 "${tcp_check[@]}" expect-refused "${our[@]}" --to 10.79.1.1:7020

# MARK: SYN flood against dp-echo's echo port
# Twice: spoofed sources off-link (SYN-ACKs go to the gateway, the kernel drops
# them) and on dp-echo's own subnet (it must ARP for each: the ARP queue's bound
# keeps memory in check, 256 packets at most).
for sources in 198.18.0.0/15 10.79.0.0/24; do
  start_echo 120 "$work/stats-b.json"
  check 100 "${peer[@]}" syn-flood --to 10.79.0.2:7 --interface dpe0 --dst-mac $echo_mac --count 100000 --rate 30000 \
    --seconds 60 --transfer-bytes $((8 << 20)) --new-connections 20 --source-network $sources
  flood_line=$(grep '^flood:' "$work/out" || true)
  stop_echo
  /usr/bin/python3 - "$work/stats-b.json" "$flood_line" "$sources" <<'PY' || failed=1
import json, sys
s = json.load(open(sys.argv[1]))
tcp, pool, counters = s["tcp"], s["pool"], s["counters"]
on_link = sys.argv[3].startswith("10.79.0.")
problems = []
if not sys.argv[2]: problems.append("the flood run failed")
if tcp["synCookiesSent"] < 1000: problems.append(f"only {tcp['synCookiesSent']} SYN cookies sent")
if tcp["synCookiesAccepted"] < 20: problems.append(f"only {tcp['synCookiesAccepted']} cookies validated (20 new connections)")
if s["tcpConnections"] != 21: problems.append(f"tcpConnections {s['tcpConnections']} != 21 (transfer + 20 new)")
# Buffers still held at exit: SYN-ACK retransmissions of the spoofed half-open
# connections waiting for ARP (on-link: at most the ARP queue's 256).
held = pool["capacity"] - pool["available"]
if held > (256 + 16 if on_link else 16): problems.append(f"{held} packet buffers held at exit (pool {pool['available']}/{pool['capacity']})")
arp = (f", ARP: {counters.get('arp.requestsSent', 0)} requests, {counters.get('drop.arp.queueFull', 0)} "
       f"packets dropped at the full ARP queue") if on_link else ""
line = (f"sources {sys.argv[3]}: " + sys.argv[2].removeprefix("flood: ") + f"; dp-echo: {tcp['segmentsReceived']} segments in, "
        f"{tcp['synCookiesSent']} cookies sent, {tcp['synCookiesAccepted']} validated, "
        f"{tcp['synCookiesRejected']} rejected, {tcp['synsDropped']} SYNs dropped, "
        f"{tcp['controlQueueDrops']} control-queue drops, {tcp['liveConnections']} live at exit, "
        f"pool {pool['available']}/{pool['capacity']}{arp}")
print(("FAIL: " + line + ": " + "; ".join(problems)) if problems else "ok: " + line)
sys.exit(1 if problems else 0)
PY
done

if [ "$failed" != 0 ]; then echo "tcp-linux-connections: FAILED"; exit 1; fi
echo "tcp-linux-connections: all checks passed"
