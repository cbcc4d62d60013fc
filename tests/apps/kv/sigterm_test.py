#!/usr/bin/env python3
"""percore-kv on SIGTERM: a client in the middle of a pipeline gets the replies of every command it sent, new
connections are refused, and the server exits 0 once its connections are done; a client that stays connected is
cut at the drain timeout and the server still exits 0; a large keyspace is freed in slices, not by one destructor
that holds the shard.

usage: sigterm_test.py PATH_TO_percore-kv
"""
import os
import signal
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import ENGINE, Conn, check, encode, finish, info_field, keys_by_shard, start_kv, wait_for  # noqa: E402

KV = sys.argv[1]
BIG = b"b" * 100_000


def refused(port):
    """Whether a new connection is refused (the listeners are closed)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:  # queued on the listener as it closed: ask again, the next one is refused
        return False


def exit_code(kv, within):
    try:
        return kv.proc.wait(within)
    except subprocess.TimeoutExpired:
        kv.proc.kill()
        kv.proc.wait()
        return None


def mid_pipeline(shards):
    tag = f"[{shards} shards]"
    drain_s = 60
    kv = start_kv(KV, shards, "--drain-timeout-ms", str(drain_s * 1000))
    keys = [k for per in keys_by_shard("t:", shards, 4) for k in per]
    kv.call("SET", "big", BIG)
    # 3000 commands, 200 of them GETs of a 100 KB value: 20 MB of replies the client does not read yet, so the
    # server stops in the middle, its replies stuck in full socket buffers and the rest of the requests unread.
    cmds, want, counts = [], [], {}
    for i in range(3000):
        k = keys[i % len(keys)]
        if i % 15 == 0:
            cmds.append(["GET", "big"])
            want.append(b"$%d\r\n%s\r\n" % (len(BIG), BIG))
        elif i % 3 == 0:
            counts[k] = counts.get(k, 0) + 1
            cmds.append(["INCR", f"n:{k}"])
            want.append(b":%d\r\n" % counts[k])
        else:
            cmds.append(["SET", f"v:{k}:{i}", "x" * 1000])
            want.append(b"+OK\r\n")
    a = Conn(kv.port, timeout=60)
    sender = threading.Thread(target=a.sock.sendall, args=(b"".join(encode(*c) for c in cmds),))
    sender.start()
    monitor = Conn(kv.port)
    # Wait (bounded) until the server has begun the pipeline: it is then blocked writing replies nobody reads.
    wait_for(lambda: int(info_field(monitor, "total_commands_processed")) > 100,
             f"{tag} the server starts on the pipeline")
    processed = int(info_field(monitor, "total_commands_processed"))
    monitor.close()
    kv.conn.close()  # the helper's own connection: only the pipelining client stays
    check(processed < len(cmds), f"{tag} SIGTERM arrives in the middle of the pipeline ({processed} of "
          f"{len(cmds)} commands run)")
    kv.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: refused(kv.port), f"{tag} after SIGTERM, new connections are refused", 20)
    check(kv.proc.poll() is None, f"{tag} ... while the client's pipeline is still being served")
    got = []
    try:
        for _ in cmds:
            got.append(a.reader.reply())
    except (OSError, ValueError) as e:
        got.append(repr(e).encode())
    sender.join(60)
    first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), None)
    check(len(got) == len(want) and first is None, f"{tag} every command sent before SIGTERM is answered "
          f"({len(got)} of {len(want)} replies)",
          "" if first is None else f"reply {first} to {cmds[first][:2]}: {got[first][:60]!r}")
    a.close()
    code = exit_code(kv, drain_s + 20)
    check(code == 0, f"{tag} the server exits 0 once the client is done (got {code})")


def idle_client_cut():
    kv = start_kv(KV, 3, "--drain-timeout-ms", "1000")
    kv.conn.close()
    b = Conn(kv.port, timeout=30)
    check(b.call("PING") == b"+PONG\r\n", "an idle client is connected")
    kv.proc.send_signal(signal.SIGTERM)
    code = exit_code(kv, 30)
    check(code == 0, f"with an idle client still connected, the server exits 0 at the drain timeout (got {code})")
    try:
        eof = b.sock.recv(1) == b""
    except OSError:
        eof = True
    check(eof, "the idle client's connection is closed")
    b.close()


def large_keyspace_exit():
    # With the stall detector on (10 ms), freeing 300 000 keys in one destructor call is reported as a stall.
    engine = list(ENGINE)
    engine[engine.index("--stall-threshold-ms") + 1] = "10"
    kv = start_kv(KV, 1, engine=engine)
    n, batch = 300_000, 10_000
    for start in range(0, n, batch):
        kv.conn.pipeline([["SET", f"key:{i:012}", "xxx"] for i in range(start, start + batch)])
    check(kv.call("DBSIZE") == b":%d\r\n" % n, f"{n} keys stored")
    code = kv.stop(timeout=60)
    check(code == 0, f"a server holding {n} keys exits 0 on SIGTERM (got {code})")
    err = "".join(kv.err)
    check("keyspaceD" not in err, "its keyspace is not freed by one call that holds the shard",
          "\n".join(line for line in err.splitlines() if "stall" in line or "keyspace" in line)[:2000])


def main():
    large_keyspace_exit()
    for shards in (1, 3):
        mid_pipeline(shards)
    idle_client_cut()
    finish()


main()
