#!/usr/bin/env python3
"""kv_snapshot_rss_growth (issue 12): percore-kv's peak RSS while it snapshots KEYS keys under a write load,
divided by its RSS just before the snapshot (the load already running). A fork-based snapshot (Redis) can double
it; a fork-less walk holds only its bounded buffer of records (apps/kv/README.md, "Snapshots").

    snapshot_rss.py --kv build/release/apps/kv/percore-kv --load build/release/apps/load/percore-load \
        [--keys 1000000] [--value-size 3] [--rounds 3] [--server-cpu 0] [--load-cpu 1] [--raw-round N]
    -> per round: rss_before, peak, ratio, snapshot seconds, keys saved before a write; then
       RESULT kv_snapshot_rss_growth <median> ratio # <min>..<max> (<n> rounds) goal <= 1.1: met|MISSED
    (with --raw-round N: one round, one "round=N stage=snapshot ..." line: scripts/bench kv-durable's "snapshot")

Each round: a fresh server (1 shard, --appendonly yes, --appendfsync everysec, a fresh --dir), KEYS keys
`SET key:<12 digits> <value>` (tests/bench/kv/fill_keys.py), then percore-load SETs over the same keys (8
connections, pipeline 16) while BGSAVE runs. The peak is the kernel's VmHWM, reset (/proc/PID/clear_refs) just
before BGSAVE; VmRSS is also sampled every 5 ms as a cross-check.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from fill_keys import command, fill_keys  # noqa: E402


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def info(sock, field):
    sock.sendall(b"*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n")
    buf = b""
    while True:
        buf += sock.recv(65536)
        head, _, rest = buf.partition(b"\r\n")
        if head.startswith(b"$") and len(rest) >= int(head[1:]) + 2:
            break
    for line in rest.decode().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_round(args):
    data = tempfile.mkdtemp(prefix="percore-snaprss-")
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", str(args.server_cpu), args.kv, "--port", str(port), "--shards", "1",
                               "--dir", data, "--appendonly", "yes", "--appendfsync", "everysec"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load = None
    try:
        for _ in range(400):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=120)
                break
            except OSError:
                time.sleep(0.05)
        fill_keys(sock, args.keys, args.value_size)
        load = subprocess.Popen(["taskset", "-c", str(args.load_cpu), args.load, "resp", "--port", str(port),
                                 "-t", "set", "-r", str(args.keys), "-d", str(args.value_size), "-c", "8", "-P", "16",
                                 "--duration", "600", "--warmup", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(args.settle)
        before = status_kb(server.pid, "VmRSS")
        with open(f"/proc/{server.pid}/clear_refs", "w") as f:
            f.write("5")  # VmHWM := VmRSS
        started = time.monotonic()
        if command(sock, b"BGSAVE") != b"+Background saving started":
            raise RuntimeError("BGSAVE did not start")
        sampled = before
        while info(sock, "aof_rewrite_in_progress") == "1":
            sampled = max(sampled, status_kb(server.pid, "VmRSS"))
            time.sleep(0.005)
        took = time.monotonic() - started
        peak = max(status_kb(server.pid, "VmHWM"), sampled)
        status = info(sock, "aof_last_bgrewrite_status")
        hooked = info(sock, "percore_snapshot_keys_saved_before_a_write")
        pending = info(sock, "percore_snapshot_peak_pending_bytes")
        if status != "ok":
            raise RuntimeError(f"the snapshot failed: {status}")
        return {"rss_before_kb": before, "peak_kb": peak, "sampled_peak_kb": sampled, "ratio": f"{peak / before:.5f}",
                "seconds": f"{took:.3f}", "saved_before_a_write": hooked, "peak_pending_bytes": pending}
    finally:
        if load is not None:
            load.kill()
            load.wait()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(data, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kv", required=True)
    p.add_argument("--load", required=True)
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--value-size", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--settle", type=float, default=1.0, help="seconds of load before the snapshot")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--load-cpu", type=int, default=1)
    p.add_argument("--raw-round", type=int, help="one round, printed as a raw line of scripts/bench-kv-durable")
    args = p.parse_args()
    if args.raw_round is not None:
        fields = one_round(args)
        print(" ".join([f"round={args.raw_round}", "stage=snapshot", "server=percore", f"keys={args.keys}"] +
                       [f"{k}={v}" for k, v in fields.items()]))
        return 0
    ratios = []
    for r in range(args.rounds):
        print(f"snapshot rss: round {r + 1}/{args.rounds}, {args.keys} keys", file=sys.stderr)
        fields = one_round(args)
        print("  " + " ".join(f"{k}={v}" for k, v in fields.items()), file=sys.stderr)
        ratios.append(float(fields["ratio"]))
    med = statistics.median(ratios)
    verdict = "met" if med <= 1.1 else "MISSED"
    print(f"RESULT kv_snapshot_rss_growth {med:.4f} ratio # {min(ratios):.4f}..{max(ratios):.4f} "
          f"({len(ratios)} rounds) goal <= 1.1: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
