#!/usr/bin/python3
"""The namespace half of the virtio lab tests (30-virtio-lab.sh).

Runs next to the dp-lab guest on its taps and answers the guest's control
frames (EtherType 0x88b6, "ID=k COMMAND args"): counts and checks the data
frames (0x88b5: 4-byte sequence, then a pattern from it) or UDP datagrams
the guest sends, sends the ones it must receive, and reports results as
control frames. Bounded in time; only touches the taps it is given.
"""
import argparse
import select
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_CSUMNOTREADY = 1 << 3
DATA, CONTROL = 0x88B5, 0x88B6
BROADCAST = b"\xff" * 6
PEER_MAC = bytes.fromhex("020000000001")


def data_frame(length, sequence, flows=False):
    """A data frame; with `flows`, an IPv4/UDP frame to port 7 whose source
    port varies, so that a multiqueue tap spreads them over its queues."""
    if flows:
        udp_length = length - 34
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length - 14, 0, 0x4000, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        ip = ip[:10] + struct.pack("!H", (~checksum(ip)) & 0xFFFF) + ip[12:]
        head = BROADCAST + PEER_MAC + b"\x08\x00" + ip + struct.pack("!HHHHI", 1024 + sequence % 64, 7, udp_length, 0, sequence)
    else:
        head = BROADCAST + PEER_MAC + struct.pack("!HI", DATA, sequence)
    return head + bytes((sequence + i) & 0xFF for i in range(len(head), length))


def intact_sequence(frame):
    """The sequence number of a data frame, -1 when damaged, None when not one."""
    if len(frame) >= 18 and frame[12:14] == b"\x88\xb5":
        start = 18
    elif len(frame) >= 46 and frame[12:14] == b"\x08\x00" and frame[23] == 17 and frame[36:38] == b"\x00\x07":
        start = 46
    else:
        return None
    sequence = struct.unpack("!I", frame[start - 4:start])[0]
    for i in range(start, len(frame)):
        if frame[i] != (sequence + i) & 0xFF:
            return -1
    return sequence


def control_frame(text):
    frame = BROADCAST + PEER_MAC + struct.pack("!H", CONTROL) + text.encode()
    return frame + b"\0" * max(0, 60 - len(frame))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def udp_checksum_valid(frame, partial):
    """Whether the UDP checksum is right. A frame the kernel marks
    CHECKSUM_PARTIAL (the device was asked to fill the checksum in, and the
    host will when the frame leaves) is completed here as the device would:
    the field must then hold the pseudo-header sum."""
    ip = frame[14:34]
    udp_length = struct.unpack("!H", frame[38:40])[0]
    udp = bytearray(frame[34:34 + udp_length])
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, udp_length)
    if partial:
        udp[6:8] = struct.pack("!H", (~checksum(bytes(udp))) & 0xFFFF)
    return checksum(pseudo + bytes(udp)) == 0xFFFF and struct.unpack("!H", bytes(udp[6:8]))[0] != 0


def length_for(sequence):
    return 60 + sequence % 1455


class Peer:
    def __init__(self, taps, deadline):
        self.taps = taps
        self.deadline = deadline
        self.sockets = []
        for tap in taps:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            s.bind((tap, 0))
            self.sockets.append(s)
        self.sessions = {}
        self.sending = []  # (tap index, frames list, position)

    def send(self, tap, frame):
        try:
            self.sockets[tap].send(frame)
        except OSError as error:
            print("send on %s failed: %s" % (self.taps[tap], error), flush=True)

    def reply(self, tap, text):
        self.send(tap, control_frame(text))

    def control(self, tap, text):
        words = text.split()
        if len(words) < 2 or not words[0].startswith("ID="):
            return
        ident = int(words[0][3:])
        command = words[1]
        args = dict(word.split("=", 1) for word in words[2:] if "=" in word)
        session = self.sessions.get(ident)
        if command == "END":
            if session is not None and session["kind"] in ("tx", "udp"):
                received = len(session["seen"])
                partial = session.get("partial", 0)
                self.reply(tap, "RESULT %d received=%d bad=%d partial=%d" % (ident, received, session["bad"], partial))
                if not session.get("reported"):
                    session["reported"] = True
                    print("session %d %s: received=%d bad=%d partial=%d" % (ident, session["kind"], received, session["bad"], partial), flush=True)
            return
        if session is not None:
            self.reply(tap, "OK %d" % ident)  # a repeated request: the guest missed our answer
            return
        count = int(args.get("count", "0"))
        if command == "TXONLY":
            self.sessions[ident] = {"kind": "tx", "tap": tap, "seen": set(), "bad": 0}
        elif command == "UDPCHECK":
            self.sessions[ident] = {"kind": "udp", "tap": tap, "seen": set(), "bad": 0}
        elif command == "RXONLY":
            self.sessions[ident] = {"kind": "rx"}
            frames = [data_frame(length_for(i), i) for i in range(count)] + [control_frame("END %d" % ident)] * 3
            self.sending.append([tap, frames, 0, time.monotonic() + 0.3])
        elif command == "IO":
            session = {"kind": "io", "count": count, "r01": set(), "r10": set(), "bad": 0, "ident": ident,
                       "started": time.monotonic()}
            self.sessions[ident] = session
            flows = args.get("flows") == "1"
            self.sending.append([0, [data_frame(length_for(i), i, flows) for i in range(count)], 0, time.monotonic() + 0.5])
            self.sending.append([1, [data_frame(length_for(i), 1000000 + i, flows) for i in range(count)], 0, time.monotonic() + 0.5])
        elif command == "UDPSEND":
            self.sessions[ident] = {"kind": "udpsend"}
            self.reply(tap, "OK %d" % ident)
            self.send_udp(tap, count, args.get("mac", ""), ident)
            return
        else:
            print("unknown command %r" % text, flush=True)
            return
        self.reply(tap, "OK %d" % ident)

    def send_udp(self, tap, count, mac, ident):
        # Datagrams from this namespace's kernel: through the tap's offloads,
        # so the guest sees what the Linux stack really hands a virtio NIC.
        subprocess.run(["ip", "neigh", "replace", "10.0.0.2", "lladdr", mac, "dev", self.taps[tap]], check=False)
        time.sleep(0.3)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(count):
            sender.sendto(bytes((i + j) & 0xFF for j in range(16 + i % 1000)), ("10.0.0.2", 9))
            if i % 32 == 31:
                time.sleep(0.002)
        sender.close()
        for _ in range(3):
            self.reply(tap, "END %d" % ident)
        print("session %d udpsend: sent %d datagrams" % (ident, count), flush=True)

    def data(self, tap, frame):
        for session in self.sessions.values():
            if session["kind"] == "tx" and session["tap"] == tap and not session.get("reported"):
                sequence = intact_sequence(frame)
                if sequence is None:
                    continue
                if sequence < 0:
                    session["bad"] += 1
                else:
                    session["seen"].add(sequence)
            elif session["kind"] == "io" and not session.get("reported"):
                sequence = intact_sequence(frame)
                if sequence is None:
                    continue
                if sequence < 0:
                    session["bad"] += 1
                elif tap == 1 and sequence < 1000000:
                    session["r01"].add(sequence)
                elif tap == 0 and sequence >= 1000000:
                    session["r10"].add(sequence)

    def udp(self, tap, frame, partial):
        for session in self.sessions.values():
            if session["kind"] == "udp" and session["tap"] == tap and not session.get("reported"):
                sequence = struct.unpack("!I", frame[42:46])[0] if len(frame) >= 46 else -1
                if udp_checksum_valid(frame, partial):
                    session["seen"].add(sequence)
                    session["partial"] = session.get("partial", 0) + (1 if partial else 0)
                else:
                    session["bad"] += 1

    def pump_sends(self):
        now = time.monotonic()
        for entry in self.sending:
            tap, frames, position, start = entry
            if now < start or position >= len(frames):
                continue
            window = self.window(tap)
            for frame in frames[position:position + min(32, window)]:
                self.send(tap, frame)
            entry[2] = position + min(32, window, len(frames) - position)
        self.sending = [e for e in self.sending if e[2] < len(e[1])]

    def window(self, tap):
        # io: keep at most 128 frames per direction in flight through the guest.
        for session in self.sessions.values():
            if session["kind"] == "io" and not session.get("reported"):
                sent = next((e[2] for e in self.sending if e[0] == tap), 0)
                arrived = len(session["r01"] if tap == 0 else session["r10"])
                return max(0, 128 - (sent - arrived))
        return 32

    def finish_io(self):
        for session in self.sessions.values():
            if session["kind"] != "io" or session.get("reported"):
                continue
            count = session["count"]
            complete = len(session["r01"]) == count and len(session["r10"]) == count
            stalled = time.monotonic() - session["started"] > 60
            if complete or stalled:
                session["reported"] = True
                text = "RESULT %d r01=%d r10=%d bad=%d" % (session["ident"], len(session["r01"]), len(session["r10"]), session["bad"])
                for _ in range(3):
                    self.reply(0, text)
                print("session %d io: %s" % (session["ident"], text), flush=True)
            elif session.get("reported_at") is None:
                pass

    def run(self):
        while time.monotonic() < self.deadline:
            readable, _, _ = select.select(self.sockets, [], [], 0.002 if self.sending else 0.05)
            for s in readable:
                tap = self.sockets.index(s)
                for _ in range(256):
                    try:
                        frame, ancillary, _, address = s.recvmsg(65535, socket.CMSG_SPACE(20), socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    status = 0
                    for level, kind_, payload in ancillary:
                        if level == SOL_PACKET and kind_ == PACKET_AUXDATA and len(payload) >= 4:
                            status = struct.unpack("I", payload[:4])[0]
                    if address[2] == PACKET_OUTGOING:
                        continue
                    kind = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
                    if kind == CONTROL:
                        self.control(tap, frame[14:].rstrip(b"\0").decode(errors="replace"))
                    elif kind == DATA or (kind == 0x0800 and len(frame) >= 46 and frame[23] == 17 and frame[36:38] == b"\x00\x07"):
                        self.data(tap, frame)
                    elif kind == 0x0800 and len(frame) >= 42 and frame[23] == 17 and frame[36:38] == b"\x00\x09":
                        self.udp(tap, frame, status & TP_STATUS_CSUMNOTREADY != 0)
            self.pump_sends()
            self.finish_io()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--taps", default="tap0")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    print("virtio peer on %s" % args.taps, flush=True)
    Peer(args.taps.split(","), time.monotonic() + args.timeout).run()


if __name__ == "__main__":
    sys.exit(main())
