#!/usr/bin/env python3
"""percore-kv under hostile input, against redis-server where Redis's behaviour is deterministic: malformed RESP
of every kind, oversized requests, the query buffer limit, clients that send a byte a second, that never read,
that reset mid-command, 5000 connections, maxclients, AUTH and its limits, the idle timeout. Each gets Redis's
error or a close; the server keeps serving others; its RSS stays bounded.

usage: hostile_test.py PATH_TO_percore-kv [SECTION...]     (sections: the names in main(); default: all)
"""
import os
import re
import resource
import selectors
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import Conn, check, encode, finish, shard_of, start_kv, start_redis  # noqa: E402

KV = sys.argv[1]
QUIT = encode("QUIT")
# Under ASan freed memory waits in a quarantine (256 MiB by default) before reuse: RSS bounds are looser there.
with open(KV, "rb") as _f:
    _image = _f.read()
SANITIZED = b"AddressSanitizer" in _image or b"ThreadSanitizer" in _image
del _image


def exchange(port, data, quit=False, timeout=10):
    """Sends `data` (then QUIT) on a new connection and reads until the server closes it. Returns the bytes and
    how it ended: "eof", "reset", or "open" (not closed within `timeout`: a failure wherever it is checked)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data + (QUIT if quit else b""))
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed while we sent: what it replied is still readable
    out, how = b"", "eof"
    try:
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            out += chunk
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "open"
    s.close()
    return out, how


def closed(how):
    return how in ("eof", "reset")


def alive(server, what):
    """The server still answers another client."""
    try:
        ok = server.call("PING") == b"+PONG\r\n"
    except OSError as e:
        ok, what = False, f"{what}: {e}"
    return check(ok, f"{what}: the server still serves others")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def info_field(server, name):
    raw = server.call("INFO")
    m = re.search(rb"\r\n" + name.encode() + rb":(\d+)", raw)
    return int(m.group(1)) if m else None


def wait_until(condition, seconds=20, what="condition"):
    """Polls `condition` until it holds; False after `seconds` (a bound, not a measurement)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def reset_socket(s):
    """Closes with RST (SO_LINGER 0) instead of FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


# ------------------------------------------------------------------------------------------------ malformed

def big_header(n):
    return b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % n


# Requests Redis answers with a protocol error and a close, or (followed by QUIT) with replies: compared byte for
# byte, and both must close.
MALFORMED = [
    b"*x\r\n", b"*\r\n", b"*-\r\n", b"*01\r\n", b"*+1\r\n", b"* 1\r\n", b"*1 \r\n", b"*99999999999999999999\r\n",
    b"*2147483648\r\n",
    b"*1\r\nx\r\n", b"*1\r\n:1\r\n", b"*1\r\n\r\n", b"*2\r\n$3\r\nGET\r\nfoo\r\n",
    b"*1\r\n$x\r\n", b"*1\r\n$\r\n", b"*1\r\n$-1\r\n", b"*1\r\n$01\r\n", b"*1\r\n$ 4\r\n", b"*1\r\n$536870913\r\n",
    b"SET \"a\r\n", b"ECHO \"a\"b\r\n", b"ECHO 'a'b\r\n", b"ECHO \"a\\\"\r\n",
    b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n",                 # replies before the error come first
    b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n*1\r\n$x\r\n",
    b"X" * 65537,                                             # too big inline request
    b"*" + b"1" * 65537,                                      # too big mbulk count string
    b"*1\r\n$" + b"1" * 65537,                                # too big bulk count string
]
# Followed by QUIT: empty requests, skipped bytes, inline quoting (sdssplitargs), pipelines.
WELL_FORMED = [
    b"*0\r\n*-1\r\n*-5\r\n\r\n\n  \r\nPING\r\n",
    b"*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPING\r\n",
    b"PING\r\r\nPING\rPING\r\n",
    b"ECHO \"\\x41\\x4a\\x4g\"\r\nECHO \"\\n\\r\\t\\b\\a\\\\\\\"\\z\"\r\nECHO 'it\\'s' \r\nECHO \"\" \r\nECHO a\"b c\"\r\n",
    b"ECHO a\x0bb\r\nECHO  \t x\t\r\n",
    b"GET" + b" x" * 100 + b"\r\n",
    encode("SET", "k", "v" * 100000) + encode("GET", "k") + b"GET k\r\n",
    b"".join(encode("ECHO", str(i)) for i in range(2000)),
]


def malformed(kv, redis):
    for data in MALFORMED:
        a, how_a = exchange(kv.port, data)
        b, how_b = exchange(redis.port, data)
        check(a == b and closed(how_a) and closed(how_b), f"malformed {data[:40]!r}: Redis's error, then closed",
              f"percore-kv: {a[:200]!r} ({how_a})\n     redis:      {b[:200]!r} ({how_b})")
    for data in WELL_FORMED:
        a, how_a = exchange(kv.port, data, quit=True)
        b, how_b = exchange(redis.port, data, quit=True)
        check(a == b and closed(how_a), f"well formed {data[:40]!r}: the same replies as Redis",
              f"percore-kv: {a[:300]!r} ({how_a})\n     redis:      {b[:300]!r} ({how_b})")
    # Past max_args (1 Mi): refused at once (Redis waits for the arguments; it allows INT_MAX).
    a, how = exchange(kv.port, b"*1048577\r\n")
    check(a == b"-ERR Protocol error: invalid multibulk length\r\n" and closed(how), "past max_args: refused")
    alive(kv, "after malformed requests")


def limits(kv_binary):
    """--proto-max-bulk-len and --client-query-buffer-limit, each at Redis's smallest value (1mb)."""
    kv = start_kv(kv_binary, 1, "--proto-max-bulk-len", "1mb")
    redis = start_redis("--proto-max-bulk-len", "1mb")
    try:
        for data in (big_header(1048577), big_header(1048576) + b"v" * 1048576 + b"\r\n" + QUIT):
            a, how_a = exchange(kv.port, data)
            b, how_b = exchange(redis.port, data)
            check(a == b and closed(how_a), f"bulk limit 1mb, {data[:30]!r}...: as Redis",
                  f"percore-kv: {a[:200]!r} ({how_a})\n     redis:      {b[:200]!r} ({how_b})")
    finally:
        redis.stop()
        check(kv.stop() == 0, "percore-kv (bulk limit) exits 0 on SIGTERM")
    kv = start_kv(kv_binary, 1, "--client-query-buffer-limit", "1mb")
    redis = start_redis("--client-query-buffer-limit", "1mb")
    try:
        # A request that grows past the query buffer limit: closed without a reply.
        data = big_header(3000000) + b"v" * 1500000
        a, how_a = exchange(kv.port, data)
        b, how_b = exchange(redis.port, data)
        check(a == b"" and closed(how_a), f"past the query buffer limit: closed without a reply ({how_a})",
              f"percore-kv: {a[:200]!r}")
        check(b == b"" and closed(how_b), f"  (redis-server does the same: {how_b})")
        # Under it, arriving in pieces: served.
        s = Conn(kv.port)
        cmd = encode("SET", "k", b"w" * 900000)
        for i in range(0, len(cmd), 4096):
            s.send_raw(cmd[i:i + 4096])
        check(s.reader.reply() == b"+OK\r\n" and s.call("STRLEN", "k") == b":900000\r\n",
              "under the query buffer limit, in 4 KiB pieces: served")
        s.close()
        alive(kv, "after the query buffer limit")
    finally:
        redis.stop()
        check(kv.stop() == 0, "percore-kv (query buffer limit) exits 0 on SIGTERM")


# ------------------------------------------------------------------------------------------------ slow clients

def slow_clients(kv, n=20, delay=1.0):
    """n clients each send a PING a byte per `delay` seconds (a few seconds in all); meanwhile another client is
    served; then each gets its +PONG."""
    socks = [socket.create_connection(("127.0.0.1", kv.port), timeout=10) for _ in range(n)]
    request = b"PING\r\n"
    served_meanwhile = 0
    for i in range(len(request)):
        for s in socks:
            s.sendall(request[i:i + 1])
        # Not synchronisation: the pace of the hostile client. Others are served between its bytes.
        end = time.monotonic() + delay
        while time.monotonic() < end:
            served_meanwhile += kv.call("PING") == b"+PONG\r\n"
    replies = []
    for s in socks:
        r = b""
        try:
            while len(r) < 7:
                chunk = s.recv(64)
                if not chunk:
                    break
                r += chunk
        except OSError:
            pass
        replies.append(r)
        s.close()
    check(all(r == b"+PONG\r\n" for r in replies), f"{n} clients sending a byte a second each get +PONG",
          f"{[r for r in replies if r != b'+PONG']!r:.200}")
    check(served_meanwhile > 0, f"others were served meanwhile ({served_meanwhile} PINGs)")


# ------------------------------------------------------------------------------------------------ never reads

def never_reads_cross_shard(kv):
    """The same with MGETs of two keys on different shards: commands that run alone (outside the per-shard
    batches) must also hand their replies out within the budget (they piled up for the whole read before: +578 MiB
    for 300 MGETs)."""
    never_reads(kv, gets=300, cross_shard=True)


def never_reads(kv, clients=4, value_size=1 << 20, gets=1000, cross_shard=False):
    """Clients that pipeline GETs of large values and never read: the server's RSS stays bounded.

    Per such connection the server holds at most: the session's output for a window, ~256 KiB (its reply
    budget) plus one reply; replies run on other shards and not yet delivered, the same again per shard; the
    send queue, max_unsent (1 MiB) plus a 64 KiB slice; unread input, max_unread (256 KiB). About 4 MiB here
    (1 MiB values, 2 shards). The kernel's socket buffers (tcp_wmem, up to 4 MiB) are not in the process's RSS.
    """
    setter = kv.connect()
    keys = [f"big:{i}" for i in range(8)]  # spread over the shards
    for k in keys:
        setter.call("SET", k, os.urandom(value_size // 2).hex())
    setter.close()
    before = rss_kib(kv.proc.pid)
    out_before = info_field(kv, "total_net_output_bytes")
    hogs = []
    for c in range(clients):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.connect(("127.0.0.1", kv.port))
        s.setblocking(False)
        hogs.append(s)
    if cross_shard:
        pairs = [(a, b) for a in keys for b in keys if shard_of(a, 2) != shard_of(b, 2)]
        check(len(pairs) > 0, "keys on both shards")
        pipeline = b"".join(encode("MGET", *pairs[i % len(pairs)]) for i in range(gets))
    else:
        pipeline = b"".join(encode("GET", keys[i % len(keys)]) for i in range(gets))
    pending = {s: pipeline for s in hogs}
    peak = before
    # Send what the server takes (it stops reading once its replies back up); sample RSS meanwhile. Wait until
    # the server has produced a reply for each client (an unbounded server has run every GET it read by then).
    answering = True

    def produced():
        nonlocal answering
        try:
            return info_field(kv, "total_net_output_bytes") - out_before >= clients * value_size
        except OSError:  # no answer within the connection's timeout (10 s)
            answering = False
            return False

    deadline = time.monotonic() + 30
    while answering and time.monotonic() < deadline:
        for s, rest in list(pending.items()):
            try:
                n = s.send(rest)
                pending[s] = rest[n:]
            except BlockingIOError:
                pass
        peak = max(peak, rss_kib(kv.proc.pid))
        if produced():
            break
        time.sleep(0.02)
    peak = max(peak, rss_kib(kv.proc.pid))
    what = "MGETs across shards" if cross_shard else "GETs"
    check(answering, f"the server answers others while clients never read ({what})")
    check(answering and produced(), f"the server ran {what} for the clients that never read")
    # And a while longer: whatever it still runs, it runs while they still do not read.
    for _ in range(50 if answering else 0):
        peak = max(peak, rss_kib(kv.proc.pid))
        kv.call("PING")
        time.sleep(0.02)
    grown = (peak - before) / 1024
    total = clients * gets * value_size * (2 if cross_shard else 1) / 2**20
    print(f"     RSS {before / 1024:.1f} MiB before, {peak / 1024:.1f} MiB at most: +{grown:.1f} MiB for {clients} "
          f"clients that never read {total:.0f} MiB of replies", flush=True)
    # Measured: +20..30 MiB (per-thread malloc arenas and receive ring slots touched for the first time vary).
    bound = 400 if SANITIZED else 64
    check(grown < bound, f"RSS stays bounded ({what}): +{grown:.1f} MiB (bound {bound} MiB; unbounded: {total:.0f} MiB)")
    for s in hogs:
        reset_socket(s)
    if answering:
        check(wait_until(lambda: info_field(kv, "connected_clients") == 1), "the clients that never read are gone")
        alive(kv, "after clients that never read")


def big_pipeline_in_order(kv):
    """A window whose replies exceed the budget many times over, on several shards: every reply comes back, in
    order, to a client that reads."""
    c = kv.connect()
    values = {}
    for i in range(12):
        k = f"val:{i}"
        values[k] = (f"{i:02d}" * 100000).encode()  # 200 KB each, distinct
        c.call("SET", k, values[k])
    order = [f"val:{(i * 7) % 12}" for i in range(300)]
    cmds = []
    for i, k in enumerate(order):
        cmds.append(["GET", k])
        if i % 50 == 0:
            cmds.append(["PING"])
    replies = c.pipeline(cmds)
    expected = []
    for cmd in cmds:
        expected.append(b"+PONG\r\n" if cmd[0] == "PING" else b"$%d\r\n%s\r\n" % (len(values[cmd[1]]),
                                                                                  values[cmd[1]]))
    check(replies == expected, f"{len(cmds)} pipelined GETs of 200 KB values on several shards: all, in order")
    c.close()


def many_arguments(kv, clients=16, n=1000000):
    """Requests of a million arguments, then idle connections: the server keeps no room for them afterwards.
    (It kept ~47 MiB per connection: 750 MiB here. What remains is malloc keeping about one request's peak per
    shard thread's arena for reuse, whatever the number of connections: measured +50..60 MiB.)"""
    kv.call("SET", "k", "v")
    request = b"*%d\r\n$6\r\nEXISTS\r\n" % (n + 1) + b"$1\r\nk\r\n" * n
    before = rss_kib(kv.proc.pid)
    conns = [kv.connect() for _ in range(clients)]
    replies = []
    for c in conns:
        c.send_raw(request)
        replies.append(c.reader.reply())
    after = rss_kib(kv.proc.pid)
    check(all(r == b":%d\r\n" % n for r in replies), f"{clients} requests of {n} arguments: served")
    grown = (after - before) / 1024
    print(f"     RSS +{grown:.1f} MiB with {clients} idle connections that each sent {len(request) >> 20} MiB "
          f"of {n} arguments", flush=True)
    bound = 400 if SANITIZED else 128
    check(grown < bound, f"after requests of many arguments, idle connections hold little: +{grown:.1f} MiB "
          f"(bound {bound} MiB)")
    for c in conns:
        c.close()


# ------------------------------------------------------------------------------------------------ resets

def resets(kv, rounds=40):
    """Clients that reset (RST) half-way through a command, or while a large reply is on its way."""
    big = b"x" * 300000
    kv.call("SET", "big", big)
    for i in range(rounds):
        s = socket.create_connection(("127.0.0.1", kv.port), timeout=10)
        if i % 4 == 0:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$7\r\nhalfset\r\n$100000\r\n" + b"v" * 50000)
        elif i % 4 == 1:
            s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbi")
        elif i % 4 == 2:
            s.sendall(encode("GET", "big") * 20)  # replies on their way
        else:
            s.sendall(encode("SET", "halfset2", "v") + b"*3\r\n$3\r\nSET")
        reset_socket(s)
    check(kv.call("EXISTS", "halfset") == b":0\r\n", "a command cut by a reset is not run")
    check(kv.call("STRLEN", "big") == b":300000\r\n", "a reset during replies leaves the data alone")
    check(wait_until(lambda: info_field(kv, "connected_clients") == 1), "reset connections are gone")
    alive(kv, "after resets")


# ------------------------------------------------------------------------------------------------ many clients

def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def many_connections(kv, n):
    """n connections at once, each served a PING."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", kv.port), timeout=20)
        socks.append(s)
    sel = selectors.DefaultSelector()
    for s in socks:
        s.sendall(b"PING\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
    done = 0
    deadline = time.monotonic() + 60
    while done < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            try:
                chunk = key.fileobj.recv(64)
            except BlockingIOError:
                continue
            key.data.extend(chunk)
            if len(key.data) >= 7 or not chunk:
                sel.unregister(key.fileobj)
                done += key.data == b"+PONG\r\n"
    check(done == n, f"{n} connections at once: each served ({done})")
    alive(kv, f"with {n} connections open")
    for s in socks:
        s.close()
    check(wait_until(lambda: info_field(kv, "connected_clients") == 1, 60), f"the {n} connections are gone")


def maxclients(kv_binary):
    """Past --maxclients: Redis's error at once, then closed; the others are served."""
    limit, extra = 50, 10
    kv = start_kv(kv_binary, 1, "--maxclients", str(limit))
    redis = start_redis("--maxclients", str(limit))
    try:
        for name, srv in (("percore-kv", kv), ("redis", redis)):
            socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(limit - 1 + extra)]
            replies = []
            for s in socks:
                s.sendall(b"PING\r\n")
            for s in socks:
                r = b""
                try:
                    while not r.endswith(b"\r\n"):
                        chunk = s.recv(64)
                        if not chunk:
                            break
                        r += chunk
                except OSError:
                    pass
                replies.append(r)
            ok = sum(r == b"+PONG\r\n" for r in replies)
            full = sum(r == b"-ERR max number of clients reached\r\n" for r in replies)
            check(ok == limit - 1 and full == extra,
                  f"{name}: maxclients {limit}: {ok} served, {full} told 'max number of clients reached'")
            for s in socks:
                s.close()
            check(wait_until(lambda: info_field(srv, "connected_clients") == 1), f"{name}: they are gone")
        # With room again, a new client is served.
        check(exchange(kv.port, b"PING\r\n", quit=True)[0] == b"+PONG\r\n+OK\r\n", "with room again: served")
    finally:
        redis.stop()
        check(kv.stop() == 0, "percore-kv (maxclients) exits 0 on SIGTERM")
    # Two shards: each admits its share; the total admitted never passes the limit.
    kv = start_kv(kv_binary, 2, "--maxclients", str(limit))
    try:
        socks = [socket.create_connection(("127.0.0.1", kv.port), timeout=10) for _ in range(limit + extra)]
        for s in socks:
            s.sendall(b"PING\r\n")
        served = 0
        for s in socks:
            r = b""
            try:
                while not r.endswith(b"\r\n"):
                    chunk = s.recv(64)
                    if not chunk:
                        break
                    r += chunk
            except OSError:
                pass
            served += r == b"+PONG\r\n"
            s.close()
        check(served <= limit - 1, f"2 shards, maxclients {limit}: at most {limit - 1} more served ({served})")
    finally:
        check(kv.stop() == 0, "percore-kv (maxclients, 2 shards) exits 0 on SIGTERM")


# ------------------------------------------------------------------------------------------------ auth, timeout

AUTH_SCENARIOS = [
    encode("PING") + encode("GET", "k") + encode("AUTH", "wrong") + encode("AUTH", "default", "wrong")
    + encode("AUTH", "a", "b", "c") + encode("HELLO", "3") + encode("SELECT", "0") + QUIT,
    b"*11\r\n",                                                 # unauthenticated multibulk length
    b"*1\r\n$16385\r\n",                                        # unauthenticated bulk length
    encode("ECHO", "x" * 16384) + b"*10\r\n" + b"$1\r\nx\r\n" * 10 + QUIT,  # the largest allowed: NOAUTH
    b"ECHO " + b"x" * 60000 + b"\r\n" + QUIT,                   # inline: only the line limit
    encode("AUTH", "secret") + encode("SET", "k", "v" * 20000) + encode("STRLEN", "k") + encode("MSET", *"abcdefghijkl")
    + encode("RESET") + encode("GET", "k") + b"*11\r\n",        # AUTH lifts the limits; RESET brings them back
    encode("AUTH", "default", "secret") + encode("GET", "k") + QUIT,
    encode("MULTI") + encode("AUTH", "secret") + encode("PING") + QUIT,
]


def auth(kv_binary):
    kv = start_kv(kv_binary, 1, "--requirepass", "secret")
    redis = start_redis("--requirepass", "secret")
    try:
        for data in AUTH_SCENARIOS:
            a, how_a = exchange(kv.port, data)
            b, how_b = exchange(redis.port, data)
            check(a == b and closed(how_a), f"requirepass: {data[:50]!r}: as Redis",
                  f"percore-kv: {a[:300]!r} ({how_a})\n     redis:      {b[:300]!r} ({how_b})")
        a, how = exchange(kv.port, encode("HELLO", "3", "AUTH", "default", "secret") + QUIT)
        check(a.startswith(b"%7\r\n") and closed(how), "HELLO 3 AUTH default secret: authenticated, RESP3")
    finally:
        redis.stop()
        check(kv.stop() == 0, "percore-kv (requirepass) exits 0 on SIGTERM")


def idle_timeout(kv_binary):
    """--timeout: an idle client, one stopped mid-command, and one that stops taking its replies are closed."""
    kv = start_kv(kv_binary, 1, "--timeout", "1")
    redis = start_redis("--timeout", "1")
    try:
        for name, srv in (("percore-kv", kv), ("redis", redis)):
            a, how = exchange(srv.port, b"", timeout=20)
            check(a == b"" and closed(how), f"{name}: an idle client is closed without a reply ({how})")
            a, how = exchange(srv.port, b"*2\r\n$4\r\nECHO\r\n$3\r\nab", timeout=20)
            check(a == b"" and closed(how), f"{name}: a client idle mid-command is closed ({how})")
        # The main connection stayed idle as long: reconnect.
        kv.conn = kv.connect()
        kv.call("SET", "big", "x" * (1 << 20))
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.connect(("127.0.0.1", kv.port))
        s.sendall(encode("GET", "big") * 50)
        check(wait_until(lambda: info_field(kv, "connected_clients") == 1, 20),
              "percore-kv: a client that stops taking its replies is closed after the timeout")
        s.close()
    finally:
        redis.stop()
        check(kv.stop() == 0, "percore-kv (timeout) exits 0 on SIGTERM")


def main():
    only = set(sys.argv[2:])
    # never_reads before many_arguments: the memory malloc keeps after a huge request would hide its growth.
    on_shared = [malformed, big_pipeline_in_order, resets, slow_clients, never_reads, never_reads_cross_shard,
                 many_arguments, many_connections]
    on_their_own = [limits, maxclients, auth, idle_timeout]
    if only - {f.__name__ for f in on_shared + on_their_own}:
        sys.exit(f"unknown sections: {only}")
    want = [f for f in on_shared if not only or f.__name__ in only]
    if want:
        have = raise_nofile(5000 + 200)  # before the server starts: it inherits the limit
        kv = start_kv(KV, 2)
        redis = start_redis()
        try:
            for f in want:
                if f is malformed:
                    f(kv, redis)
                elif f is many_connections:
                    n = min(5000, have - 100)
                    check(n == 5000, f"RLIMIT_NOFILE allows 5000 connections (soft limit {have})")
                    f(kv, n)
                else:
                    f(kv)
        finally:
            redis.stop()
            check(kv.stop() == 0, "percore-kv (2 shards) exits 0 on SIGTERM")
    for f in on_their_own:
        if not only or f.__name__ in only:
            f(KV)
    finish()


main()
