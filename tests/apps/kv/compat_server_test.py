#!/usr/bin/env python3
"""percore-kv's introspection against redis-server 7.0: COMMAND (INFO, DOCS, COUNT, LIST, GETKEYS...), INFO and
CONFIG, on 3 shards. COMMAND INFO must match Redis for every command both servers have, except the differences
listed below (and in apps/kv/README.md); INFO and CONFIG are compared by shape, field names and error texts.

usage: compat_server_test.py PATH_TO_percore-kv
"""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from introspect import Map, Set, decode, info, info_sections, wait_until  # noqa: E402
from kvtest import Servers, check, finish, same  # noqa: E402

KV = sys.argv[1]

# Documented differences (apps/kv/README.md, "Differences from Redis").
OWN_SUBCOMMANDS = {"client|setinfo"}  # Redis 7.2's, not 7.0's
OWN_INFO_FIELDS = {"Server": {"percore_version", "shards"},
                   "Persistence": {"percore_snapshot_keys_saved_before_a_write", "percore_snapshot_peak_pending_bytes"}}
OWN_SECTIONS = {"Shards"}
OUR_CLIENT_LIST_EXTRA = ["lib-name", "lib-ver"]


def call3(server, *args):
    """A command's decoded reply in RESP3 (sets and maps told apart from arrays)."""
    return decode(server.call(*args))


def without_notes(info_entry):
    """A COMMAND INFO entry with each key specification's notes replaced by a marker (their words are ours)."""
    e = list(info_entry)
    specs = []
    for spec in e[8]:
        specs.append(Map((k, "<notes>" if k == "notes" else v) for k, v in spec))
    e[8] = type(e[8])(specs)
    return e


def test_command_info(s, names, subcommands):
    """COMMAND INFO (RESP3) of every command both have: equal but for the notes' words and our subcommands; byte
    for byte when neither differs. \return the names compared byte for byte."""
    redis_all = set(decode(s.redis.call("COMMAND", "LIST")))
    exact = []
    for name in names:
        if name not in redis_all:
            check(False, f"COMMAND INFO {name}: redis has it", "percore-kv has a command Redis 7.0 lacks")
            continue
        ours, theirs = call3(s.kv, "COMMAND", "INFO", name)[0], call3(s.redis, "COMMAND", "INFO", name)[0]
        # Subcommands: ours must be Redis's (or documented); compare those both have, one by one.
        our_subs = {e[0]: e for e in ours[9]}
        their_subs = {e[0]: e for e in theirs[9]}
        if our_subs or their_subs:
            extra = set(our_subs) - set(their_subs) - OWN_SUBCOMMANDS
            check(our_subs and not extra, f"COMMAND INFO {name}: subcommands Redis has", f"extra: {extra}")
        for sub in sorted(set(our_subs) & set(their_subs)):
            check(our_subs[sub] == their_subs[sub], f"COMMAND INFO {name}: {sub}",
                  f"\n     percore-kv: {our_subs[sub]}\n     redis:      {their_subs[sub]}")
        ours[9], theirs[9] = Set(), Set()
        ok = check(without_notes(ours) == without_notes(theirs), f"COMMAND INFO {name}",
                   f"\n     percore-kv: {ours}\n     redis:      {theirs}")
        notes = any(k == "notes" for spec in ours[8] for k, _ in spec)
        if ok and not notes and not our_subs:
            exact.append(name)
            same(s, ["COMMAND", "INFO", name], what=f"COMMAND INFO {name}: byte for byte")
    # Subcommands asked for by name, in any case.
    for sub in subcommands:
        if sub not in OWN_SUBCOMMANDS:
            same(s, ["COMMAND", "INFO", sub.upper()], what=f"COMMAND INFO {sub.upper()}")
    same(s, ["COMMAND", "INFO", "get", "nosuch", "client|nosuch", "get|x", "|list", "MGET"])
    return exact


def test_command_docs(s, names):
    for name in names:
        ours = call3(s.kv, "COMMAND", "DOCS", name)
        theirs = call3(s.redis, "COMMAND", "DOCS", name)
        if not check(ours.keys() == theirs.keys() == [name], f"COMMAND DOCS {name}: one entry, named {name}",
                     f"{ours.keys()} vs {theirs.keys()}"):
            continue
        od, td = ours.get(name), theirs.get(name)
        for field in ("summary", "since", "group", "complexity"):
            check(od.get(field), f"COMMAND DOCS {name}: has {field}")
        check(od.get("since") == td.get("since") and od.get("group") == td.get("group"),
              f"COMMAND DOCS {name}: since and group as Redis's", f"{od} vs {td}")
        for field in ("doc_flags", "deprecated_since"):
            check(od.get(field) == td.get(field), f"COMMAND DOCS {name}: {field} as Redis's")
        check((od.get("replaced_by") is None) == (td.get("replaced_by") is None), f"COMMAND DOCS {name}: replaced_by")
        # history and arguments: not given (documented); nothing else may be missing or invented.
        missing = set(td.keys()) - set(od.keys()) - {"history", "arguments"}
        check(not missing and set(od.keys()) <= set(td.keys()), f"COMMAND DOCS {name}: the fields Redis gives",
              f"{od.keys()} vs {td.keys()}")
        if td.get("subcommands") is not None:
            osubs, tsubs = od.get("subcommands"), td.get("subcommands")
            check(set(osubs.keys()) - set(tsubs.keys()) <= OWN_SUBCOMMANDS, f"COMMAND DOCS {name}: subcommands")
            for sub, doc in osubs:
                if sub in OWN_SUBCOMMANDS:
                    continue
                t = tsubs.get(sub)
                check(doc.get("since") == t.get("since") and doc.get("group") == t.get("group") and
                      doc.get("summary") and doc.get("complexity"), f"COMMAND DOCS {name}: {sub}", f"{doc} vs {t}")
    all_docs = call3(s.kv, "COMMAND", "DOCS")
    check(sorted(all_docs.keys()) == sorted(names), "COMMAND DOCS without names documents every command")
    same(s, ["COMMAND", "DOCS", "nosuch"])
    d = call3(s.kv, "COMMAND", "DOCS", "CONFIG|GET", "nosuch", "get")
    check(d.keys() == ["config|get", "get"], "COMMAND DOCS config|get nosuch get", f"{d.keys()}")


def test_command_lists(s, names, all_names):
    count = decode(s.kv.call("COMMAND", "COUNT"))
    check(count == len(names) == len(call3(s.kv, "COMMAND")) == len(call3(s.kv, "COMMAND", "INFO")),
          "COMMAND COUNT = commands of COMMAND, of COMMAND INFO and of COMMAND LIST (subcommands aside)")
    check(len(set(all_names)) == len(all_names), "COMMAND LIST names each command once")
    ours = set(all_names)
    for filt in (["PATTERN", "get*"], ["PATTERN", "CLIENT|*"], ["pattern", "*x*"], ["ACLCAT", "connection"],
                 ["aclcat", "WRITE"], ["ACLCAT", "dangerous"], ["ACLCAT", "@read"], ["MODULE", "x"]):
        got = [n for n in decode(s.kv.call("COMMAND", "LIST", "FILTERBY", *filt)) if n not in OWN_SUBCOMMANDS]
        want = [n for n in decode(s.redis.call("COMMAND", "LIST", "FILTERBY", *filt)) if n in ours]
        check(sorted(got) == sorted(want), f"COMMAND LIST FILTERBY {' '.join(filt)}", f"{sorted(got)} vs {sorted(want)}")
    for cmd in (["COMMAND", "LIST", "FILTERBY"], ["COMMAND", "LIST", "FILTERBY", "FOO", "x"], ["COMMAND", "LIST", "x"],
                ["COMMAND", "COUNT", "x"], ["COMMAND", "FOO"], ["COMMAND", "GETKEYS"], ["COMMAND", "HELP", "x"],
                ["COMMAND", "INFO", "nosuch"]):
        same(s, cmd)
    ours_help, theirs_help = decode(s.kv.call("COMMAND", "HELP")), decode(s.redis.call("COMMAND", "HELP"))
    check(all(isinstance(x, str) for x in ours_help) and ours_help[0] == theirs_help[0],
          "COMMAND HELP: simple strings, Redis's first line")


GETKEYS = [
    ["get", "a"], ["GET", "a"], ["set", "a", "1"], ["set", "a", "1", "GET"], ["mset", "a", "1", "b", "2"],
    ["mget", "a", "b", "c"], ["del", "a", "b"], ["rename", "a", "b"], ["renamenx", "a", "b"],
    ["copy", "a", "b", "REPLACE"], ["watch", "a", "b"], ["getex", "a", "PERSIST"], ["msetnx", "a", "1"],
    ["lpush", "l", "x"], ["sinter", "a", "b"], ["zrangebyscore", "z", "0", "1"], ["exists", "a", "a"],
    # errors
    ["nosuch", "a"], ["get"], ["get", "a", "b"], ["ping"], ["client", "list"], ["config", "get", "x"],
    ["client", "nosuch"], ["config", "set", "x"], ["dbsize"], ["keys", "*"], ["echo", "a", "b"], ["dbsize", "x"],
]


def test_getkeys(s, names):
    for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
        for cmd in GETKEYS:
            if cmd[0].lower() in names or cmd[0] == "nosuch":  # the aggregate families may not be there yet
                same(s, ["COMMAND", sub, *cmd])


INFO_FIELDS = {
    "Server": ["redis_version", "redis_mode", "os", "arch_bits", "monotonic_clock", "multiplexing_api", "process_id",
               "process_supervised", "run_id", "tcp_port", "server_time_usec", "uptime_in_seconds", "uptime_in_days",
               "hz", "configured_hz", "executable", "config_file", "io_threads_active"],
    "Clients": ["connected_clients", "cluster_connections", "maxclients", "blocked_clients", "tracking_clients",
                "clients_in_timeout_table"],
    "Memory": ["used_memory", "used_memory_human", "used_memory_rss", "used_memory_rss_human", "used_memory_dataset",
               "total_system_memory", "total_system_memory_human", "maxmemory", "maxmemory_human",
               "maxmemory_policy", "mem_allocator", "lazyfree_pending_objects", "lazyfreed_objects"],
    "Persistence": ["loading", "async_loading", "rdb_changes_since_last_save", "rdb_bgsave_in_progress",
                    "rdb_last_save_time", "rdb_last_bgsave_status", "rdb_last_bgsave_time_sec",
                    "rdb_current_bgsave_time_sec", "rdb_saves", "aof_enabled", "aof_rewrite_in_progress",
                    "aof_rewrite_scheduled", "aof_last_rewrite_time_sec", "aof_current_rewrite_time_sec",
                    "aof_last_bgrewrite_status", "aof_rewrites", "aof_last_write_status"],
    "Stats": ["total_connections_received", "total_commands_processed", "total_net_input_bytes",
              "total_net_output_bytes", "total_net_repl_input_bytes", "total_net_repl_output_bytes",
              "rejected_connections", "sync_full", "sync_partial_ok", "sync_partial_err", "expired_keys",
              "evicted_keys", "evicted_clients", "keyspace_hits", "keyspace_misses", "pubsub_channels",
              "pubsub_patterns", "pubsubshard_channels", "latest_fork_usec", "total_forks", "total_reads_processed",
              "total_writes_processed", "io_threaded_reads_processed", "io_threaded_writes_processed"],
    "Replication": ["role", "connected_slaves", "master_failover_state", "master_replid", "master_replid2",
                    "master_repl_offset", "second_repl_offset", "repl_backlog_active",
                    "repl_backlog_first_byte_offset", "repl_backlog_histlen"],
    "CPU": ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children"],
    "Cluster": ["cluster_enabled"],
    "Keyspace": ["db0"],
}


def test_info_fields(s):
    s.kv.call("SET", "k", "v")
    s.redis.call("SET", "k", "v")
    ours, theirs = info(s.kv, "everything"), info(s.redis, "everything")
    for section, fields in INFO_FIELDS.items():
        missing = [f for f in fields if f not in ours.get(section, {}) or f not in theirs.get(section, {})]
        check(not missing, f"INFO {section}: {len(fields)} fields in both servers", f"missing: {missing}")
        invented = set(ours.get(section, {})) - set(theirs.get(section, {})) - OWN_INFO_FIELDS.get(section, set())
        check(not invented, f"INFO {section}: no field Redis does not have", f"{invented}")
    check(set(ours) - set(theirs) == OWN_SECTIONS, "INFO everything: Redis's sections and Shards",
          f"{list(ours)} vs {list(theirs)}")
    order = [t for t in theirs if t in ours]
    check([t for t in ours if t not in OWN_SECTIONS] == order, "INFO: sections in Redis's order")
    check(ours["Server"]["redis_version"] == "7.0.15" and ours["Replication"]["role"] == "master",
          "INFO: redis_version 7.0.15, role master")
    check(ours["Server"]["tcp_port"] == str(s.kv.port), "INFO: tcp_port is the port")
    for name, title in [("server", "Server"), ("CLIENTS", "Clients"), ("memory", "Memory"), ("stats", "Stats"),
                        ("persistence", "Persistence"), ("replication", "Replication"), ("cpu", "CPU"),
                        ("keyspace", "Keyspace"), ("cluster", "Cluster")]:
        got, want = list(info(s.kv, name)), list(info(s.redis, name))
        check(got == want == [title], f"INFO {name}: that section only", f"{got} vs {want}")
    check(list(info(s.kv, "cpu", "Clients", "cpu")) == list(info(s.redis, "cpu", "Clients", "cpu")) ==
          ["Clients", "CPU"], "INFO cpu Clients cpu: both, once, in Redis's order")
    check(list(info(s.kv, "shards")) == ["Shards"], "INFO shards: the per-shard section")
    for arg in ([], ["default"], ["all"]):
        got, want = list(info(s.kv, *arg)), list(info(s.redis, *arg))
        check(set(got) - OWN_SECTIONS <= set(want) and "Keyspace" in got, f"INFO {' '.join(arg)}: Redis's sections",
              f"{got} vs {want}")
    same(s, ["INFO", "nosuchsection"])
    raw = s.kv.call("INFO", "server")
    check(raw.endswith(b"\r\n\r\n") and not raw.endswith(b"\r\n\r\n\r\n"), "INFO: ends with its last line")
    s.kv.call("HELLO", "3")
    check(s.kv.call("INFO").startswith(b"=") and b"txt:# Server\r\n" in s.kv.call("INFO"),
          "INFO in RESP3: a verbatim string of format txt")
    s.kv.call("HELLO", "2")


def test_info_moves(s):
    s.flush()
    before = info(s.kv, "stats")["Stats"]
    for i in range(40):
        s.kv.call("SET", f"key{i}", "v")  # over every shard
    s.kv.call("SET", "ttl", "v", "EX", "100")
    s.kv.call("GET", "key1")
    s.kv.call("GET", "nope")
    s.kv.call("DBSIZE")
    after = info(s.kv)
    n = int(after["Stats"]["total_commands_processed"]) - int(before["total_commands_processed"])
    check(n >= 45, "INFO: total_commands_processed counts every command (keyed, global, INFO)", f"{n}")
    check(after["Keyspace"].get("db0") == "keys=41,expires=1,avg_ttl=0", "INFO: db0 keys= and expires=",
          f"{after['Keyspace']}")
    check(int(after["Stats"]["keyspace_hits"]) > int(before["keyspace_hits"]) and
          int(after["Stats"]["keyspace_misses"]) > int(before["keyspace_misses"]), "INFO: keyspace hits and misses")
    shards = after["Shards"]
    check(sorted(shards) == ["shard0", "shard1", "shard2"], "INFO Shards: one line per shard")
    per = [dict(kv.split("=") for kv in shards[f"shard{i}"].split(",")) for i in range(3)]
    check(sum(int(p["keys"]) for p in per) == 41 and all(int(p["keys"]) > 0 for p in per),
          "INFO Shards: keys split over the 3 shards, summing to db0's")
    check(all({"expires", "used_memory", "clients", "commands", "bus_sent", "bus_processed", "used_cpu_user"} <= set(p)
              for p in per), "INFO Shards: keys, expires, memory, clients, commands, bus messages, CPU")
    bus_before = sum(int(p["bus_sent"]) for p in per)
    for i in range(20):
        s.kv.call("GET", f"key{i}")  # most live on another shard than the connection's
    per2 = [dict(kv.split("=") for kv in info(s.kv, "shards")["Shards"][f"shard{i}"].split(",")) for i in range(3)]
    check(sum(int(p["bus_sent"]) for p in per2) > bus_before, "INFO Shards: bus messages move with remote keys")
    def connected():
        return int(info(s.kv, "clients")["Clients"]["connected_clients"])

    clients = 1  # the test's own connection (the start-up probes may take a moment to leave)
    check(wait_until(lambda: connected() == clients), "INFO: connected_clients is 1")
    extra = [s.kv.connect() for _ in range(4)]
    for c in extra:
        c.call("PING")
    check(connected() == clients + 4, "INFO: connected_clients grows")
    for c in extra:
        c.close()
    check(wait_until(lambda: connected() == clients), "INFO: connected_clients falls when they leave")
    check(s.kv.call("CONFIG", "RESETSTAT") == b"+OK\r\n", "CONFIG RESETSTAT")
    reset = info(s.kv, "stats")["Stats"]
    check(int(reset["total_commands_processed"]) <= 2 and reset["keyspace_hits"] == "0" and
          reset["keyspace_misses"] == "0", "CONFIG RESETSTAT zeroes the counters", f"{reset}")


CONFIG_SAME = [
    ["CONFIG", "GET", "save"], ["CONFIG", "GET", "appendonly"], ["CONFIG", "GET", "databases"],
    ["CONFIG", "GET", "nosuch"], ["CONFIG", "GET"], ["CONFIG", "SET", "maxmemory"], ["CONFIG", "SET", "a", "b", "c"],
    ["CONFIG", "SET", "nosuch", "1"], ["CONFIG", "SET", "NOSUCH", "1"], ["CONFIG", "SET", "maxmemory", "abc"],
    ["CONFIG", "SET", "MAXMEMORY", "1.5mb"], ["CONFIG", "SET", "maxmemory", "-1"],
    ["CONFIG", "SET", "maxmemory", "1mb", "maxmemory", "2mb"], ["CONFIG", "SET", "hz", "x", "hz", "2"],
    ["CONFIG", "SET", "maxmemory", "abc", "nosuch", "1"], ["CONFIG", "SET", "maxmemory", "abc", "databases", "1"],
    ["CONFIG", "SET", "DATABASES", "2"], ["CONFIG", "SET", "cluster-enabled", "no"],
    ["CONFIG", "SET", "dir", "/tmp"], ["CONFIG", "SET", "maxclients", "x"], ["CONFIG", "SET", "maxclients", "0"],
    ["CONFIG", "SET", "maxclients", "99999999999"], ["CONFIG", "SET", "maxmemory-samples", "0"],
    ["CONFIG", "SET", "maxmemory-samples", "05"], ["CONFIG", "SET", "timeout", "-1"],
    ["CONFIG", "SET", "timeout", "1k"], ["CONFIG", "SET", "hz", "-1"], ["CONFIG", "SET", "proto-max-bulk-len", "1"],
    ["CONFIG", "SET", "proto-max-bulk-len", "abc"], ["CONFIG", "SET", "client-query-buffer-limit", "1"],
    ["CONFIG", "SET", "appendonly", "maybe"], ["CONFIG", "SET", "save", ""], ["CONFIG", "SET", "appendonly", "no"],
    ["CONFIG", "REWRITE"], ["CONFIG", "REWRITE", "x"], ["CONFIG", "RESETSTAT", "x"], ["CONFIG", "FOO"], ["CONFIG"],
    ["CONFIG", "HELP", "x"],
    # values that both servers hold alike
    ["CONFIG", "SET", "hz", "0"], ["CONFIG", "GET", "hz"], ["CONFIG", "SET", "hz", "1000"], ["CONFIG", "GET", "HZ"],
    ["CONFIG", "SET", "hz", "10"], ["CONFIG", "SET", "maxmemory", "1k"], ["CONFIG", "GET", "maxmemory"],
    ["CONFIG", "SET", "maxmemory", "1KB", "maxmemory-policy", "ALLKEYS-LRU"],
    ["CONFIG", "GET", "maxmemory", "maxmemory-policy"], ["CONFIG", "SET", "maxmemory", "0"],
    ["CONFIG", "SET", "maxmemory-policy", "noeviction"], ["CONFIG", "GET", "MaxMemory", "maxmemory"],
    ["CONFIG", "SET", "timeout", "0", "maxmemory-samples", "5"], ["CONFIG", "GET", "timeout", "maxmemory-samples"],
]


def config_map(server, *args):
    v = decode(server.call("CONFIG", "GET", *args))
    return dict(v) if isinstance(v, Map) else dict(zip(v[0::2], v[1::2]))


def test_config(s):
    for cmd in CONFIG_SAME:
        same(s, cmd)
    s.kv.call("HELLO", "3")
    s.redis.call("HELLO", "3")
    for cmd in (["CONFIG", "GET", "save"], ["CONFIG", "GET", "appendonly", "nosuch"], ["CONFIG", "GET", "HZ"]):
        same(s, cmd, what="RESP3 " + " ".join(cmd))
    s.kv.call("HELLO", "2")
    s.redis.call("HELLO", "2")
    # Patterns: each name we give is one Redis gives for the same pattern (values differ: our own settings).
    for pats in (["maxmemory*"], ["*"], ["max*", "MAXMEMORY"], ["*timeout*", "hz"], ["*-limit", "proto*"],
                 ["[ab]*"], ["?z"]):
        ours, theirs = config_map(s.kv, *pats), config_map(s.redis, *pats)
        check(ours and set(ours) <= set(theirs), f"CONFIG GET {' '.join(pats)}: names Redis has too",
              f"{sorted(set(ours) - set(theirs))}")
    check(set(config_map(s.kv, "max*", "MAXMEMORY")) == {"maxmemory", "maxmemory-policy", "maxmemory-samples",
                                                          "maxclients"}, "CONFIG GET max* MAXMEMORY: once each")
    # redis-benchmark's questions.
    check(s.kv.call("CONFIG", "GET", "save") == b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n" and
          s.kv.call("CONFIG", "GET", "appendonly") == b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
          "CONFIG GET save / appendonly as redis-benchmark reads them")


def test_config_every_shard(s):
    # Connections until one is on each shard (a client ID is a multiple of the shard count plus its shard).
    conns = {}
    while len(conns) < 3:
        c = s.kv.connect()
        shard = decode(c.call("CLIENT", "ID")) % 3
        conns.setdefault(shard, c)
    check(s.kv.call("CONFIG", "SET", "maxmemory", "10mb", "maxclients", "500", "hz", "20") == b"+OK\r\n",
          "CONFIG SET of three settings at once")
    seen = [config_map(c, "maxmemory", "maxclients", "hz") for c in conns.values()]
    check(all(v == {"maxmemory": "10485760", "maxclients": "500", "hz": "20"} for v in seen),
          "CONFIG SET reaches every shard", f"{seen}")
    r = s.kv.call("CONFIG", "SET", "maxmemory", "20mb", "hz", "abc")
    check(r.startswith(b"-ERR CONFIG SET failed (possibly related to argument 'hz')"), "CONFIG SET with a bad value")
    seen = [config_map(c, "maxmemory", "hz") for c in conns.values()]
    check(all(v == {"maxmemory": "10485760", "hz": "20"} for v in seen), "CONFIG SET is all or nothing", f"{seen}")
    # proto-max-bulk-len reaches connections already open, on every shard.
    s.kv.call("CONFIG", "SET", "proto-max-bulk-len", "1mb")
    s.redis.call("CONFIG", "SET", "proto-max-bulk-len", "1mb")
    big = b"*2\r\n$4\r\nECHO\r\n$2000000\r\n"
    for shard, c in conns.items():
        c.send_raw(big)
        check(c.reader.reply() == b"-ERR Protocol error: invalid bulk length\r\n",
              f"proto-max-bulk-len applies to an open connection on shard {shard}")
    r = s.redis.connect()
    r.send_raw(big)
    check(r.reader.reply() == b"-ERR Protocol error: invalid bulk length\r\n", "redis: the same error")
    # A string is at most 4 GiB - 1 here (Redis: 2^63): larger limits are refused, not silently truncated.
    check(s.kv.call("CONFIG", "SET", "proto-max-bulk-len", "4294967295") == b"+OK\r\n", "proto-max-bulk-len 4 GiB - 1")
    check(s.kv.call("CONFIG", "SET", "proto-max-bulk-len", "8gb") ==
          b"-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between "
          b"1048576 and 4294967295 inclusive\r\n", "proto-max-bulk-len past 4 GiB - 1 is refused")
    s.kv.call("CONFIG", "SET", "maxmemory", "0", "maxclients", "10000", "hz", "10", "proto-max-bulk-len", "512mb")
    s.redis.call("CONFIG", "SET", "proto-max-bulk-len", "512mb")
    # requirepass: new connections must AUTH, the open ones stay authenticated.
    s.kv.call("CONFIG", "SET", "requirepass", "secret")
    fresh = s.kv.connect()
    check(fresh.call("GET", "x").startswith(b"-NOAUTH"), "CONFIG SET requirepass: a new connection must AUTH")
    check(fresh.call("AUTH", "secret") == b"+OK\r\n", "CONFIG SET requirepass: AUTH with it")
    check(s.kv.call("CONFIG", "SET", "requirepass", "") == b"+OK\r\n", "an open connection keeps working")
    # timeout reaches connections already waiting for a request, on every shard.
    s.kv.call("CONFIG", "SET", "timeout", "1")

    def closed(c):
        try:
            c.sock.settimeout(0.05)
            return c.sock.recv(1) == b""
        except TimeoutError:
            return False
        except OSError:
            return True

    check(wait_until(lambda: all(closed(c) for c in conns.values())),
          "CONFIG SET timeout closes connections that were already idle")
    s.kv.conn = s.kv.connect()  # the test's own connection was idle too
    s.kv.call("CONFIG", "SET", "timeout", "0")


def main():
    with Servers(KV, shards=3) as s:
        all_names = decode(s.kv.call("COMMAND", "LIST"))
        names = sorted(n for n in all_names if "|" not in n)
        subs = sorted(n for n in all_names if "|" in n)
        s.kv.call("HELLO", "3")
        s.redis.call("HELLO", "3")
        exact = test_command_info(s, names, subs)
        check(len(exact) >= len(names) - 5, f"COMMAND INFO: {len(exact)} of {len(names)} commands byte for byte")
        test_command_docs(s, names)
        test_command_lists(s, names, all_names)
        s.kv.call("HELLO", "2")
        s.redis.call("HELLO", "2")
        for name in exact:
            same(s, ["COMMAND", "INFO", name], what=f"RESP2 COMMAND INFO {name}: byte for byte")
        for sub in subs:
            if sub not in OWN_SUBCOMMANDS:
                same(s, ["COMMAND", "INFO", sub], what=f"RESP2 COMMAND INFO {sub}")
        test_getkeys(s, names)
        s.kv.call("HELLO", "3")
        s.redis.call("HELLO", "3")
        test_getkeys(s, names)
        s.kv.call("HELLO", "2")
        s.redis.call("HELLO", "2")
        test_info_fields(s)
        test_info_moves(s)
        test_config(s)
        test_config_every_shard(s)
    finish()


main()
