#!/usr/bin/env python3
"""Sends one QMP command to the lab guest's QEMU (dp-lab gives peers the
socket as DP_LAB_QMP) and prints the reply as JSON; exits 1 on an error
reply. The faults of Docs/ROBUSTNESS.md are QMP commands:

  qmp.py set_link '{"name": "net0", "up": false}'     link down on NIC 0 (netdev id netN)
  qmp.py device_del '{"id": "/machine/peripheral-anon/device[1]"}'
  qmp.py query-pci                                      what the guest's bus holds

Usage: qmp.py [--socket PATH] COMMAND [ARGUMENTS_JSON]"""
import json, os, socket, sys

def qmp(path, command, arguments=None, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    reader = s.makefile("r")
    def reply():
        while True:
            message = json.loads(reader.readline())
            if "event" not in message:  # events (e.g. DEVICE_DELETED) come in between
                return message
    json.loads(reader.readline())  # the greeting
    s.sendall(json.dumps({"execute": "qmp_capabilities"}).encode() + b"\n")
    reply()
    request = {"execute": command}
    if arguments:
        request["arguments"] = arguments
    s.sendall(json.dumps(request).encode() + b"\n")
    answer = reply()
    s.close()
    return answer

if __name__ == "__main__":
    args = sys.argv[1:]
    path = os.environ.get("DP_LAB_QMP")
    if args[:1] == ["--socket"]:
        path, args = args[1], args[2:]
    if not path or not args:
        sys.exit(__doc__)
    answer = qmp(path, args[0], json.loads(args[1]) if len(args) > 1 else None)
    print(json.dumps(answer))
    sys.exit(1 if "error" in answer else 0)
