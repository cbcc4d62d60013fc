#!/usr/bin/env python3
"""Memory per key of percore-kv against redis-server (figure kv_bytes_per_key_vs_redis of issue 11).

    bytes_per_key.py --kv build/release/apps/kv/percore-kv [--keys 1000000] [--rounds 3] [--value abc]
                     [--preload /usr/lib/x86_64-linux-gnu/libjemalloc.so.2] [--kv-arg=--flag ...]

Each round starts percore-kv (1 shard) and redis-server on loopback, sets a few warm-up keys on each (first-use
allocations out of the figure), reads VmRSS from /proc, loads --keys keys `SET key:<12 digits> <value>` with a
pipelined raw-socket loader (batches of 1000, every reply checked), reads VmRSS again, and stops both. Rounds
alternate which server loads first (A B, B A, ...). Prints, per round, then as medians with min..max:

    RESULT kv_bytes_per_key <median> bytes # <min>..<max> (<n> rounds)
    RESULT redis_bytes_per_key ...
    RESULT kv_bytes_per_key_vs_redis <median ratio> # <min>..<max>
    RESULT kv_used_memory_per_key ...          (INFO used_memory growth per key: how close the accounting is)

Bounded: every socket has a timeout; the servers are stopped on exit. Exit 0 on success, 1 on failure.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps", "kv"))
import kvtest  # noqa: E402  (start_kv, start_redis, Conn)

BATCH = 1000


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def used_memory(server):
    raw = server.call("INFO", "memory").decode(errors="replace")
    for line in raw.split("\r\n"):
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def load(server, first, count, value):
    """SET key:<12 digits> value for keys first .. first + count - 1, pipelined; checks every reply."""
    conn = server.connect()
    conn.sock.settimeout(60)
    v = value.encode()
    head = b"*3\r\n$3\r\nSET\r\n$16\r\nkey:"
    tail = b"\r\n$%d\r\n%s\r\n" % (len(v), v)
    i = first
    end = first + count
    while i < end:
        n = min(BATCH, end - i)
        conn.sock.sendall(b"".join(head + b"%012d" % k + tail for k in range(i, i + n)))
        want = 5 * n
        got = bytearray()
        while len(got) < want:
            chunk = conn.sock.recv(want - len(got))
            if not chunk:
                raise RuntimeError("connection closed during the load")
            got += chunk
        if got != b"+OK\r\n" * n:
            raise RuntimeError(f"unexpected reply: {bytes(got[:80])!r}")
        i += n
    conn.close()


def measure(server, keys, value):
    load(server, 10**11, 100, value)  # warm-up keys, outside the counted range
    time.sleep(0.3)
    before = rss_bytes(server.proc.pid)
    used_before = used_memory(server)
    load(server, 0, keys, value)
    time.sleep(0.5)
    after = rss_bytes(server.proc.pid)
    used_after = used_memory(server)
    return (after - before) / keys, (used_after - used_before) / keys


def summary(name, values, unit=""):
    med = statistics.median(values)
    print(f"RESULT {name} {med:.2f}{' ' + unit if unit else ''} # {min(values):.2f}..{max(values):.2f} "
          f"({len(values)} rounds)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kv", required=True, help="the percore-kv binary")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--value", default="abc")
    ap.add_argument("--preload", default="", help="LD_PRELOAD for percore-kv (an allocator to compare)")
    ap.add_argument("--kv-arg", action="append", default=[], help="extra percore-kv flag (repeatable)")
    ap.add_argument("--skip-redis", action="store_true", help="percore-kv only (no ratio)")
    args = ap.parse_args()

    if args.preload:
        os.environ["LD_PRELOAD"] = args.preload
    kv_fig, redis_fig, ratios, kv_used = [], [], [], []
    for r in range(args.rounds):
        order = ["kv", "redis"] if r % 2 == 0 else ["redis", "kv"]
        got = {}
        for which in order:
            if which == "redis" and args.skip_redis:
                continue
            if which == "kv":
                server = kvtest.start_kv(args.kv, 1, *args.kv_arg)
            else:
                saved = os.environ.pop("LD_PRELOAD", None)
                server = kvtest.start_redis()
                if saved is not None:
                    os.environ["LD_PRELOAD"] = saved
            try:
                got[which] = measure(server, args.keys, args.value)
            finally:
                server.stop()
        kv_fig.append(got["kv"][0])
        kv_used.append(got["kv"][1])
        line = f"round {r + 1}: percore-kv {got['kv'][0]:.1f} B/key (used_memory {got['kv'][1]:.1f})"
        if "redis" in got:
            redis_fig.append(got["redis"][0])
            ratios.append(got["kv"][0] / got["redis"][0])
            line += f", redis-server {got['redis'][0]:.1f} B/key (used_memory {got['redis'][1]:.1f}), " \
                    f"ratio {ratios[-1]:.3f}"
        print(line, flush=True)
    summary("kv_bytes_per_key", kv_fig, "bytes")
    summary("kv_used_memory_per_key", kv_used, "bytes")
    if ratios:
        summary("redis_bytes_per_key", redis_fig, "bytes")
        summary("kv_bytes_per_key_vs_redis", ratios)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001  (one line, not a trace, for scripts/bench)
        print(f"bytes_per_key: {e}", file=sys.stderr)
        sys.exit(1)
