#!/usr/bin/env bash
# The main job: set up the machine, build, show the drivers and the stack
# working in the lab guest against a Linux peer, then the side-by-side
# benchmarks and their report (results/report.md, results/summary.png).
# Usage: ./Tools/demo.sh [--quick]
#   --quick: the functional demo plus a short benchmark smoke (about 3 min).
#   DP_DEMO_RESULTS=DIR: where the JSON, PNG and report go (default results/;
#   the CI smoke uses a temporary one so it never mixes with a full run's).
#   DEMO_FUZZ_SECONDS (default 120 per whole-stack target) and
#   DEMO_SOAK_SECONDS (default 300; the issue's long soak is 3600) size the
#   robustness steps of the full run; DEMO_FUZZ_RUNS stops each fuzz target
#   sooner, after that many executions (the issue's long run:
#   DEMO_FUZZ_SECONDS=3600 DEMO_FUZZ_RUNS=10000000), DEMO_FUZZ_ASAN=1 fuzzes
#   under ASan (default 0: without, every kept input replayed under ASan).
# Exits non-zero when any step fails. Every run and loop is bounded in time;
# dp-lab tears its guest and namespace down also on Ctrl-C.
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: ./Tools/demo.sh [--quick]"; exit 2 ;;
esac
failed=()
last_log=""
results=${DP_DEMO_RESULTS:-results}
demo_start=$(date +%s)
log_dir=$(mktemp -d /tmp/dp-demo.XXXXXX)

# step NAME COMMAND...: runs it, prints pass/fail with seconds, keeps its log.
step() {
  local name=$1; shift
  local log="$log_dir/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-').log"
  last_log=$log
  local start=$(date +%s.%N)
  printf '\n=== %s\n' "$name"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local seconds=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }")
  if [ "$status" -eq 0 ]; then
    printf '[ pass ] %s (%s s)\n' "$name" "$seconds"
  else
    printf '[ FAIL ] %s (%s s, exit %s, log %s)\n' "$name" "$seconds" "$status" "$log"
    failed+=("$name")
  fi
  return "$status"
}

step "bootstrap (Debian packages)" ./Tools/bootstrap.sh || exit 1
step "build dp-lab (debug; the lab builds its guest products in release)" swift build --product dp-lab || exit 1

# C helpers: linux-echo (the kernel stack's echo server in the guest) and
# peer-load (the peer's load generator for the rates, faster than Python).
step "build linux-echo and peer-load (C)" bash -c "mkdir -p .build/demo && \
  cc -O2 -Wall -o .build/demo/linux-echo Tools/demo/linux-echo.c && \
  cc -O2 -Wall -o .build/demo/peer-load Tools/demo/peer-load.c" || exit 1
# The bulk one-way transfers (issue 17; tcp_oneway.py, 3 each way per NIC,
# sha256 checked) run in the same boots as the echo transfer.
oneway_bytes=$(( quick ? 10000000 : 100000000 ))
peer="/usr/bin/python3 -u $PWD/Tools/demo/demo-peer.py --load $PWD/.build/demo/peer-load --oneway $oneway_bytes"

# --- Functional demo: one e1000 and one virtio-net NIC under VFIO, dp-echo
# serving UDP and TCP echo on both, a Linux peer in the lab's namespace.
tcp_bytes=$(( quick ? 1000000 : 4000000 ))
functional() {
  .build/debug/dp-lab run --nic e1000 --nic virtio --access vfio --product dp-echo --timeout 660 \
    --peer-ip 10.0.0.1/24 --peer-ip 10.0.1.1/24 \
    --peer "$peer 9999 $tcp_bytes e1000=10.0.0.2 virtio=10.0.1.2" \
    -- "dp-echo --pci 0000:00:10.0 --ip 10.0.0.2/24 --pci 0000:00:11.0 --ip 10.0.1.2/24 --udp-echo 7 --tcp-echo 7 --tcp-sink 5009 --tcp-source 5019 --stop-port 9999 --seconds 600"
}
step "lab: e1000 + virtio-net (VFIO), dp-echo on both, Linux peer" functional
lab_log=$last_log
printf '\n=== functional checks (peer in the lab namespace -> guest NIC)\n'
for nic in e1000 virtio; do
  for check in ready ping ping-4000-fragmented udp-echo tcp-sha256 tcp-oneway-to-guest tcp-oneway-from-guest; do
    line=$(grep -E "DEMO $nic $check (pass|fail)" "$lab_log" | head -1 | sed 's/.*DEMO //')
    if [ -z "$line" ]; then
      printf '[ FAIL ] %-7s %-22s did not run\n' "$nic" "$check"; failed+=("$nic $check")
    else
      read -r _ _ verdict seconds detail <<<"$line"
      if [ "$verdict" = pass ]; then printf '[ pass ] %-7s %-22s %6s s  %s\n' "$nic" "$check" "$seconds" "$detail"
      else printf '[ FAIL ] %-7s %-22s %6s s  %s\n' "$nic" "$check" "$seconds" "$detail"; failed+=("$nic $check"); fi
    fi
  done
done
grep -E "DEMO-FIGURE" "$lab_log" | sed 's/.*DEMO-FIGURE /  figure (TCG guest, rough): /'

# --- The same peer against the Linux kernel stack: the NICs on their kernel
# drivers (e1000, virtio_net) in the same kind of guest, linux-echo (UDP and
# TCP echo, one epoll thread) serving. Boots alternate ours/Linux.
linux_side() {
  .build/debug/dp-lab run --nic e1000 --nic virtio --access none --module e1000 --module virtio_pci --module virtio_net \
    --timeout 660 --peer-ip 10.0.0.1/24 --peer-ip 10.0.1.1/24 \
    --include "$PWD/.build/demo/linux-echo:/usr/local/bin/linux-echo" \
    --include "$PWD/Tools/demo/linux-guest.sh:/lab/linux-guest.sh" --include "$PWD/Tools/demo/guest-addresses.sh:/lab/guest-addresses.sh" \
    --peer "$peer 9999 $tcp_bytes e1000=10.0.0.2 virtio=10.0.1.2" \
    -- "GUEST_SECONDS=600 sh /lab/linux-guest.sh"
}
# --- Dataplane on both vCPUs of the same guest: dp-echo --cores 2, the
# virtio NIC with 2 queue pairs and the device's RSS, the e1000 spread over
# the 2 cores in software (full run only).
two_cores() {
  .build/debug/dp-lab run --nic e1000 --nic virtio --queue-pairs 2 --rss --access vfio --product dp-echo --timeout 660 \
    --peer-ip 10.0.0.1/24 --peer-ip 10.0.1.1/24 \
    --peer "$peer 9999 $tcp_bytes e1000=10.0.0.2 virtio=10.0.1.2" \
    -- "dp-echo --pci 0000:00:10.0 --ip 10.0.0.2/24 --pci 0000:00:11.0 --ip 10.0.1.2/24 --udp-echo 7 --tcp-echo 7 --tcp-sink 5009 --tcp-source 5019 --cores 2 --stop-port 9999 --seconds 600"
}
ours_logs=("$lab_log")
linux_logs=()
two_core_logs=()
rounds=$(( quick ? 1 : 3 ))
for round in $(seq "$rounds"); do
  if [ "$round" -gt 1 ]; then
    step "guest round $round: Dataplane (dp-echo on the PCI ports)" functional && ours_logs+=("$last_log")
  fi
  step "guest round $round: Linux kernel stack (linux-echo on e1000/virtio_net)" linux_side && linux_logs+=("$last_log")
  if [ "$quick" -eq 0 ]; then
    step "guest round $round: Dataplane on 2 cores (dp-echo --cores 2)" two_cores && two_core_logs+=("$last_log")
  fi
done
mkdir -p "$results"
two_core_args=()
[ "${#two_core_logs[@]}" -gt 0 ] && two_core_args=(-- "${two_core_logs[@]}")
step "guest: UDP echo, TCP goodput, connections/s, ours (1 and 2 cores) vs Linux" \
  /usr/bin/python3 Tools/demo/guest-compare.py "$results" "${ours_logs[@]}" -- "${linux_logs[@]}" "${two_core_args[@]}"

# --- Both stacks in one guest at once (dp-echo on vCPU 0 with two NICs
# under VFIO, linux-echo on vCPU 1 with two more on their kernel drivers),
# the peer alternating its TCP transfers between them a fraction of a second
# apart: the comparison the host's phases of seconds cannot tilt.
paired_seconds=$(( quick ? 8 : 90 ))
paired() {
  .build/debug/dp-lab run --nic e1000 --nic virtio --nic e1000 --nic virtio --access vfio \
    --module e1000 --module virtio_pci --module virtio_net --product dp-echo --timeout 900 \
    --peer-ip 10.0.0.1/24 --peer-ip 10.0.1.1/24 --peer-ip 10.0.2.1/24 --peer-ip 10.0.3.1/24 \
    --include "$PWD/.build/demo/linux-echo:/usr/local/bin/linux-echo" \
    --include "$PWD/Tools/demo/paired-guest.sh:/lab/paired-guest.sh" \
    --peer "/usr/bin/python3 -u $PWD/Tools/demo/paired-peer.py $paired_seconds $tcp_bytes $oneway_bytes $(( quick ? 1 : 3 )) e1000=10.0.0.2,10.0.2.2 virtio=10.0.1.2,10.0.3.2" \
    -- "GUEST_SECONDS=840 sh /lab/paired-guest.sh"
}
step "guest: both stacks in one guest, TCP transfers alternating between them" paired
step "guest: TCP echo and one-way goodput from the one-guest run, ours vs Linux" \
  /usr/bin/python3 Tools/demo/paired-compare.py "$results" "$last_log"

# --- Unmodified programs: Debian's redis-server and nginx in the guest,
# through the LD_PRELOAD library (NICs under VFIO) and on the guest kernel's
# own stack (NICs on their drivers), the same binaries; redis-benchmark and
# wrk from the lab namespace. Boots alternate ours/Linux (full run only).
step "build (release) the LD_PRELOAD library" swift build -c release --product dataplane-preload || exit 1
apps_run() {  # dataplane | linux
  local access=vfio extra=()
  [ "$1" = linux ] && access=none && extra=(--module e1000 --module virtio_pci --module virtio_net)
  .build/debug/dp-lab run --nic e1000 --nic virtio --access "$access" "${extra[@]}" --timeout 600 \
    --peer-ip 10.0.0.1/24 --peer-ip 10.0.1.1/24 \
    --include /usr/bin/redis-server --include /usr/sbin/nginx --include /etc/passwd --include /etc/group \
    --include "$PWD/.build/release/libdataplane-preload.so:/lab/libdataplane-preload.so" \
    --include "$PWD/Tools/preload/guest-apps.sh:/lab/guest-apps.sh" --include "$PWD/Tools/demo/guest-addresses.sh:/lab/guest-addresses.sh" \
    --peer "/usr/bin/python3 -u $PWD/Tools/preload/apps-peer.py --bench --seconds 10 e1000=10.0.0.2 virtio=10.0.1.2" \
    -- "sh /lab/guest-apps.sh $1"
}
# --- SwiftNIO: dp-nio-http (NIO's HTTP/1.1 pipeline) and dp-hb-http (a
# Hummingbird 2 router) on DataplaneNIO (NICs under VFIO) and on NIOPosix
# over the guest kernel (NICs on their drivers): the same static binaries,
# wrk from the lab namespace. Each server runs 25 s; the peer tells them
# apart by their bodies.
nio_run() {  # dataplane | linux
  local access=vfio extra=()
  [ "$1" = linux ] && access=none && extra=(--module e1000 --module virtio_pci --module virtio_net)
  .build/debug/dp-lab run --nic e1000 --nic virtio --access "$access" "${extra[@]}" --timeout 900 \
    --peer-ip 10.0.0.1/24 --peer-ip 10.0.1.1/24 --product dp-nio-http --product dp-hb-http \
    --include "$PWD/Tools/nio-lab/guest-nio.sh:/lab/guest-nio.sh" --include "$PWD/Tools/demo/guest-addresses.sh:/lab/guest-addresses.sh" \
    --peer "/usr/bin/python3 -u $PWD/Tools/nio-lab/nio-peer.py --bench --seconds 8 e1000=10.0.0.2 virtio=10.0.1.2" \
    -- "sh /lab/guest-nio.sh $1 25"
}
apps_ours=()
apps_linux=()
if [ "$quick" -eq 1 ]; then
  printf '\n=== guest applications (redis, nginx, NIO, Hummingbird): full run only (suite 52 checks their answers in CI)\n'
else
  for round in $(seq "$rounds"); do
    step "guest round $round: redis and nginx through the LD_PRELOAD library" apps_run dataplane && apps_ours+=("$last_log")
    step "guest round $round: redis and nginx on the Linux kernel stack" apps_run linux && apps_linux+=("$last_log")
    step "guest round $round: dp-nio-http and dp-hb-http on DataplaneNIO" nio_run dataplane && apps_ours+=("$last_log")
    step "guest round $round: dp-nio-http and dp-hb-http on NIOPosix (Linux)" nio_run linux && apps_linux+=("$last_log")
  done
  step "guest: redis-benchmark and wrk against the same programs, ours vs Linux" \
    /usr/bin/python3 Tools/demo/apps-compare.py "$results" "${apps_ours[@]}" -- "${apps_linux[@]}"
fi

# --- Benchmarks, each ours beside its peer, alternating, medians.
if [ "$quick" -eq 1 ]; then
  step "build (release) dp-bench" swift build -c release --product dp-bench
  step "build (release) dp-testpmd" swift build -c release --product dp-testpmd
  step "bench smoke: ring vs DPDK ring_perf_autotest" .build/release/dp-bench ring --quick --repetitions 1 --results "$results"
  step "bench smoke: dp-testpmd io over 2 null ports vs dpdk-testpmd" /usr/bin/python3 Tools/demo/bench-null.py --rounds 1 --seconds 3 --results "$results"
else
  step "build (release) dp-bench" swift build -c release --product dp-bench
  step "build (release) dp-testpmd" swift build -c release --product dp-testpmd
  step "host: ring vs DPDK ring_perf_autotest" .build/release/dp-bench ring --results "$results"
  step "host: pool vs DPDK rte_mempool (get/put bulk, pktmbuf alloc/free bulk), case by case" .build/release/dp-bench pool --repetitions 5 --results "$results"
  step "host: dp-testpmd io over 2 null ports vs dpdk-testpmd" /usr/bin/python3 Tools/demo/bench-null.py --rounds 3 --seconds 5 --results "$results"
  step "build (release) dp-stack-bench" swift build -c release --product dp-stack-bench
  step "build (release) dp-tcp-bench" swift build -c release --product dp-tcp-bench
  step "mallocs per packet: UDP echo, TCP through sockets, TCP bulk" /usr/bin/python3 Tools/demo/mallocs.py --results "$results"
  step "host: share-nothing scaling, UDP echo, 2 cores vs 1" .build/release/dp-stack-bench --scaling-cores 2 --rounds 5 \
    --packets 400000 --warmup 40000 --json "$results/scaling-udp.json"
  step "host: share-nothing scaling, TCP request/response, 2 cores vs 1" .build/release/dp-stack-bench --scaling-cores 2 \
    --rounds 5 --tcp-write 64 --megabytes 8 --json "$results/scaling-tcp.json"
  step "guest: interrupt idle vs polling (e1000 and virtio-net, vfio and uio)" ./Tools/demo/idle.sh "$results" 10
  step "guest: interrupt idle vs polling, alternating turns in one boot (e1000 and virtio-net, vfio)" ./Tools/demo/idle-rates.sh "$results" 4 10 5
  step "host: 1,000,000 TCP connections held and echoed, ours vs a Linux epoll server" \
    env CONN_SCALE_JSON="$results/conn-scale.json" timeout 900 bash Tools/demo/conn-scale.sh 1000000 30
  step "host: TCP over IPv6 against Linux, 100 MiB each way, clean and impaired" bash Tools/demo/ipv6-tcp-transfer.sh
  step "robustness: whole-stack fuzzing, ${DEMO_FUZZ_SECONDS:-120} s per target" \
    env FUZZ_JSON="$results/fuzz-stack.json" FUZZ_ASAN="${DEMO_FUZZ_ASAN:-0}" FUZZ_RUNS="${DEMO_FUZZ_RUNS:--1}" \
    ./Tools/fuzz-stack.sh "${DEMO_FUZZ_SECONDS:-120}"
  step "robustness: soak, ${DEMO_SOAK_SECONDS:-300} s of mixed traffic through loss and reordering" \
    Tools/demo/soak.sh "${DEMO_SOAK_SECONDS:-300}" "$results"
  for nic in e1000 virtio; do
    for mode in txonly io; do
      step "guest: $nic $mode vs dpdk-testpmd" .build/debug/dp-lab bench --nic $nic --mode $mode --compare dpdk --rounds 3 --seconds 5 --results "$results"
    done
  done
fi
step "report: results/report.md, results/summary.png" /usr/bin/python3 Tools/demo/report.py "$results"

total=$(( $(date +%s) - demo_start ))
echo
if [ "${#failed[@]}" -eq 0 ]; then
  echo "demo: all steps passed in ${total} s (logs in $log_dir)"
  exit 0
fi
echo "demo: ${#failed[@]} step(s) failed in ${total} s: ${failed[*]} (logs in $log_dir)"
exit 1
