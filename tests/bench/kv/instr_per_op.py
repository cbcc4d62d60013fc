#!/usr/bin/env python3
"""User-space instructions per GET and per SET of percore-kv against redis-server (figure kv_instr_per_op_vs_redis
of issue 11): a count the machine's noise cannot move.

    instr_per_op.py --kv build/release/apps/kv/percore-kv [--ops 20000] [--pipeline 16] [--keys 10000]
                    [--rounds 1] [--kv-arg=--flag ...]

Each server (percore-kv on 1 shard, redis-server) runs under valgrind --tool=callgrind. After start-up, --keys keys
`key:<12 digits>` -> `abc` are loaded; then for SET and then GET (of loaded keys, all hits): callgrind's counters are
zeroed (callgrind_control -z), --ops commands are sent on one connection, --pipeline at a time (every reply
checked), and the counters dumped (callgrind_control -d). Instructions / ops is the figure: the server's whole
user space (parsing, the keyspace, replies, the event loop), none of the kernel's work. Prints

    RESULT kv_instr_per_get <n> instr (percore-kv) ... redis_instr_per_get ... kv_instr_per_get_vs_redis <ratio>
    (and the same for set, overwriting loaded keys, and setnew, SET of keys not there yet)

With --keep-dumps DIR the dumps stay (DIR/percore-instr-*/cg.out.PID.{1,2,3}: SET, GET, SET of new keys) for
callgrind_annotate.

Exit 0 on success, 1 on failure.
"""

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps", "kv"))
import kvtest  # noqa: E402


def start(argv, port, out):
    server = kvtest.Server.__new__(kvtest.Server)
    full = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv]
    # kvtest.Server waits 20 s for the listener; valgrind needs longer to start a server.
    server.port = port
    server.proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
    server.err = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            server.conn = kvtest.Conn(port, timeout=120)
            return server
        except OSError:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} under valgrind exited")
            time.sleep(0.2)
    raise RuntimeError(f"{argv[0]} under valgrind did not listen")


def stop(server):
    server.conn.close()
    server.proc.terminate()
    try:
        server.proc.wait(120)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def run_ops(server, command, ops, pipeline, keys, value, base=0):
    conn = server.connect()
    conn.sock.settimeout(120)
    v = value.encode()
    sent = 0
    while sent < ops:
        n = min(pipeline, ops - sent)
        batch = []
        for i in range(sent, sent + n):
            k = b"key:%012d" % (base + i % keys)
            if command == "SET":
                batch.append(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$%d\r\n%s\r\n" % (k, len(v), v))
            else:
                batch.append(b"*2\r\n$3\r\nGET\r\n$16\r\n%s\r\n" % k)
        conn.sock.sendall(b"".join(batch))
        want = (b"+OK\r\n" if command == "SET" else b"$%d\r\n%s\r\n" % (len(v), v)) * n
        got = bytearray()
        while len(got) < len(want):
            chunk = conn.sock.recv(len(want) - len(got))
            if not chunk:
                raise RuntimeError("connection closed")
            got += chunk
        if got != want:
            raise RuntimeError(f"unexpected reply to {command}: {bytes(got[:60])!r}")
        sent += n
    conn.close()


def dump_total(pid, out, before):
    """Dumps callgrind's counters; returns the instructions of the new dump file."""
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        files = set(glob.glob(out + "*")) - before
        for f in files:
            with open(f) as fh:
                for line in fh:
                    if line.startswith("totals:") or line.startswith("summary:"):
                        return int(line.split()[1]), files
        time.sleep(0.2)
    raise RuntimeError("callgrind wrote no dump")


def measure(argv, port, args):
    work = tempfile.mkdtemp(prefix="percore-instr-", dir=args.keep_dumps or None)
    out = os.path.join(work, "cg.out")
    server = start(argv, port, out)
    try:
        run_ops(server, "SET", args.keys, args.pipeline, args.keys, args.value)  # load, and warm up
        run_ops(server, "GET", args.keys, args.pipeline, args.keys, args.value)
        figures = {}
        seen = set()
        for command in ("SET", "GET", "SETNEW"):
            subprocess.run(["callgrind_control", "-z", str(server.proc.pid)], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # let the zeroing land before the load
            if command == "SETNEW":  # keys not there yet: the insert path (allocation, table growth)
                run_ops(server, "SET", args.ops, args.pipeline, args.ops, args.value, base=10**9)
            else:
                run_ops(server, command, args.ops, args.pipeline, args.keys, args.value)
            total, files = dump_total(server.proc.pid, out, seen)
            seen |= files
            figures[command] = total / args.ops
        return figures
    finally:
        stop(server)
        if not args.keep_dumps:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kv", required=True)
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--value", default="abc")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--kv-arg", action="append", default=[])
    ap.add_argument("--skip-redis", action="store_true")
    ap.add_argument("--keep-dumps", default="", help="keep callgrind's dumps under this directory (to annotate)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("instr_per_op: valgrind is not installed (scripts/setup bench)", file=sys.stderr)
        return 1
    results = {w: {"SET": [], "GET": [], "SETNEW": []} for w in ("kv", "redis")}
    for r in range(args.rounds):
        order = ["kv", "redis"] if r % 2 == 0 else ["redis", "kv"]
        for which in order:
            if which == "redis" and args.skip_redis:
                continue
            port = kvtest.free_port()
            if which == "kv":
                argv = [args.kv, "--port", str(port), "--shards", "1", *kvtest.ENGINE, *args.kv_arg]
            else:
                argv = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--daemonize", "no", "--logfile", "", "--databases", "1"]
            got = measure(argv, port, args)
            for c in ("SET", "GET", "SETNEW"):
                results[which][c].append(got[c])
            print(f"round {r + 1} {which}: SET {got['SET']:.0f} GET {got['GET']:.0f} SET of a new key "
                  f"{got['SETNEW']:.0f} instructions/op", flush=True)
    for c in ("get", "set", "setnew"):
        kv = results["kv"][c.upper()]
        print(f"RESULT kv_instr_per_{c} {statistics.median(kv):.0f} instr # {min(kv):.0f}..{max(kv):.0f}")
        if not args.skip_redis:
            rd = results["redis"][c.upper()]
            print(f"RESULT redis_instr_per_{c} {statistics.median(rd):.0f} instr # {min(rd):.0f}..{max(rd):.0f}")
            ratios = [a / b for a, b in zip(kv, rd)]
            print(f"RESULT kv_instr_per_{c}_vs_redis {statistics.median(ratios):.3f} "
                  f"# {min(ratios):.3f}..{max(ratios):.3f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001
        print(f"instr_per_op: {e}", file=sys.stderr)
        sys.exit(1)
