#!/usr/bin/env python3
"""Memory an echo server spends per idle connection (scripts/bench-echo, figure echo_idle_conn_bytes).

    idle_conns.py --port P --pid SERVER_PID [--conns 10000] [--warm 100] [--timeout 60]

Opens --warm connections to 127.0.0.1:P, sends one byte on each and waits for its echo (so the server has accepted
and served every one of them), lets the server settle, reads VmRSS of SERVER_PID from /proc; then does the same with
--conns more connections (all kept open) and reads VmRSS again. Prints one line:

    conns=10000 rss_before_kb=.. rss_after_kb=.. bytes_per_conn=..

bytes_per_conn = (after - before) / conns: the resident memory the server grew by per connection that was served
once and then sat idle (the warm connections take one-time costs, e.g. first-use allocations, out of the figure).
The kernel's socket memory is not in the server's RSS and is not counted.

Bounded: gives up after --timeout seconds. Closes every socket with SO_LINGER 0 (RST: no TIME_WAIT left behind
to eat the loopback port range). Raises its own RLIMIT_NOFILE soft limit up to the hard limit as needed.
Exit status 0 on success, 1 on any failure (message on stderr), 2 on usage errors.
"""

import argparse
import errno
import os
import resource
import selectors
import socket
import struct
import sys
import time


def fail(msg):
    print(f"idle_conns: {msg}", file=sys.stderr)
    sys.exit(1)


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError as e:
        fail(f"cannot read /proc/{pid}/status: {e}")
    fail(f"no VmRSS in /proc/{pid}/status")


def settle_rss(pid, deadline, quiet=0.5, step=0.1):
    """VmRSS once it has stayed unchanged for `quiet` seconds (or at the deadline)."""
    last, since = rss_kb(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(step)
        now = rss_kb(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def open_and_ping(n, port, pid, deadline, batch=256):
    """n connections, each connected, pinged with one byte and echoed; returns the sockets."""
    socks = []
    sel = selectors.DefaultSelector()
    linger = struct.pack("ii", 1, 0)
    opened = 0
    while opened < n:
        # A batch at a time so that the listen backlog never overflows (a dropped SYN costs a 1 s retransmit).
        group = []
        for _ in range(min(batch, n - opened)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            rc = s.connect_ex(("127.0.0.1", port))
            if rc not in (0, errno.EINPROGRESS):
                fail(f"connect #{opened + len(group)}: {os.strerror(rc)}")
            group.append(s)
            sel.register(s, selectors.EVENT_WRITE, "connect")
        pending = len(group)
        while pending:
            if time.monotonic() > deadline:
                fail(f"timed out with {pending} of {len(group)} connections pending (opened {opened})")
            if not os.path.exists(f"/proc/{pid}"):
                fail("the server exited")
            for key, ev in sel.select(timeout=0.5):
                s = key.fileobj
                if key.data == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail(f"connect: {os.strerror(err)}")
                    s.send(b"x")
                    sel.modify(s, selectors.EVENT_READ, "echo")
                else:
                    try:
                        data = s.recv(16)
                    except BlockingIOError:
                        continue
                    if data != b"x":
                        fail(f"expected the echo of one byte, got {data!r}")
                    sel.unregister(s)
                    pending -= 1
        socks.extend(group)
        opened += len(group)
    sel.close()
    return socks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the server's PID (for /proc/PID/status)")
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--warm", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    if a.conns < 1 or a.warm < 0:
        ap.error("--conns must be >= 1, --warm >= 0")

    need = a.conns + a.warm + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            fail(f"RLIMIT_NOFILE hard limit {hard} < {need} needed")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    deadline = time.monotonic() + a.timeout
    warm = open_and_ping(a.warm, a.port, a.pid, deadline) if a.warm else []
    before = settle_rss(a.pid, min(deadline, time.monotonic() + 3))
    idle = open_and_ping(a.conns, a.port, a.pid, deadline)
    after = settle_rss(a.pid, min(deadline, time.monotonic() + 5))
    # Still all open? A server that closed them (idle timeout, connection cap) would not be measured.
    closed = 0
    for s in warm + idle:
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    for s in warm + idle:
        s.close()
    if closed:
        fail(f"{closed} of {len(warm) + len(idle)} connections were closed by the server before the measurement ended")
    print(f"conns={a.conns} rss_before_kb={before} rss_after_kb={after} "
          f"bytes_per_conn={(after - before) * 1024 / a.conns:.0f}")


if __name__ == "__main__":
    main()
