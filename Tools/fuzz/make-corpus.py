#!/usr/bin/env python3
"""Writes the seed corpora of the Wire fuzz targets (Tools/fuzz/corpus/<target>/):
a few small valid packets each, with correct checksums. Run it again after
changing a seed; the files are committed."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
A = bytes([10, 0, 0, 1])
B = bytes([10, 0, 0, 2])
MAC_A = bytes.fromhex("525400123456")
MAC_B = bytes.fromhex("020000aabbcc")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(protocol: int, payload: bytes, src=A, dst=B, options=b"", flags_offset=0x4000, ident=1) -> bytes:
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident, flags_offset, 64,
                         protocol, 0, src, dst) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def icmp(kind: int, code: int, rest: bytes, body: bytes) -> bytes:
    message = struct.pack("!BBH", kind, code, 0) + rest + body
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def pseudo(src, dst, protocol, length):
    return src + dst + struct.pack("!BBH", 0, protocol, length)


def udp(sport, dport, payload, src=A, dst=B, zero=False):
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if zero:
        return datagram
    value = checksum(pseudo(src, dst, 17, len(datagram)) + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", value) + datagram[8:]


def tcp(sport, dport, seq, ack, flags, window, options=b"", payload=b"", src=A, dst=B):
    assert len(options) % 4 == 0
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(options) // 4) << 4, flags, window, 0, 0)
    segment = header + options + payload
    value = checksum(pseudo(src, dst, 6, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", value) + segment[18:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def ethernet(dst, src, ethertype, payload, vlan=None):
    if vlan is None:
        return dst + src + struct.pack("!H", ethertype) + payload
    return dst + src + struct.pack("!HHH", 0x8100, vlan, ethertype) + payload


def write(target, name, data):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as file:
        file.write(data)


udp_packet = ipv4(17, udp(5000, 7, b"hello"))
echo = icmp(8, 0, struct.pack("!HH", 0x1234, 1), bytes(range(32)))

write("ethernet-arp", "arp-request", ethernet(b"\xff" * 6, MAC_A, 0x0806, arp(1, MAC_A, A, b"\0" * 6, B)))
write("ethernet-arp", "arp-reply", ethernet(MAC_A, MAC_B, 0x0806, arp(2, MAC_B, B, MAC_A, A)))
write("ethernet-arp", "arp-vlan", ethernet(b"\xff" * 6, MAC_A, 0x0806, arp(1, MAC_A, A, b"\0" * 6, B), vlan=0xA064))
write("ethernet-arp", "ipv4-udp", ethernet(MAC_B, MAC_A, 0x0800, udp_packet))

write("ipv4-icmp", "echo-request", ipv4(1, echo))
write("ipv4-icmp", "echo-reply", ipv4(1, icmp(0, 0, struct.pack("!HH", 0x1234, 1), b"abcd"), src=B, dst=A))
write("ipv4-icmp", "port-unreachable", ipv4(1, icmp(3, 3, b"\0" * 4, udp_packet[:28]), src=B, dst=A))
write("ipv4-icmp", "frag-needed", ipv4(1, icmp(3, 4, struct.pack("!HH", 0, 1280), udp_packet[:28]), src=B, dst=A))
write("ipv4-icmp", "time-exceeded", ipv4(1, icmp(11, 1, b"\0" * 4, udp_packet[:28]), src=B, dst=A))
write("ipv4-icmp", "udp-with-options", ipv4(17, udp(1, 2, b"x"), options=bytes.fromhex("94040000")))
write("ipv4-icmp", "first-fragment", ipv4(1, echo[:24], flags_offset=0x2000, ident=77))

write("udp", "dns-query", A + B + udp(5353, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"))
write("udp", "zero-checksum", A + B + udp(7, 7, b"no checksum", zero=True))
write("udp", "empty", B + A + udp(9, 9, b"", src=B, dst=A))

syn_options = bytes.fromhex("020405b4 0402 080a 11223344 00000000 01 030307".replace(" ", ""))
write("tcp", "syn", A + B + tcp(40000, 80, 0x01020304, 0, 0x02, 64240, syn_options))
sack = bytes.fromhex("0101080a 00000010 00000020 0101 0512 00000100 00000200 00000300 00000400".replace(" ", ""))
write("tcp", "ack-sack", B + A + tcp(80, 40000, 7, 0x01020305, 0x10, 502, sack, src=B, dst=A))
write("tcp", "data", A + B + tcp(40000, 80, 0x01020305, 8, 0x18, 502, payload=b"GET / HTTP/1.0\r\n\r\n"))
write("tcp", "unknown-option", A + B + tcp(1, 2, 3, 4, 0x10, 5, bytes.fromhex("1e0600000000 0101")))

# IPv6 (RFC 8200), ICMPv6 (RFC 4443) and NDP (RFC 4861).
A6 = bytes.fromhex("fe800000000000005054 00fffe123456".replace(" ", ""))
B6 = bytes.fromhex("fd200000000000000000000000000002")
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")


def ipv6(next_header: int, payload: bytes, src=A6, dst=B6, hop=64) -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop) + src + dst + payload


def pseudo6(src, dst, next_header, length):
    return src + dst + struct.pack("!IxxxB", length, next_header)


def icmp6(kind, code, rest, body, src=A6, dst=B6):
    message = struct.pack("!BBH", kind, code, 0) + rest + body
    value = checksum(pseudo6(src, dst, 58, len(message)) + message)
    return message[:2] + struct.pack("!H", value) + message[4:]


def udp6(sport, dport, payload, src=A6, dst=B6):
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    value = checksum(pseudo6(src, dst, 17, len(datagram)) + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", value) + datagram[8:]


udp6_packet = ipv6(17, udp6(5000, 7, b"hello"))
write("ipv6-icmpv6", "echo-request", ipv6(58, icmp6(128, 0, struct.pack("!HH", 0x1234, 1), bytes(range(32)))))
write("ipv6-icmpv6", "packet-too-big", ipv6(58, icmp6(2, 0, struct.pack("!I", 1280), udp6_packet, src=B6, dst=A6), src=B6, dst=A6))
solicited = bytes.fromhex("ff0200000000000000000001ff000002")
slla = bytes([1, 1]) + MAC_A
write("ipv6-icmpv6", "neighbor-solicitation",
      ipv6(58, icmp6(135, 0, b"\0" * 4, B6 + slla, dst=solicited), dst=solicited, hop=255))
write("ipv6-icmpv6", "neighbor-advertisement",
      ipv6(58, icmp6(136, 0, bytes([0x60, 0, 0, 0]), B6 + bytes([2, 1]) + MAC_B, src=B6, dst=A6), src=B6, dst=A6, hop=255))
prefix = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + bytes.fromhex("fd200000000000000000000000000000")
mtu = struct.pack("!BBHI", 5, 1, 0, 1500)
write("ipv6-icmpv6", "router-advertisement",
      ipv6(58, icmp6(134, 0, struct.pack("!BBH", 64, 0, 1800), struct.pack("!II", 0, 0) + slla + mtu + prefix, dst=ALL_NODES),
           dst=ALL_NODES, hop=255))
hop_by_hop = bytes([60, 0, 5, 2, 0, 0, 1, 0])
dest_opts = bytes([44, 0, 1, 4, 0, 0, 0, 0])
fragment = struct.pack("!BBHI", 17, 0, 0 | 1, 99)
write("ipv6-icmpv6", "chain-fragment", ipv6(0, hop_by_hop + dest_opts + fragment + udp6(1, 2, b"x" * 16)))
write("ipv6-icmpv6", "udp", udp6_packet)
write("ipv6-icmpv6", "address-text", b"2001:db8::ffff:192.0.2.1")
