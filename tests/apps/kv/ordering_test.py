#!/usr/bin/env python3
"""percore-kv answers pipelines in request order: pipelines of 1000 mixed commands (SET GET INCR DEL EXISTS MGET
PING ECHO, MULTI/EXEC blocks, unknown commands) over keys on every shard, sent in uneven pieces by several clients
at once; every reply is checked against a model computed here. One pipeline is also compared with redis-server's
replies byte for byte.

usage: ordering_test.py PATH_TO_percore-kv
"""
import os
import random
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, check, encode, finish, keys_by_shard, start_kv, start_redis  # noqa: E402

KV = sys.argv[1]
PIPELINE = 1000
ROUNDS = 10   # pipelines per client
CLIENTS = 3


def bulk(v):
    return b"$-1\r\n" if v is None else b"$%d\r\n%s\r\n" % (len(v), v)


def is_int(v):
    try:
        return str(int(v)).encode() == v and -(1 << 63) <= int(v) < (1 << 63)
    except ValueError:
        return False


class Model:
    """What Redis answers, for the commands the pipelines use."""

    def __init__(self):
        self.data = {}

    def apply(self, cmd):
        name, args = cmd[0].upper(), [a.encode() if isinstance(a, str) else a for a in cmd[1:]]
        d = self.data
        if name == "SET":
            d[args[0]] = args[1]
            return b"+OK\r\n"
        if name == "GET":
            return bulk(d.get(args[0]))
        if name == "INCR":
            v = d.get(args[0], b"0")
            if not is_int(v):
                return b"-ERR value is not an integer or out of range\r\n"
            d[args[0]] = str(int(v) + 1).encode()
            return b":%d\r\n" % (int(v) + 1)
        if name == "DEL":
            n = 0
            for k in args:
                n += d.pop(k, None) is not None
            return b":%d\r\n" % n
        if name == "EXISTS":
            return b":%d\r\n" % sum(k in d for k in args)
        if name == "MGET":
            return b"*%d\r\n" % len(args) + b"".join(bulk(d.get(k)) for k in args)
        if name == "PING":
            return b"+PONG\r\n" if not args else bulk(args[0])
        if name == "ECHO":
            return bulk(args[0])
        quoted = b"".join(b"'" + a + b"' " for a in args)
        return b"-ERR unknown command '" + cmd[0].encode() + b"', with args beginning with: " + quoted + b"\r\n"


def make_pipeline(rng, keys, n):
    """n commands (a MULTI block counts as its commands), and the model's replies for them."""
    cmds = []
    while len(cmds) < n:
        roll = rng.random()
        k = rng.choice(keys)
        if roll < 0.2:
            cmds.append(["SET", k, str(rng.randrange(100)) if rng.random() < 0.8 else f"s{rng.randrange(9)}"])
        elif roll < 0.4:
            cmds.append(["GET", k])
        elif roll < 0.55:
            cmds.append(["INCR", k])
        elif roll < 0.62:
            cmds.append(["DEL", *rng.sample(keys, rng.randint(1, 4))])
        elif roll < 0.7:
            cmds.append(["EXISTS", *[rng.choice(keys) for _ in range(rng.randint(1, 4))]])
        elif roll < 0.8:
            cmds.append(["MGET", *rng.sample(keys, rng.randint(1, 5))])
        elif roll < 0.85:
            cmds.append(["PING"] if rng.random() < 0.5 else ["PING", f"p{len(cmds)}"])
        elif roll < 0.88:
            cmds.append(["ECHO", f"e{len(cmds)}"])
        elif roll < 0.89:
            cmds.append(["NOSUCH", k])
        elif roll < 0.95:
            # A transaction inside the pipeline: its replies are +OK, +QUEUED..., then EXEC's array.
            body = []
            for _ in range(rng.randint(1, 4)):
                kk = rng.choice(keys)
                body.append(rng.choice([["SET", kk, str(rng.randrange(100))], ["INCR", kk], ["GET", kk],
                                        ["MGET", kk, rng.choice(keys)], ["DEL", kk]]))
            cmds.append(["MULTI"])
            cmds.extend(body)
            cmds.append(["EXEC"])
        else:
            cmds.append(["SET", k, str(rng.randrange(100))])
    return cmds


def expected_replies(model, cmds):
    out = []
    queued = None
    for c in cmds:
        if c[0] == "MULTI":
            queued = []
            out.append(b"+OK\r\n")
        elif c[0] == "EXEC":
            out.append(b"*%d\r\n" % len(queued) + b"".join(model.apply(q) for q in queued))
            queued = None
        elif queued is not None:
            queued.append(c)
            out.append(b"+QUEUED\r\n")
        else:
            out.append(model.apply(c))
    return out


def send_in_pieces(sock, data, rng):
    """Sends `data` in uneven pieces, so the server's reads end anywhere, mid-command included."""
    pos = 0
    while pos < len(data):
        n = rng.choice([1, 7, 100, 1500, 9000, 40000])
        sock.sendall(data[pos:pos + n])
        pos += n


def client(port, keys, seed, results):
    rng = random.Random(seed)
    model = Model()
    conn = Conn(port, timeout=60)
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bad = None
    total = 0
    try:
        conn.call("DEL", *keys)
        for rnd in range(ROUNDS):
            cmds = make_pipeline(rng, keys, PIPELINE)
            want = expected_replies(model, cmds)
            data = b"".join(encode(*c) for c in cmds)
            sender = threading.Thread(target=send_in_pieces, args=(conn.sock, data, random.Random(seed + rnd)))
            sender.start()
            for i, w in enumerate(want):
                got = conn.reader.reply()
                total += 1
                if got != w and bad is None:
                    bad = f"round {rnd}, reply {i} to {cmds[i]}: got {got!r}, model {w!r}"
            sender.join(60)
    except Exception as e:  # noqa: BLE001 (reported)
        bad = bad or repr(e)
    finally:
        conn.close()
    results[seed] = (bad, total)


def ordering(shards):
    kv = start_kv(KV, shards)
    results = {}
    threads = []
    for c in range(CLIENTS):
        # Each client has its own keys: on every shard, some sharing a hash tag (multi-key commands on one shard).
        own = [k for per in keys_by_shard(f"o{c}:", shards, 5) for k in per]
        own += [f"{{t{c}}}:{i}" for i in range(4)]
        threads.append(threading.Thread(target=client, args=(kv.port, own, 1000 * shards + c, results)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for seed, (bad, total) in sorted(results.items()):
        check(bad is None and total >= ROUNDS * PIPELINE,
              f"[{shards} shards] client {seed % 1000}: {total} replies in request order, as the model says", bad)
    check(len(results) == CLIENTS, f"[{shards} shards] every client finished")
    code = kv.stop()
    check(code == 0, f"percore-kv ({shards} shards) exits 0 on SIGTERM (got {code})")


def against_redis():
    """One pipeline, the same bytes to both servers: the same reply bytes (checks the model as well)."""
    kv, redis = start_kv(KV, 3), start_redis()
    rng = random.Random(7)
    keys = [k for per in keys_by_shard("r:", 3, 5) for k in per]
    cmds = make_pipeline(rng, keys, PIPELINE)
    got = []
    for srv in (kv, redis):
        c = Conn(srv.port)
        try:
            got.append(c.pipeline(cmds))
        except (OSError, ValueError) as e:
            got.append([repr(e)])
        c.close()
    first = next((i for i, (a, b) in enumerate(zip(*got)) if a != b), None)
    check(first is None, f"a {len(cmds)}-command pipeline on 3 shards: the same replies as redis",
          first is not None and f"reply {first} to {cmds[first]}: {got[0][first]!r} vs {got[1][first]!r}")
    check(got[1] == expected_replies(Model(), cmds), "the model agrees with redis")
    redis.stop()
    kv.stop()


def main():
    against_redis()
    for shards in (1, 3):
        ordering(shards)
    finish()


main()
