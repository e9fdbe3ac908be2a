#!/usr/bin/env python3
"""The Linux side of 72-ipv6-multicast-linux.sh: sends to ff12::f42:1
until the application has left the group (and 2.5 s more), receives the
application's datagrams to ff12::f42:2, watches the bridge's MDB, and
checks the MLDv2 reports the application sent (captured on the tap)."""
import socket, struct, subprocess, sys, time

tap, bridge, work = sys.argv[1], sys.argv[2], sys.argv[3]
GROUP, PORT, OUTGROUP, OUTPORT = "ff12::f42:1", 7420, "ff12::f42:2", 7421
bridge_index = socket.if_nametoindex(bridge)
bridge_mac = bytes.fromhex(open(f"/sys/class/net/{bridge}/address").read().strip().replace(":", ""))

capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
capture.bind((tap, 0))
capture.setblocking(False)
open(f"{work}/go", "w").close()  # the application may join now
sender = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
sender.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, bridge_index)
sender.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
receiver = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
receiver.bind(("::", OUTPORT))
receiver.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                    socket.inet_pton(socket.AF_INET6, OUTGROUP) + struct.pack("@I", bridge_index))
receiver.setblocking(False)

frames, received, mdb_seen = [], [], False
def log():
    try:
        return open(f"{work}/app.log").read()
    except OSError:
        return ""
def drain():
    while True:
        try:
            frames.append(capture.recv(65536))
        except OSError:  # none waiting, or the tap is gone (the application exited)
            break
    while True:
        try:
            received.append(receiver.recvfrom(2048))
        except BlockingIOError:
            break

start, left_at, sent = time.time(), None, 0
while time.time() - start < 40:
    drain()
    text = log()
    if left_at is None and "left " in text:
        left_at = time.time()
    if left_at is not None and time.time() - left_at > 2.5 and ("sent 20" in text or "FAIL" in text):
        break
    if left_at is None or time.time() - left_at < 2.5:
        sender.sendto(b"data %d" % sent, (GROUP, PORT))
        sent += 1
    if not mdb_seen and left_at is None:
        mdb = subprocess.run(["bridge", "mdb", "show", "dev", bridge], capture_output=True, text=True).stdout
        mdb_seen = any(tap in line and GROUP in line for line in mdb.splitlines())
    time.sleep(0.1)
time.sleep(0.3)
drain()

failures = []
if left_at is None:
    failures.append("the application never left the group (did both sockets receive?)")
if not mdb_seen:
    failures.append(f"the bridge's MDB never listed {GROUP} on {tap} (snooping did not learn our report)")
ours = [data for data, _ in received if data.startswith(b"from the data plane")]
if not ours:
    failures.append(f"no datagram of ours reached the Linux socket joined to {OUTGROUP}")

# MLDv2 reports of ours: Ethernet to 33:33:00:00:00:16 not from the bridge.
records, bad = [], []
for frame in frames:
    if len(frame) < 14 + 40 + 8 + 8 or frame[0:6] != bytes.fromhex("333300000016") or frame[6:12] == bridge_mac:
        continue
    if frame[12:14] != b"\x86\xdd":
        continue
    ip = frame[14:]
    next_header, hop_limit = ip[6], ip[7]
    source, destination = ip[8:24], ip[24:40]
    if next_header != 0 or ip[40] != 58:
        bad.append("no hop-by-hop header before ICMPv6")
        continue
    hbh_length = (ip[41] + 1) * 8
    if b"\x05\x02\x00\x00" not in ip[42:40 + hbh_length]:
        bad.append("no Router Alert (MLD) option")
    icmp = ip[40 + hbh_length:40 + struct.unpack("!H", ip[4:6])[0]]
    if icmp[0] != 143:
        continue
    if hop_limit != 1 or destination != socket.inet_pton(socket.AF_INET6, "ff02::16"):
        bad.append(f"hop limit {hop_limit}, destination {socket.inet_ntop(socket.AF_INET6, destination)}")
    pseudo = source + destination + struct.pack("!I3xB", len(icmp), 58)
    data = pseudo + icmp + (b"\0" if len(icmp) % 2 else b"")
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    if total != 0xFFFF:
        bad.append("bad ICMPv6 checksum")
    count = struct.unpack("!H", icmp[6:8])[0]
    for i in range(count):
        record = icmp[8 + 20 * i:28 + 20 * i]
        records.append((record[0], socket.inet_ntop(socket.AF_INET6, record[4:20])))
if bad:
    failures.append("malformed reports: " + ", ".join(sorted(set(bad))))
for kind, name in [(4, "CHANGE_TO_EXCLUDE (join)"), (3, "CHANGE_TO_INCLUDE (leave)"), (2, "MODE_IS_EXCLUDE (query answer)")]:
    if (kind, GROUP) not in records:
        failures.append(f"no {name} record for {GROUP} among {len(records)} records")
print(f"ipv6-multicast peer: sent {sent} datagrams to [{GROUP}]:{PORT}; the MDB listed it on {tap}: {mdb_seen}; "
      f"received {len(ours)} of ours on [{OUTGROUP}]:{OUTPORT}; MLDv2 records of ours: "
      f"{sorted(set(records))}")
if failures:
    print("ipv6-multicast peer: FAIL: " + "; ".join(failures))
    sys.exit(1)
