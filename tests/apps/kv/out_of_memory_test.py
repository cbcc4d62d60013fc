#!/usr/bin/env python3
"""A command that runs out of memory (std::bad_alloc: the server under RLIMIT_AS) closes its own connection and
nothing else: the shard's lock is released, so other clients go on reading and writing on every shard, alone, in
MULTI/EXEC, with MSET and FLUSHALL. (It hung every later command on that shard before.) Not under ASan, whose
shadow memory does not fit an address-space limit.

usage: out_of_memory_test.py PATH_TO_percore-kv
"""
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, check, finish, keys_by_shard, start_kv  # noqa: E402

KV = sys.argv[1]
LIMIT = 400 << 20  # address space: a 512 MiB string cannot fit, the server itself does
HUGE_OFFSET = "536870000"  # SETRANGE there asks for ~512 MiB (under proto-max-bulk-len)


def limit_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def closed_by_server(conn, commands):
    try:
        conn.pipeline(commands)
        return False
    except (ConnectionError, EOFError, OSError, ValueError):
        return True


def still_serving(kv, keys, tag):
    b = Conn(kv.port, timeout=10)
    try:
        check(b.call("PING") == b"+PONG\r\n", f"{tag}: PING answers afterwards")
        for k in keys:
            check(b.call("SET", k, "w") == b"+OK\r\n" and b.call("GET", k) == b"$1\r\nw\r\n",
                  f"{tag}: {k}'s shard reads and writes afterwards")
        if len(keys) > 1:
            check(b.call("MSET", keys[0], "1", keys[1], "2") == b"+OK\r\n", f"{tag}: MSET across shards afterwards")
            check(b.pipeline([["MULTI"], ["INCR", keys[0]], ["INCR", keys[1]], ["EXEC"]])[-1] == b"*2\r\n:2\r\n:3\r\n",
                  f"{tag}: MULTI/EXEC across shards afterwards")
        check(b.call("FLUSHALL") == b"+OK\r\n", f"{tag}: FLUSHALL afterwards")
    except (OSError, ValueError) as e:
        check(False, f"{tag}: the server goes on serving", repr(e))
    finally:
        b.close()


def run(shards):
    kv = start_kv(KV, shards, "--overprovision", preexec_fn=limit_address_space)
    try:
        keys = [per[0] for per in keys_by_shard("oom:", shards, 1)]
        tag = f"{shards} shard(s), a lone command"
        a = Conn(kv.port, timeout=10)
        check(closed_by_server(a, [["SETRANGE", keys[-1], HUGE_OFFSET, "x"]]), f"{tag}: its connection is closed")
        still_serving(kv, keys, tag)
        tag = f"{shards} shard(s), inside EXEC"
        a = Conn(kv.port, timeout=10)
        check(closed_by_server(a, [["MULTI"], ["SET", keys[0], "v"], ["SETRANGE", keys[-1], HUGE_OFFSET, "x"],
                                   ["EXEC"]]), f"{tag}: its connection is closed")
        still_serving(kv, keys, tag)
    finally:
        code = kv.stop()
        check(code == 0, f"{shards} shard(s): exits 0 on SIGTERM", f"got {code}")


run(1)
run(2)
finish()
