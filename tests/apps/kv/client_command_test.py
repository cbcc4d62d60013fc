#!/usr/bin/env python3
"""CLIENT on percore-kv (3 shards) against redis-server 7.0: LIST and INFO (Redis's fields in Redis's order, real
values), LIST ID/TYPE, KILL by address, ID, LADDR, TYPE, USER and SKIPME across shards (the killed connection is
really closed), NO-EVICT, SETNAME/GETNAME/SETINFO, and the error texts.

usage: client_command_test.py PATH_TO_percore-kv
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from introspect import decode, wait_until  # noqa: E402
from kvtest import Servers, check, finish, same  # noqa: E402

KV = sys.argv[1]
SHARDS = 3
OUR_EXTRA_FIELDS = ["lib-name", "lib-ver"]  # CLIENT SETINFO's (Redis 7.2), after Redis 7.0's fields


def fields(line):
    """A CLIENT LIST line as an ordered list of (name, value)."""
    return [tuple(f.split("=", 1)) for f in line.strip().split(" ")]


def lines(server_or_conn, *args):
    text = decode(server_or_conn.call("CLIENT", "LIST", *args))
    return [dict(fields(x)) for x in text.split("\n") if x]


def own_info(conn):
    return dict(fields(decode(conn.call("CLIENT", "INFO"))))


def closed(conn):
    """Whether the server closed `conn` (EOF or reset), without waiting long."""
    try:
        conn.sock.settimeout(0.05)
        return conn.sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def by_shard(server, per_shard):
    """Connections, `per_shard` on each shard (a client ID is a multiple of the shard count plus its shard)."""
    found = [[] for _ in range(SHARDS)]
    spare = []
    while any(len(f) < per_shard for f in found):
        c = server.connect()
        shard = decode(c.call("CLIENT", "ID")) % SHARDS
        (found[shard] if len(found[shard]) < per_shard else spare).append(c)
    for c in spare:
        c.close()
    # Closed connections leave the server a moment later: wait until only ours (and the test's own) are left.
    want = 1 + SHARDS * per_shard
    check(wait_until(lambda: len(lines(server)) == want), f"{want} connections, {per_shard} on each shard")
    return found


def test_fields(s):
    ours, theirs = own_info(s.kv.conn), own_info(s.redis.conn)
    check(list(ours) == list(theirs) + OUR_EXTRA_FIELDS, "CLIENT INFO: Redis 7.0's fields, in its order",
          f"\n     percore-kv: {list(ours)}\n     redis:      {list(theirs)}")
    listed = decode(s.kv.call("CLIENT", "LIST")).split("\n")[0]
    check([k for k, _ in fields(listed)] == list(ours), "CLIENT LIST: the same fields as CLIENT INFO")
    sock = s.kv.conn.sock
    me = "%s:%d" % sock.getsockname()
    check(ours["id"] == str(decode(s.kv.call("CLIENT", "ID"))) and ours["addr"] == me and
          ours["laddr"] == "127.0.0.1:%d" % s.kv.port and int(ours["fd"]) > 0, "CLIENT INFO: id, addr, laddr, fd")
    check(ours["cmd"] == theirs["cmd"] == "client|info" and ours["flags"] == "N" and ours["multi"] == "-1" and
          ours["db"] == "0" and ours["user"] == "default" and ours["resp"] == "2", "CLIENT INFO: cmd, flags, db, resp")
    for srv in (s.kv, s.redis):
        srv.call("CLIENT", "SETNAME", "alpha")
        srv.call("HELLO", "3")
    ours, theirs = own_info(s.kv.conn), own_info(s.redis.conn)
    check(ours["name"] == theirs["name"] == "alpha" and ours["resp"] == theirs["resp"] == "3",
          "CLIENT INFO: name and resp follow SETNAME and HELLO")
    check(s.kv.call("CLIENT", "INFO").startswith(b"=") and s.kv.call("CLIENT", "LIST").startswith(b"="),
          "CLIENT INFO and LIST in RESP3: verbatim strings")
    for srv in (s.kv, s.redis):
        srv.call("HELLO", "2")
        srv.call("CLIENT", "SETNAME", "")
    s.kv.call("CLIENT", "SETINFO", "lib-name", "pylib")
    check(own_info(s.kv.conn)["lib-name"] == "pylib", "CLIENT SETINFO lib-name shows in CLIENT INFO")
    # Another connection's transaction, seen from here: flags x (and e), the queued count, its last command.
    seen = []
    for srv in (s.kv, s.redis):
        c = srv.connect()
        cid = str(decode(c.call("CLIENT", "ID")))
        c.call("CLIENT", "NO-EVICT", "on")
        c.call("MULTI")
        c.call("SET", "a", "1")
        c.call("GET", "a")
        seen.append([x for x in lines(srv) if x["id"] == cid][0])
        c.close()
    ours, theirs = seen
    check([ours[f] for f in ("flags", "multi", "cmd")] == [theirs[f] for f in ("flags", "multi", "cmd")] ==
          ["xe", "2", "get"], "CLIENT LIST: flags, multi and cmd of a client in MULTI with NO-EVICT",
          f"{ours} vs {theirs}")
    check(int(ours["multi-mem"]) > 0 and int(ours["tot-mem"]) > 0, "CLIENT LIST: multi-mem and tot-mem")


def test_list_filters(s, conns):
    everyone = lines(s.kv)
    ids = sorted(int(x["id"]) for x in everyone)
    check({i % SHARDS for i in ids} == set(range(SHARDS)), "CLIENT LIST: connections of every shard")
    pick = [str(decode(conns[sh][0].call("CLIENT", "ID"))) for sh in range(SHARDS)]
    got = sorted(x["id"] for x in lines(s.kv, "ID", *pick, "99999"))
    check(got == sorted(pick), "CLIENT LIST ID: exactly those, from every shard", f"{got} vs {pick}")
    check(len(lines(s.kv, "TYPE", "normal")) == len(everyone) and lines(s.kv, "TYPE", "pubsub") == [] and
          lines(s.kv, "TYPE", "replica") == [] and lines(s.kv, "TYPE", "MASTER") == [], "CLIENT LIST TYPE")
    for cmd in (["CLIENT", "LIST", "TYPE", "foo"], ["CLIENT", "LIST", "ID", "x"], ["CLIENT", "LIST", "ID"],
                ["CLIENT", "LIST", "ID", "1", "TYPE", "normal"], ["CLIENT", "LIST", "FOO"], ["CLIENT", "LIST", "TYPE"],
                ["CLIENT", "LIST", "ID", "0"], ["CLIENT", "LIST", "TYPE", "pubsub"]):
        same(s, cmd)


def test_kill(s):
    conns = by_shard(s.kv, 3)
    test_list_filters(s, conns)
    killer = conns[0][0]
    # By ID, a connection on each other shard.
    for shard in (1, 2):
        victim = conns[shard].pop()
        vid = decode(victim.call("CLIENT", "ID"))
        check(killer.call("CLIENT", "KILL", "ID", str(vid)) == b":1\r\n", f"CLIENT KILL ID (shard {shard})")
        check(wait_until(lambda: closed(victim)), f"CLIENT KILL ID: the connection on shard {shard} is closed")
        check(wait_until(lambda: all(x["id"] != str(vid) for x in lines(killer))), "... and gone from CLIENT LIST")
    # By address: the new form counts, the old one says OK.
    victim = conns[1].pop()
    addr = "%s:%d" % victim.sock.getsockname()
    check(killer.call("CLIENT", "KILL", "ADDR", addr, "SKIPME", "yes") == b":1\r\n", "CLIENT KILL ADDR")
    check(wait_until(lambda: closed(victim)), "CLIENT KILL ADDR: closed")
    victim = conns[2].pop()
    addr = "%s:%d" % victim.sock.getsockname()
    check(killer.call("CLIENT", "KILL", addr) == b"+OK\r\n", "CLIENT KILL <addr> (the old form)")
    check(wait_until(lambda: closed(victim)), "CLIENT KILL <addr>: closed")
    check(killer.call("CLIENT", "KILL", addr) == b"-ERR No such client\r\n", "CLIENT KILL <addr> of nobody")
    # Filters that match nobody, and errors as Redis words them.
    for cmd in (["CLIENT", "KILL", "TYPE", "pubsub"], ["CLIENT", "KILL", "TYPE", "master"],
                ["CLIENT", "KILL", "ID", "99999"], ["CLIENT", "KILL", "ID", "x"], ["CLIENT", "KILL", "ID", "0"],
                ["CLIENT", "KILL", "TYPE", "foo"], ["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "maybe"],
                ["CLIENT", "KILL", "USER", "nobody"], ["CLIENT", "KILL", "FOO", "bar"], ["CLIENT", "KILL", "a", "b", "c"],
                ["CLIENT", "KILL", "ADDR"], ["CLIENT", "KILL", "1.2.3.4:5"], ["CLIENT", "KILL"]):
        same(s, cmd)
    # LADDR (everyone came to the same address) and SKIPME: all but the killer, over every shard.
    others = [c for cs in conns for c in cs if c is not killer]
    total = len(lines(killer))
    r = killer.call("CLIENT", "KILL", "LADDR", "127.0.0.1:%d" % s.kv.port, "USER", "default")
    check(r == b":%d\r\n" % (total - 1), "CLIENT KILL LADDR: every other connection", f"{r} of {total}")
    check(wait_until(lambda: all(closed(c) for c in others)), "CLIENT KILL LADDR: all closed")
    check(wait_until(lambda: len(lines(killer)) == 1), "CLIENT LIST: only the killer is left")
    # SKIPME no: the killer goes too, after its reply.
    check(killer.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no") == b":1\r\n",
          "CLIENT KILL SKIPME no: replies before closing")
    check(wait_until(lambda: closed(killer)), "CLIENT KILL SKIPME no: then closes")
    s.kv.conn = s.kv.connect()
    for c in (c for cs in conns for c in cs):
        c.close()


def test_simple(s):
    for cmd in (["CLIENT", "SETNAME", "a b"], ["CLIENT", "SETNAME", "x"], ["CLIENT", "GETNAME"],
                ["CLIENT", "SETNAME", ""], ["CLIENT", "GETNAME"], ["CLIENT", "ID", "x"], ["CLIENT", "INFO", "x"],
                ["CLIENT", "FOO"], ["CLIENT"], ["CLIENT", "HELP", "x"], ["CLIENT", "NO-EVICT", "maybe"],
                ["CLIENT", "NO-EVICT", "ON"], ["CLIENT", "NO-EVICT", "off"], ["CLIENT", "NO-EVICT"],
                ["CLIENT", "GETNAME", "x"], ["CLIENT", "SETNAME"]):
        same(s, cmd)
    ours, theirs = decode(s.kv.call("CLIENT", "HELP")), decode(s.redis.call("CLIENT", "HELP"))
    check(ours[0] == theirs[0] and all(isinstance(x, str) for x in ours), "CLIENT HELP: simple strings")
    # In a transaction, a bad subcommand is refused when queued and fails EXEC, as in Redis.
    replies = []
    for srv in (s.kv, s.redis):
        replies.append([srv.call(*c) for c in (["MULTI"], ["CLIENT", "NOSUCH"], ["CLIENT", "ID", "x"], ["EXEC"])])
    check(replies[0] == replies[1], "MULTI with bad CLIENT subcommands", f"{replies}")


def main():
    with Servers(KV, shards=SHARDS) as s:
        test_simple(s)
        test_fields(s)
        test_kill(s)
    finish()


main()
