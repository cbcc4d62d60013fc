#!/usr/bin/env python3
"""Runs percore-echo on a free port and checks it over real sockets: echo of random data on several connections,
half-close, --max-connections, --idle-timeout-ms, the default address, and a clean exit on SIGTERM.

usage: echo_test.py PATH_TO_percore-echo
"""
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

BINARY = sys.argv[1] if len(sys.argv) > 1 else "percore-echo"
ENGINE_FLAGS = ["--overprovision", "--stall-threshold-ms", "0", "--idle-poll-us", "0",
                "--reply-poll-us", "0"]
failures = []


def check(cond, what):
    print(f"{'ok' if cond else 'FAIL'}: {what}", flush=True)
    if not cond:
        failures.append(what)


class Echo:
    """A running percore-echo; its stderr is collected on a thread."""

    def __init__(self, *args, shards=2):
        self.proc = subprocess.Popen([BINARY, "--port", "0", "--shards", str(shards), *ENGINE_FLAGS, *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.err = []
        self.listening = threading.Event()
        self.host = self.port = None
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        if not self.listening.wait(15):
            self.proc.kill()
            raise RuntimeError(f"percore-echo did not say where it listens: {''.join(self.err)}")

    def _collect(self):
        for line in self.proc.stderr:
            self.err.append(line)
            m = re.search(r"percore-echo: listening on (\S+):(\d+)", line)
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                self.listening.set()

    def connect(self):
        return socket.create_connection((self.host, self.port), timeout=10)

    def stop(self, timeout=10):
        """SIGTERM; returns (exit code, seconds it took)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        took = time.monotonic() - start
        self._collector.join(10)  # its last lines (the counters) may still be in the pipe
        return code, took

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def recv_all(sock, limit=1 << 26):
    out = bytearray()
    while len(out) < limit:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        out += chunk
    return bytes(out)


def round_trip(echo, payload):
    """Sends payload while reading the echo on another thread; half-closes; True if all of it came back."""
    with echo.connect() as s:
        got = []
        reader = threading.Thread(target=lambda: got.append(recv_all(s)))
        reader.start()
        view = memoryview(payload)
        while view:
            n = s.send(view[:random.randint(1, 70000)])
            view = view[n:]
        s.shutdown(socket.SHUT_WR)
        reader.join(30)
        return bool(got) and got[0] == payload


def closed_by_peer(sock, within):
    """True if the peer closes (EOF or reset) within `within` seconds."""
    ready, _, _ = select.select([sock], [], [], within)
    if not ready:
        return False
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def main():
    rng = random.Random(1234)
    random.seed(5)
    with Echo() as echo:
        check(echo.host == "127.0.0.1", f"listens on 127.0.0.1 by default (said {echo.host}:{echo.port})")
        payloads = [rng.randbytes(rng.choice([1, 100, 5000, 70000, 1 << 20])) for _ in range(12)]
        results = [None] * len(payloads)

        def client(i):
            results[i] = round_trip(echo, payloads[i])
        threads = [threading.Thread(target=client, args=(i,)) for i in range(len(payloads))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check(all(results), f"{len(payloads)} concurrent connections echo random data byte for byte")

        # Half-close: everything sent before the FIN comes back, then EOF.
        with echo.connect() as s:
            s.sendall(b"half-" * 1000)
            s.shutdown(socket.SHUT_WR)
            check(recv_all(s) == b"half-" * 1000, "after a half-close the client still receives everything")

        # Not listening on other addresses of this host.
        with socket.socket() as s:
            s.settimeout(2)
            other = "127.0.0.2"
            refused = s.connect_ex((other, echo.port)) != 0
            check(refused, f"does not accept on {other} when bound to the default address")

        code, took = echo.stop()
        check(code == 0, f"SIGTERM: exit code {code}")
        check(took < 5, f"SIGTERM: exited in {took:.2f} s")
        check(any("connections served" in l for l in echo.err), "prints its counters on exit")

    with Echo("--max-connections", "2", shards=1) as echo:
        a = echo.connect()
        b = echo.connect()
        a.sendall(b"a")
        b.sendall(b"b")
        check(a.recv(1) == b"a" and b.recv(1) == b"b", "--max-connections 2: the first two are served")
        c = echo.connect()
        check(closed_by_peer(c, 2), "--max-connections 2: a third connection is closed at once")
        c.close()
        a.close()
        time.sleep(0.2)
        check(round_trip(echo, b"slot freed"), "--max-connections 2: a closed connection frees its slot")
        b.close()
        code, _ = echo.stop()
        check(code == 0, f"--max-connections: exit code {code}")
        check(any(re.search(r"\b1 rejected", l) for l in echo.err), "--max-connections: counts the rejection")

    # With 2 shards each admits its share (one): never more than 2 open in all, and a refusal is counted.
    with Echo("--max-connections", "2", "--accept-mode", "handoff", shards=2) as echo:
        a = echo.connect()  # shard 0
        b = echo.connect()  # shard 1
        a.sendall(b"a")
        b.sendall(b"b")
        check(a.recv(1) == b"a" and b.recv(1) == b"b", "--max-connections 2 on 2 shards: one served on each")
        c = echo.connect()  # round-robin: shard 0 again, over its share
        check(closed_by_peer(c, 2), "--max-connections 2 on 2 shards: a third connection is closed at once")
        c.close()
        a.close()
        b.close()
        code, _ = echo.stop()
        check(code == 0, f"--max-connections on 2 shards: exit code {code}")
        check(any(re.search(r"\b1 rejected", l) for l in echo.err), "--max-connections on 2 shards: counts it")

    with Echo("--idle-timeout-ms", "300") as echo:
        s = echo.connect()
        s.sendall(b"ping")
        check(s.recv(4) == b"ping", "--idle-timeout-ms: echoes before going idle")
        start = time.monotonic()
        closed = closed_by_peer(s, 5)
        idle = time.monotonic() - start
        check(closed and 0.2 < idle < 3, f"--idle-timeout-ms 300: an idle connection is closed (after {idle:.2f} s)")
        s.close()
        # A busy connection is not cut by the idle timeout.
        with echo.connect() as busy:
            ok = True
            for _ in range(8):
                busy.sendall(b"x")
                ok = ok and busy.recv(1) == b"x"
                time.sleep(0.1)
            check(ok, "--idle-timeout-ms: a connection that keeps talking stays open")
        code, took = echo.stop()
        check(code == 0 and took < 5, f"--idle-timeout-ms: SIGTERM exit code {code} in {took:.2f} s")

    with Echo("--accept-mode", "handoff") as echo:
        check(all(round_trip(echo, rng.randbytes(30000)) for _ in range(6)), "handoff mode echoes")
        # SIGTERM with an idle connection open: it is drained (cut after the drain timeout), exit 0.
        idle = echo.connect()
        start = time.monotonic()
        echo.proc.send_signal(signal.SIGTERM)
        try:
            code = echo.proc.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - start
        check(code == 0, f"SIGTERM with an idle connection open: exit code {code} after {took:.2f} s")
        idle.close()

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
