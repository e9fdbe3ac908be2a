"""One TCP echo transfer from the lab peer (demo-peer.py, paired-peer.py):
sends the data on a thread while reading the echo back here, so neither
side's window stalls."""
import socket, threading, time

import tcp_oneway


def echo_once(ip, data, port=7):
    """One connection: returns (bytes back, seconds from connect to the last
    byte back, the peer's TCP_INFO line read before closing)."""
    started = time.monotonic()
    s = socket.create_connection((ip, port), timeout=20)

    def send_all():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    back = bytearray()
    while len(back) < len(data) and time.monotonic() - started < 60:
        chunk = s.recv(262144)
        if not chunk:
            break
        back += chunk
    seconds = time.monotonic() - started
    sender.join(5)
    info = tcp_oneway.tcp_info(s)
    s.close()
    return back, seconds, info
