#!/usr/bin/env python3
"""Runs percore-load against percore-echo and against faulty Python servers, on loopback.

usage: load_test.py PATH_TO_percore-load PATH_TO_percore-echo

Checks: a clean run reports messages and no errors (--json, exit 0); --messages N measures exactly N; a server
that corrupts one byte, or one that stops replying, makes percore-load report errors and exit 1 (in bounded time);
a refused connection exits 1 naming the address; bad flags exit 2.
"""
import json
import queue
import socket
import socketserver
import subprocess
import sys
import threading
import time

ENGINE = ["--stall-threshold-ms", "0", "--idle-poll-us", "0", "--reply-poll-us", "0"]
KEYS = {"mode", "connections", "size", "depth", "duration_s", "messages", "msgs_per_s", "mb_per_s", "p50_us",
        "p90_us", "p99_us", "p999_us", "max_us", "errors"}
failures = []


def check(ok, what, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(what)


def run_load(load, port, *args, timeout=30):
    shards = [] if "--shards" in args else ["--shards", "1"]
    cmd = [load, "echo", "--address", "127.0.0.1", "--port", str(port), *ENGINE, *shards, *args]
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return out, time.monotonic() - start


def parse_json(out):
    try:
        lines = [l for l in out.stdout.splitlines() if l.strip()]
        if len(lines) != 1:
            return None
        return json.loads(lines[0])
    except ValueError:
        return None


def start_echo(echo):
    proc = subprocess.Popen([echo, "--address", "127.0.0.1", "--port", "0", "--shards", "1", *ENGINE],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stderr], daemon=True).start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        if "listening on" in line:
            return proc, int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
    proc.kill()
    raise RuntimeError("percore-echo did not start")


class FaultyServer(socketserver.ThreadingTCPServer):
    """Echoes, except: with corrupt_at set, flips the byte at that offset of the first connection's stream;
    with mute set, reads and never replies."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, corrupt_at=None, mute=False):
        self.corrupt_at = corrupt_at
        self.mute = mute
        self.connections = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), FaultyHandler)


class FaultyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server
        with server.lock:
            first = server.connections == 0
            server.connections += 1
        seen = 0
        self.request.settimeout(30)
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                if server.mute:
                    continue
                if first and server.corrupt_at is not None and seen <= server.corrupt_at < seen + len(data):
                    i = server.corrupt_at - seen
                    data = data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1:]
                seen += len(data)
                self.request.sendall(data)
        except OSError:
            pass


def with_server(server, body):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        body(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    load, echo = sys.argv[1], sys.argv[2]

    proc, port = start_echo(echo)
    try:
        out, took = run_load(load, port, "--connections", "8", "--depth", "4", "--size", "100", "--duration", "2",
                             "--warmup", "0.5", "--json", "--shards", "2", "--overprovision")
        result = parse_json(out)
        check(out.returncode == 0, "clean run exits 0", f"exit {out.returncode}: {out.stderr}")
        check(result is not None and set(result) == KEYS, "clean run prints one JSON object with the keys",
              out.stdout)
        if result:
            check(result["errors"] == 0 and result["messages"] > 0, "clean run has messages and no errors",
                  out.stdout)
            check(result["p50_us"] > 0 and result["max_us"] >= result["p999_us"] >= result["p50_us"],
                  "percentiles are ordered", out.stdout)
        check("msgs/s" in out.stderr, "progress lines on stderr", out.stderr)
        check(took < 10, "clean run ends on time", f"{took:.1f} s")

        out, _ = run_load(load, port, "--connections", "3", "--depth", "7", "--messages", "1000", "--json")
        result = parse_json(out)
        check(out.returncode == 0 and result is not None and result["messages"] == 1000 and result["errors"] == 0,
              "--messages 1000 measures exactly 1000", out.stdout + out.stderr)

        out, _ = run_load(load, port, "--connections", "5", "--depth", "4", "--messages", "400", "--json")
        result = parse_json(out)
        check(out.returncode == 0 and result is not None and result["messages"] == 400 and result["errors"] == 0,
              "--depth 4 --messages 400 measures exactly 400", out.stdout + out.stderr)

        out, _ = run_load(load, port, "--connections", "4", "--rate", "2000", "--duration", "1", "--warmup", "0",
                          "--json")
        result = parse_json(out)
        check(out.returncode == 0 and result is not None and 1200 <= result["messages"] <= 2800,
              "--rate 2000 for 1 s sends about 2000 messages", out.stdout + out.stderr)

        out, _ = run_load(load, port, "--size", "200000", "--connections", "2", "--depth", "3", "--duration", "1",
                          "--warmup", "0")
        check(out.returncode == 0 and "errors        0" in out.stdout, "large messages verify",
              out.stdout + out.stderr)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    def corrupted(port):
        out, took = run_load(load, port, "--connections", "2", "--size", "64", "--depth", "2", "--duration", "1",
                             "--warmup", "0", "--json")
        result = parse_json(out)
        check(out.returncode == 1, "a corrupted byte exits 1", f"exit {out.returncode}: {out.stderr}")
        check(result is not None and result["errors"] > 0, "a corrupted byte is counted", out.stdout)
        check("byte 36 of 64" in out.stderr, "the corrupted byte is described", out.stderr)
        check(took < 10, "the corrupted run ends on time", f"{took:.1f} s")
    with_server(FaultyServer(corrupt_at=64 * 5 + 36), corrupted)

    def muted(port):
        out, took = run_load(load, port, "--connections", "2", "--duration", "1", "--warmup", "0",
                             "--timeout-ms", "300", "--json")
        result = parse_json(out)
        check(out.returncode == 1 and result is not None and result["errors"] >= 2,
              "a server that never replies gives errors and exit 1", out.stdout + out.stderr)
        check("no reply within 300 ms" in out.stderr, "the timeout is described", out.stderr)
        check(took < 10, "the stalled run ends on time", f"{took:.1f} s")
    with_server(FaultyServer(mute=True), muted)

    port = free_port()
    out, _ = run_load(load, port, "--duration", "1")
    check(out.returncode == 1, "a refused connection exits 1", f"exit {out.returncode}")
    check(f"127.0.0.1:{port}" in out.stderr and "refused" in out.stderr,
          "a refused connection names the address", out.stderr)

    for bad in (["--connections", "0"], ["--depth", "0"], ["--duration", "0"], ["--size", "x"]):
        out, _ = run_load(load, port, *bad)
        check(out.returncode == 2, f"bad flag {' '.join(bad)} exits 2", f"exit {out.returncode}: {out.stderr}")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
