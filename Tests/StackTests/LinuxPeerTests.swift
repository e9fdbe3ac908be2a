import Foundation
import Testing
import TestSupport

/// The stack (dp-echo on a tap) against the Linux kernel in a namespace.
@Suite(.enabled(if: LinuxPeer.available, "needs root, socat, ping and a built dp-echo"), .serialized)
struct LinuxPeerTests {
    @Test func kernelPingsArpsAndExchangesUDP() throws {
        let peer = try LinuxPeer()
        let ip = LinuxPeer.stackAddress
        for size in [56, 1472, 4000] {
            let ping = peer.shell("ping -c 2 -i 0.2 -w 8 -s \(size) \(ip)")
            #expect(ping.succeeded, "ping -s \(size): \(ping.output)")
            #expect(ping.output.contains("2 received"), "ping -s \(size): \(ping.output)")
        }
        let neighbour = peer.shell("ip neigh show \(ip) dev \(LinuxPeer.tapName)")
        #expect(neighbour.output.contains(LinuxPeer.stackMAC), "kernel neighbour entry: \(neighbour.output)")
        if Command.exists("arping") {
            let arping = peer.shell("arping -c 2 -w 4 -I \(LinuxPeer.tapName) \(ip)")
            #expect(arping.succeeded, "arping: \(arping.output)")
        }
        for size in [1, 1472, 8000] {
            let file = peer.directory.appendingPathComponent("udp-\(size)").path
            let echo = peer.shell("""
                head -c \(size) /dev/urandom > \(file).in && \
                socat -t 2 -b 65536 - UDP:\(ip):7 < \(file).in > \(file).out && cmp \(file).in \(file).out && echo same
                """)
            #expect(echo.output.contains("same"), "UDP echo of \(size) bytes: \(echo.output)")
        }
        let refused = peer.shell("echo x | socat -t 2 - UDP:\(ip):9")
        #expect(!refused.succeeded)
        #expect(refused.output.contains("Connection refused"), "UDP to a closed port: \(refused.output)")
        let counters = peer.stop()
        #expect(counters["icmp.echoReplies", default: 0] >= 6)
        #expect(counters["ipv4.reassembled", default: 0] >= 3)
        #expect(counters["drop.udp.closedPort", default: 0] == 1)
        #expect(counters["icmp.errorsSent", default: 0] == 1)
        #expect(counters["udp.sent", default: 0] == 3)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/python3")
                   && Command.run(["/usr/bin/python3", "-c", "import scapy"]).succeeded, "needs python3-scapy"))
    func hostileInputIsCountedAndSurvived() throws {
        let peer = try LinuxPeer()
        let script = peer.directory.appendingPathComponent("hostile.py")
        try HostileSet.script.write(to: script, atomically: true, encoding: .utf8)
        #expect(peer.shell("ping -c 1 -w 8 \(LinuxPeer.stackAddress)").succeeded)
        let sent = peer.shell("/usr/bin/python3 \(script.path) \(LinuxPeer.tapName) \(LinuxPeer.stackMAC) \(LinuxPeer.kernelAddress) \(LinuxPeer.stackAddress)", timeout: 60)
        #expect(sent.succeeded, "scapy: \(sent.output)")
        // -w (a deadline), not -W: with replies coming, ping -W waits only
        // two round trips for the last one, too short on a loaded machine.
        let ping = peer.shell("ping -c 3 -i 0.2 -w 8 \(LinuxPeer.stackAddress)")
        let udp = peer.shell("echo still-here | socat -t 2 - UDP:\(LinuxPeer.stackAddress):7")
        #expect(udp.output.contains("still-here"))
        let counters = peer.stop()
        #expect(ping.output.contains("3 received"), "ping after the hostile set: \(ping.output)\ncounters: \(counters)\n\(peer.output)")
        for (name, minimum) in HostileSet.expected {
            #expect(counters[name, default: 0] >= minimum, "\(name) = \(counters[name, default: 0]), expected at least \(minimum); all: \(counters)")
        }
        // The echo request behind garbage options was answered too.
        #expect(counters["icmp.echoRequests", default: 0] >= 5)
    }
}

/// Malformed frames sent from the namespace with scapy, and the counter
/// each must land in.
enum HostileSet {
    static let expected: [(String, Int)] = [
        ("drop.ipv4.truncated", 2),
        ("drop.ipv4.bad_length", 1),
        ("drop.ipv4.bad_checksum", 1),
        ("drop.ipv4.bad_version", 1),
        ("drop.ipv4.bad_header_length", 1),
        ("drop.ipv4.bad_fragment_offset", 1),
        ("drop.ipv4.ttlExpired", 1),
        ("drop.udp.bad_checksum", 1),
        ("drop.udp.truncated", 1),
        ("drop.udp.bad_length", 1),
        ("drop.icmp.bad_checksum", 1),
        ("drop.arp.truncated", 1),
        ("drop.arp.unsupported", 1),
        ("drop.reassembly.overlap", 1),
        ("drop.reassembly.tooManyFragments", 1),
        ("drop.reassembly.badFragment", 1),
    ]

    static let script = #"""
import struct, sys
from scapy.all import ARP, ICMP, IP, UDP, Ether, Raw, conf, sendp
conf.verb = 0
iface, dst_mac, src, dst = sys.argv[1:5]

def send(frame):
    sendp(frame, iface=iface)

e = Ether(dst=dst_mac, type=0x0800)
# IPv4: truncated header, total length past the frame, below the header, bad checksum,
# version 6, IHL 4, TTL 0, fragment ending past 65,535.
send(e / Raw(b"\x45\x00\x00\x1c"))
send(e / IP(src=src, dst=dst, len=400) / ICMP())
send(e / IP(src=src, dst=dst, len=12) / ICMP())
send(e / IP(src=src, dst=dst, chksum=0x1234) / ICMP())
send(e / IP(src=src, dst=dst, version=6) / ICMP())
send(e / IP(src=src, dst=dst, ihl=4) / ICMP())
send(e / IP(src=src, dst=dst, ttl=0) / ICMP())
send(e / IP(src=src, dst=dst, proto=17, frag=8190) / Raw(b"x" * 100))
# UDP: bad checksum, length past the datagram, length below 8.
send(e / IP(src=src, dst=dst) / UDP(sport=5555, dport=7, chksum=0x1234) / Raw(b"y" * 10))
send(e / IP(src=src, dst=dst) / UDP(sport=5555, dport=7, len=100) / Raw(b"y" * 10))
send(e / IP(src=src, dst=dst) / UDP(sport=5555, dport=7, len=4) / Raw(b"y" * 10))
# ICMP with a bad checksum.
send(e / IP(src=src, dst=dst) / ICMP(chksum=0x1234) / Raw(b"z" * 8))
# ARP: cut short, and for another hardware type.
send(Ether(dst=dst_mac, type=0x0806) / Raw(b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 4))
send(Ether(dst=dst_mac) / ARP(hwtype=6, pdst=dst, psrc=src))
# Teardrop: the second fragment starts inside the first.
send(e / IP(src=src, dst=dst, proto=17, id=77, flags="MF", frag=0) / Raw(b"a" * 24))
send(e / IP(src=src, dst=dst, proto=17, id=77, frag=1) / Raw(b"b" * 24))
# Endless fragments of one datagram: more than the stack keeps.
for i in range(100):
    send(e / IP(src=src, dst=dst, proto=17, id=99, flags="MF", frag=i) / Raw(b"e" * 8))
# A fragment with more to come whose length is not a multiple of 8.
send(e / IP(src=src, dst=dst, proto=17, id=101, flags="MF", frag=0) / Raw(b"o" * 13))

# An echo request behind 40 bytes of garbage options (IHL 15), checksums right.
def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
icmp = bytearray(struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"options!")
struct.pack_into("!H", icmp, 2, checksum(bytes(icmp)))
options = bytes([0x99, 0x05, 0xFF, 0x00, 0x07]) + bytes(range(35))
header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x4F, 0, 60 + len(icmp), 7, 0, 64, 1, 0,
                               bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))) + options)
struct.pack_into("!H", header, 10, checksum(bytes(header)))
send(e / Raw(bytes(header) + bytes(icmp)))
"""#
}
