"""A small pcapy-ng program for test_pcapy_ng.py, run in a namespace on one
route.  ``pcapy_probe.py JSON``: the JSON names the action and its
arguments; the probe prints ``ready`` once its captures are open, then one
JSON line with what it got.  Frames travel as hex.

Actions: ``loop`` / ``next`` / ``dispatch`` (one handle, optional filter,
``count`` packets, then stats), ``send`` (sendpacket each frame), ``fanout``
(``members`` handles in one PACKET_FANOUT group; reads until ``count``
packets arrived in all), ``version``.
"""
import json
import select
import sys
import time

import pcapy


def ready():
    print("ready", flush=True)


def opened(cmd):
    p = pcapy.open_live(cmd["ifname"], 65535, 1, cmd.get("timeout", 100))
    if cmd.get("filter"):
        p.setfilter(cmd["filter"])
    return p


def capture(cmd):
    p = opened(cmd)
    frames = []
    ready()
    n, deadline = cmd["count"], time.monotonic() + cmd.get("seconds", 10)
    if cmd["action"] == "loop":
        p.loop(n, lambda hdr, data: frames.append(data.hex()))
    elif cmd["action"] == "next":
        while len(frames) < n and time.monotonic() < deadline:
            hdr, data = p.next()
            if hdr is not None and hdr.getlen():
                assert hdr.getcaplen() == len(data)
                frames.append(data.hex())
    else:
        while len(frames) < n and time.monotonic() < deadline:
            p.dispatch(n - len(frames), lambda hdr, data: frames.append(data.hex()))
    return {"frames": frames, "stats": p.stats(), "datalink": p.datalink()}


def send(cmd):
    p = pcapy.open_live(cmd["ifname"], 65535, 0, 100)
    ready()
    for f in cmd["frames"]:
        p.sendpacket(bytes.fromhex(f))
    return {"sent": len(cmd["frames"])}


def fanout(cmd):
    handles = []
    for _ in range(cmd["members"]):
        p = opened(cmd)
        try:
            p.set_fanout(cmd["group"], cmd.get("type", 0))
        except pcapy.PcapError as exc:
            return {"error": str(exc)}
        p.setnonblock(1)
        handles.append(p)
    ready()
    parts = [[] for _ in handles]
    deadline = time.monotonic() + cmd.get("seconds", 10)
    while sum(map(len, parts)) < cmd["count"] and time.monotonic() < deadline:
        select.select([h.getfd() for h in handles], [], [], 0.1)
        for h, part in zip(handles, parts):
            h.dispatch(-1, lambda hdr, data, part=part: part.append(data.hex()))
    return {"parts": parts}


def main():
    cmd = json.loads(sys.argv[1])
    action = {"loop": capture, "next": capture, "dispatch": capture, "send": send,
              "fanout": fanout}[cmd["action"]]
    print(json.dumps(action(cmd)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
