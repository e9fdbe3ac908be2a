#!/usr/bin/env python3
"""Writes the seed programs of the whole-stack fuzz targets
(Tools/fuzz/corpus/stack-stack and stack-tcp): whole conversations in the
program encoding of Tools/fuzz/stack/Support (StackFuzzProgram.swift,
StackFuzzSockets.swift), so the fuzzer starts from established connections,
complete datagrams and reassembled fragments instead of finding each
handshake by chance. Rerun after changing the encoding or the mixes."""
import os

# Opcode bytes: the first index of each operation in the mix's table.
# A socket call's first byte picks the call by its value modulo 12 (0 TCP
# socket, 1 UDP, 2 bind, 3 listen, 4 connect, 5 accept, 6-7 send, 8-9 recv,
# 10 close or with 0x80 shutdown, 11 setsockopt); its high bits are arguments.
WHOLE = {"raw": 0, "arp": 2, "tcp": 4, "udp": 7, "frag": 9, "icmp": 12, "clock": 14, "sock": 16}
TCP = {"tcp": 0, "clock": 6, "sock": 8, "arp": 14}

def program(ops, steps):
    out = bytearray()
    for name, *fields in steps:
        out.append(ops[name])
        for f in fields:
            out += f if isinstance(f, (bytes, bytearray)) else bytes([f])
    return bytes(out)

u16 = lambda v: v.to_bytes(2, "big")
u32 = lambda v: v.to_bytes(4, "big")
# TCP segment on the flow `flow` (an index into the learned flows): flags,
# mode 0x05 (exact sequence and acknowledgment numbers, no options).
seg = lambda flow, flags, length=0: ("tcp", flow, flags, 0x05, length, u16(0xFFFF), 0x41)

server = [
    ("sock", 0x00, 0), ("sock", 0x02, 0), ("sock", 0x33, 0),          # socket, bind :80, listen
    ("tcp", 0x80, 0x02, u32(4096), 0x05, u16(0xFFFF), 0),              # SYN from 10.121.0.2:40000
    seg(0, 0x10), seg(0, 0x18, 100),                                   # ACK, data
    ("sock", 0x05, 0), ("sock", 0x08, 1, u16(4096)),                   # accept, read
    ("sock", 0x06, 1, u16(3000), 7),                                   # write 3000 bytes
    seg(0, 0x10), seg(0, 0x18, 50), seg(0, 0x11),                      # ACK it, more data, FIN
    ("sock", 0x08, 1, u16(4096)), ("sock", 0x0A, 1),                   # read to the end, close
    seg(0, 0x10), ("clock", 90, 2),                                    # ACK our FIN, 90 s pass
]
client = [
    ("sock", 0x00, 0), ("sock", 0x04, 0),                              # socket, connect 10.121.0.2:40000
    ("clock", 5, 1), ("clock", 5, 1),                                  # ARP answered, SYN out
    seg(0, 0x12), ("sock", 0x06, 0, u16(2000), 3),                     # SYN-ACK, write
    seg(0, 0x10), seg(0, 0x18, 200), ("sock", 0x08, 0, u16(4096)),     # ACK, data, read
    ("sock", 0x82, 0), seg(0, 0x10), seg(0, 0x11), ("clock", 70, 2),   # shutdown(SHUT_RD..), FIN, TIME-WAIT
]
udp = [
    ("sock", 0x01, 0), ("sock", 0x02, 2),                              # UDP socket, bind :53
    ("udp", 0x02, u16(64), 9), ("sock", 0x08, 0, u16(2048)),           # a datagram to :53, read it
    ("frag", 0x24, 0, 3, 5, 7), ("frag", 0x00, 4, 3, 6),               # two fragments of one datagram
    ("sock", 0x08, 0, u16(2048)), ("sock", 0x8A, 0, u16(100), 1),      # read it, sendto .4 (waits for ARP)
    ("icmp", 0x80, 0, 32, 3, u32(0x00770001)),                         # ping
    ("arp", 0x02, 0x33), ("arp", 0x41, 0x34),                          # ARP request, reply
    ("frag", 0x65, 3, 20, 1), ("clock", 40, 2),                        # a lone fragment, left to expire
]

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
for target, ops, seeds in (("stack-stack", WHOLE, {"server": server, "client": client, "udp": udp}),
                           ("stack-tcp", TCP, {"server": server, "client": client})):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    for name, steps in seeds.items():
        if any(step[0] not in ops for step in steps):
            continue
        with open(os.path.join(root, target, f"seed-{name}"), "wb") as f:
            f.write(program(ops, steps))
        print(f"{target}/seed-{name}")
