"""The peer of the lab device-fault run (Tools/test.d/71-faults-lab.sh), in
the lab's namespace: TCP echo transfers and a UDP echo stream against
dp-echo in the guest while it drives faults through QEMU's QMP socket
(DP_LAB_QMP, Tools/lab/qmp.py):

  1. link flap: `set_link netN off` for HOLD s, then on, under traffic;
     UDP echoes must stop while down and resume after, the TCP transfers
     (paced to straddle the flap and, for virtio, the guest's device reset)
     must end sha256-equal;
  2. unplug: `device_del nicN` under traffic; DEVICE_DELETED must come
     (the guest's driver released the device), the peer's connections stall.

Prints "PEER <fault> PASS|FAIL <what it saw>" lines; every wait is bounded.
Usage: faults_peer.py GUEST_IP NIC_INDEX [--hold S] [--bytes N] [--no-unplug]"""
import argparse, hashlib, json, os, socket, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from qmp import qmp  # noqa: E402

args = argparse.ArgumentParser()
args.add_argument("guest")
args.add_argument("nic", type=int)
args.add_argument("--hold", type=float, default=3.0)
args.add_argument("--bytes", type=int, default=3 << 20)
args.add_argument("--streams", type=int, default=2)
args.add_argument("--no-unplug", action="store_true")
args = args.parse_args()
QMP = os.environ["DP_LAB_QMP"]
START = time.time()


def say(line):
    print("PEER %s" % line, flush=True)


def stamp():
    return "%.1f" % (time.time() - START)


class UDPStream(threading.Thread):
    """Numbered datagrams every 20 ms; the times echoes came back."""
    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.05)
        self.echoes, self.sent, self.bad, self.stop = [], 0, 0, False

    def run(self):
        while not self.stop:
            payload = b"%08d" % self.sent + b"u" * 56
            self.sock.sendto(payload, (args.guest, 7))
            self.sent += 1
            end = time.time() + 0.02
            while time.time() < end:
                try:
                    data, _ = self.sock.recvfrom(256)
                    if data[8:] != b"u" * 56:
                        self.bad += 1
                    self.echoes.append(time.time())
                except (socket.timeout, BlockingIOError):
                    pass

    def between(self, start, end):
        return sum(1 for t in self.echoes if start <= t < end)


class Transfer(threading.Thread):
    """BYTES through TCP echo, paced (64 KiB per 100 ms), read back and hashed."""
    def __init__(self, index, size, pace=True):
        super().__init__(daemon=True)
        self.index, self.size, self.pace = index, size, pace
        self.data = hashlib.sha256(b"seed%d" % index).digest() * (size // 32 + 1)
        self.data = self.data[:size]
        self.received = bytearray()
        self.error = None

    def run(self):
        try:
            s = socket.create_connection((args.guest, 7), timeout=10)
            s.settimeout(90)
            self.sock = s
            reader = threading.Thread(target=self.read, daemon=True)
            reader.start()
            for offset in range(0, self.size, 65536):
                s.sendall(self.data[offset:offset + 65536])
                if self.pace:
                    time.sleep(0.1)
            reader.join(120)
            s.close()
        except OSError as error:
            self.error = error

    def read(self):
        try:
            while len(self.received) < self.size:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.received += chunk
        except OSError as error:
            self.error = error

    @property
    def exact(self):
        return hashlib.sha256(self.received).digest() == hashlib.sha256(self.data).digest()


class Stream(threading.Thread):
    """An unbounded TCP echo stream (a 64 KiB block over and over, its echo
    checked) until `stop` or an error: traffic that is surely running at
    the moment of an unplug."""
    def __init__(self, index):
        super().__init__(daemon=True)
        self.block = hashlib.sha256(b"stream%d" % index).digest() * 2048
        self.received, self.error, self.stop, self.mismatch = 0, None, False, False

    def run(self):
        try:
            s = socket.create_connection((args.guest, 7), timeout=10)
            s.settimeout(1.0)
            sent = 0
            while not self.stop:
                try:
                    if sent - self.received < 4 * len(self.block):
                        s.sendall(self.block)
                        sent += len(self.block)
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                offset = self.received % len(self.block)
                expected = (self.block * 2)[offset:offset + len(chunk)]
                self.mismatch |= chunk != expected
                self.received += len(chunk)
            s.close()
        except OSError as error:
            self.error = error


def wait_for_echo(deadline):
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.settimeout(0.5)
    while time.time() < deadline:
        probe.sendto(b"hello", (args.guest, 7))
        try:
            if probe.recvfrom(64)[0] == b"hello":
                return True
        except socket.timeout:
            pass
    return False


if not wait_for_echo(time.time() + 90):
    say("start FAIL dp-echo never answered UDP echo")
    sys.exit(1)
say("start dp-echo answers at %s s" % stamp())

udp = UDPStream()
udp.start()
transfers = [Transfer(i, args.bytes) for i in range(args.streams)]
for t in transfers:
    t.start()
time.sleep(1.5)
netdev = "net%d" % args.nic
reply = qmp(QMP, "set_link", {"name": netdev, "up": False})
down_at = time.time()
say("set_link %s off at %s s: %s" % (netdev, stamp(), json.dumps(reply)))
time.sleep(args.hold)
reply = qmp(QMP, "set_link", {"name": netdev, "up": True})
up_at = time.time()
say("set_link %s on at %s s: %s" % (netdev, stamp(), json.dumps(reply)))
for t in transfers:
    t.join(150)
done_at = time.time()
time.sleep(1.0)
before = udp.between(down_at - 1.0, down_at)
during = udp.between(down_at + 0.3, up_at)
after = udp.between(done_at, done_at + 1.0)
exact = sum(1 for t in transfers if t.exact and t.error is None)
ok = exact == len(transfers) and before > 0 and during == 0 and after > 0 and udp.bad == 0
say("link-flap %s tcp %d/%d sha256-equal (%s), transfers done %.1f s after link-up; "
    "udp echoes 1 s before down %d, while down %d, 1 s after the transfers %d, corrupted %d"
    % ("PASS" if ok else "FAIL", exact, len(transfers),
       ", ".join("%d of %d bytes%s" % (len(t.received), t.size, " error %s" % t.error if t.error else "") for t in transfers),
       done_at - up_at, before, during, after, udp.bad))

if args.no_unplug:
    udp.stop = True
    stop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stop.sendto(b"stop", (args.guest, 9))
    sys.exit(0)

# Unplug under traffic: unbounded streams, surely running at the unplug.
transfers = [Stream(10 + i) for i in range(args.streams)]
for t in transfers:
    t.start()
time.sleep(1.5)
nic = "nic%d" % args.nic
reply = qmp(QMP, "device_del", {"id": nic})
del_at = time.time()
say("device_del %s at %s s: %s" % (nic, stamp(), json.dumps(reply)))
# DEVICE_DELETED comes once the guest released the device (its driver let go).
deleted = None
while time.time() < del_at + 30 and deleted is None:
    present = qmp(QMP, "qom-list", {"path": "/machine/peripheral"})
    names = [p["name"] for p in present.get("return", [])]
    if nic not in names:
        deleted = time.time() - del_at
    else:
        time.sleep(0.5)
received = sum(t.received for t in transfers)
time.sleep(1.0)
stalled = sum(t.received for t in transfers) == received
udp.stop = True
for t in transfers:
    t.stop = True
ok = deleted is not None and "error" not in reply and not any(t.mismatch for t in transfers)
say("unplug %s device gone from QEMU %s, peer transfers %s (%d bytes echoed before), udp echoes after removal %d"
    % ("PASS" if ok else "FAIL", "after %.1f s" % deleted if deleted is not None else "NOT within 30 s",
       "stalled" if stalled else "still moving", received, udp.between(del_at + (deleted or 0) + 0.5, time.time())))
