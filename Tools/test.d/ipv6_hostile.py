#!/usr/bin/env python3
"""IPv6 frames written straight onto the tap (AF_PACKET) toward dp-echo at
fd20::2 (suite 68): first an echo request from fd20::4, which dp-echo must
resolve with its own neighbour solicitation before it can answer; then a
hostile set (truncated headers, an extension header chain of 170 headers,
RH0, an option that demands discard, hop-by-hop not first, overlapping and
badly sized fragments, bad checksums, NDP with hop limits below 255); then
tiny 8-byte fragments and an atomic fragment that must still be answered.
Usage: ipv6_hostile.py TAP DP_MAC"""
import socket
import struct
import sys
import time

tap, dp_mac_text = sys.argv[1], sys.argv[2]
DP_MAC = bytes.fromhex(dp_mac_text.replace(":", ""))
OUR_MAC = bytes.fromhex(open(f"/sys/class/net/{tap}/address").read().strip().replace(":", ""))
DP = socket.inet_pton(socket.AF_INET6, "fd20::2")
ME = socket.inet_pton(socket.AF_INET6, "fd20::4")
LL_ROUTER = socket.inet_pton(socket.AF_INET6, "fe80::1")
ALL_NODES = socket.inet_pton(socket.AF_INET6, "ff02::1")

sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.bind((tap, 0))
sock.settimeout(0.2)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmp6(kind, code, rest, body, src=ME, dst=DP, corrupt=False):
    message = struct.pack("!BBH", kind, code, 0) + rest + body
    value = checksum(src + dst + struct.pack("!IxxxB", len(message), 58) + message)
    if corrupt:
        value ^= 0x0101
    return message[:2] + struct.pack("!H", value) + message[4:]


def ipv6(next_header, payload, src=ME, dst=DP, hop=64, length=None):
    length = len(payload) if length is None else length
    return struct.pack("!IHBB", 6 << 28, length, next_header, hop) + src + dst + payload


def send(packet, dst_mac=DP_MAC):
    sock.send(dst_mac + OUR_MAC + b"\x86\xdd" + packet)


def echo_request(ident, seq, data=b"hostile-check"):
    return icmp6(128, 0, struct.pack("!HH", ident, seq), data)


def wait_reply(ident, seconds=5.0):
    """True when dp-echo's echo reply to fd20::4 with `ident` shows on the tap."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            frame = sock.recv(65535)
        except socket.timeout:
            continue
        if len(frame) < 62 or frame[12:14] != b"\x86\xdd" or frame[6:12] != DP_MAC:
            continue
        ip = frame[14:]
        if ip[6] == 58 and ip[24:40] == ME and ip[40] == 129 and struct.unpack("!H", ip[44:46])[0] == ident:
            return True
    return False


def fragment(next_header, offset, more, ident, data):
    return struct.pack("!BBHI", next_header, 0, offset | (1 if more else 0), ident) + data


# 1. We never answered an NS from fd20::4: dp-echo resolves it itself.
send(ipv6(58, echo_request(0x6001, 1)))
assert wait_reply(0x6001), "no echo reply to fd20::4 (dp-echo did not resolve it)"
print("ipv6-hostile: dp-echo resolved fd20::4 and answered")

# 2. The hostile set, a few times over.
pad = bytes([1, 4, 0, 0, 0, 0])
for round_ in range(5):
    send(ipv6(58, echo_request(1, 1), length=200))                       # payload length past the frame
    send(ipv6(58, b"")[:30])                                             # fixed header cut short
    chain = b"".join(bytes([60, 0]) + pad for _ in range(169)) + bytes([58, 0]) + pad
    send(ipv6(60, chain + echo_request(2, round_)))                      # 170 destination options headers
    send(ipv6(43, bytes([58, 2, 0, 1, 0, 0, 0, 0]) + ME + echo_request(3, round_)))   # RH0, segments left 1
    send(ipv6(60, bytes([58, 0, 0x80, 4, 0, 0, 0, 0]) + echo_request(4, round_)))     # option says discard
    send(ipv6(60, bytes([0, 0]) + pad + bytes([58, 0]) + pad + echo_request(5, round_)))  # hop-by-hop not first
    send(ipv6(60, bytes([58, 3]) + pad))                                 # header longer than the packet
    ident = 0x7000 + round_
    body = echo_request(6, round_, b"o" * 40)
    send(ipv6(44, fragment(58, 0, True, ident, body[:24])))              # overlapping fragments
    send(ipv6(44, fragment(58, 16, False, ident, body[16:])))
    send(ipv6(44, fragment(58, 0, True, ident + 100, body[:12])))        # non-last fragment not a multiple of 8
    bad = icmp6(128, 0, struct.pack("!HH", 7, round_), b"x" * 16, corrupt=True)
    send(ipv6(58, bad))                                                  # bad checksum
    ns = icmp6(135, 0, b"\0" * 4, DP + bytes([1, 1]) + OUR_MAC)
    send(ipv6(58, ns, hop=254))                                          # NS forwarded from off-link
    ra = icmp6(134, 0, struct.pack("!BBH", 64, 0, 1800), struct.pack("!II", 0, 0), src=LL_ROUTER, dst=ALL_NODES)
    send(ipv6(58, ra, src=LL_ROUTER, dst=ALL_NODES, hop=64), dst_mac=b"\x33\x33\x00\x00\x00\x01")  # RA from off-link
print("ipv6-hostile: hostile set sent")

# 3. Tiny (8-byte) fragments and an atomic fragment still get answers.
body = echo_request(0x6002, 1, b"t" * 56)
ident = 0x8000
for offset in range(0, len(body), 8):
    last = offset + 8 >= len(body)
    send(ipv6(44, fragment(58, offset, not last, ident, body[offset:offset + 8])))
assert wait_reply(0x6002), "no reply to an echo request in 8-byte fragments"
send(ipv6(44, fragment(58, 0, False, 0x9000, echo_request(0x6003, 1))))
assert wait_reply(0x6003), "no reply to an atomic fragment (RFC 6946)"
send(ipv6(58, echo_request(0x6004, 1)))
assert wait_reply(0x6004), "no reply after the hostile set"
print("ipv6-hostile: still answering (tiny fragments, atomic fragment, plain echo)")
