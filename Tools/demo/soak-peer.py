#!/usr/bin/env python3
"""The Linux side of the soak (Tools/demo/soak.sh): for SECONDS, against
dp-echo at HOST, three kinds of traffic at once:
  bulk   TCP echo transfers of 4 MiB (both directions at once: sent and
         echoed), pseudo-random bytes, sha256 of what came back compared;
  short  short TCP connections (connect, 1 KiB echoed, close);
  udp    UDP echo datagrams (loss through the impairment is allowed; what
         comes back must equal what was sent).
Writes a JSON summary to OUT and exits 1 when any transfer differed or failed."""
import hashlib, json, random, socket, subprocess, sys, threading, time

host, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + seconds
lock = threading.Lock()
summary = {"bulk": 0, "bulkBytes": 0, "bulkMismatches": 0, "short": 0, "shortFailures": 0,
           "udpSent": 0, "udpEchoed": 0, "udpMismatches": 0, "failures": []}

def note_failure(text):
    with lock:
        if len(summary["failures"]) < 20:
            summary["failures"].append(text)

def linux_view(s):
    """What Linux says of a stalled connection (ss -tin: window, RTO, backoff,
    probes, unacknowledged bytes), so a stall says which side waits."""
    try:
        port = s.getsockname()[1]
        return subprocess.run(["ss", "-tinH", "sport", "=", f":{port}"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return repr(error)

def bulk(worker):
    rng = random.Random(worker)
    size = 4 << 20
    while time.monotonic() < deadline:
        data = rng.randbytes(size)
        s, started, received, sent_all = None, time.monotonic(), 0, []
        try:
            s = socket.create_connection((host, 7), timeout=10)
            s.settimeout(60)
            errors = []
            def send():
                try:
                    s.sendall(data)
                    sent_all.append(time.monotonic() - started)
                    s.shutdown(socket.SHUT_WR)
                except OSError as error:
                    errors.append(repr(error))
            sender = threading.Thread(target=send)
            sender.start()
            digest, received = hashlib.sha256(), 0
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
                received += len(chunk)
            sender.join()
            s.close()
            same = received == size and digest.digest() == hashlib.sha256(data).digest() and not errors
            with lock:
                summary["bulk"] += 1
                summary["bulkBytes"] += received
                if not same:
                    summary["bulkMismatches"] += 1
            if not same:
                note_failure(f"bulk {worker}: {received} of {size} bytes back, errors {errors}")
        except OSError as error:
            with lock:
                summary["bulkMismatches"] += 1
            # Where it stopped: bytes echoed so far, whether all was sent, when, and Linux's view.
            note_failure(f"bulk {worker}: {error!r} after {time.monotonic() - started:.1f} s, {received} of {size}"
                         f" bytes back, all sent after {sent_all[0] if sent_all else 'never'} s,"
                         f" at {time.strftime('%H:%M:%S')}; ss: {linux_view(s) if s else '-'}")
            if s:
                s.close()
            time.sleep(0.5)

def short():
    n = 0
    while time.monotonic() < deadline:
        n += 1
        payload = (b"%08d" % n) * 128
        try:
            with socket.create_connection((host, 7), timeout=10) as s:
                s.settimeout(10)
                s.sendall(payload)
                back = b""
                while len(back) < len(payload):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    back += chunk
            ok = back == payload
        except OSError as error:
            ok = False
            note_failure(f"short {n}: {error!r}")
        with lock:
            summary["short"] += 1
            if not ok:
                summary["shortFailures"] += 1
        time.sleep(0.02)

def datagram(n):
    # Numbered, so a late echo of an earlier datagram is checked against its own bytes.
    return b"%010d" % n + hashlib.sha256(b"%d" % n).digest() * 16

def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.2)
    n = 0
    while time.monotonic() < deadline:
        n += 1
        u.sendto(datagram(n), (host, 7))
        with lock:
            summary["udpSent"] += 1
        try:
            back, _ = u.recvfrom(2048)
            number = int(back[:10]) if back[:10].isdigit() else -1
            with lock:
                summary["udpEchoed"] += 1
                if number < 1 or back != datagram(number):
                    summary["udpMismatches"] += 1
        except socket.timeout:
            pass
        time.sleep(0.005)

threads = [threading.Thread(target=bulk, args=(w,)) for w in range(2)]
threads += [threading.Thread(target=short), threading.Thread(target=udp)]
for t in threads:
    t.start()
for t in threads:
    t.join()
json.dump(summary, open(out, "w"), indent=1)
print("soak-peer:", json.dumps({k: v for k, v in summary.items() if k != "failures"}), flush=True)
bad = summary["bulkMismatches"] or summary["shortFailures"] or summary["udpMismatches"]
if bad or summary["bulk"] == 0 or summary["short"] == 0 or summary["udpEchoed"] == 0:
    print("soak-peer: FAILED", summary["failures"], flush=True)
    sys.exit(1)
