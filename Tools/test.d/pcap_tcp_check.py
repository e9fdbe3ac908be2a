#!/usr/bin/env python3
"""Checks a TCP echo transfer in a capture with tshark: both directions of
the connection from the peer's port PORT to SERVER_PORT carry exactly the
bytes the peer sent (pattern (i * 13 + 5) & 0xFF for i < BYTES), rebuilt
from tshark's relative sequence numbers with no gap, and tshark reports no
lost segment. Usage: pcap_tcp_check.py FILE PEER_PORT SERVER_PORT BYTES"""
import subprocess
import sys

path, port, server_port, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
expected = bytes((i * 13 + 5) & 0xFF for i in range(count))
fields = subprocess.run(
    ["tshark", "-r", path, "-o", "tcp.relative_sequence_numbers:TRUE", "-T", "fields",
     "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.payload", "-Y", "tcp"],
    check=True, capture_output=True, text=True).stdout


def stream(src, dst):
    data = {}
    for line in fields.splitlines():
        f = line.split("\t")
        if f[0] != src or f[1] != dst or not f[3] or int(f[3]) == 0:
            continue
        data[int(f[2])] = bytes.fromhex(f[4])
    out = b""
    for seq in sorted(data):  # relative: the first data byte is 1
        if seq > len(out) + 1:
            sys.exit("gap before relative sequence number %d (have %d bytes)" % (seq, len(out)))
        out += data[seq][len(out) + 1 - seq:]
    return out


up, down = stream(port, server_port), stream(server_port, port)
if up != expected:
    sys.exit("peer -> server: %d bytes captured, differ from the %d sent" % (len(up), count))
if down != expected:
    sys.exit("server -> peer: %d bytes captured, differ from the %d echoed" % (len(down), count))
lost = subprocess.run(["tshark", "-r", path, "-Y", "tcp.analysis.lost_segment or tcp.analysis.ack_lost_segment"],
                      check=True, capture_output=True, text=True).stdout.strip()
if lost:
    sys.exit("tshark sees lost segments:\n" + lost[:500])
print("tcp ok: %d bytes each way, sequence numbers contiguous from the SYN, payloads equal" % count)
