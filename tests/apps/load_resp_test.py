#!/usr/bin/env python3
"""percore-load's resp mode against fake RESP servers in Python and against the real redis-server, on loopback.

usage: load_resp_test.py PATH_TO_percore-load

Checks: against a correct fake server, a run of every command exits 0 with per-command counts in --json; -n N
sends exactly N commands in the weighted cycle's proportions; keys are key:<12 digits> (counter: for INCR) from
the key space, MSET keys share a tag with --hash-tag; every writer stores the same value for a key. A server that
corrupts a GET value, answers -ERR, answers with the wrong type, breaks the framing or stops answering makes
percore-load report errors and exit 1 in bounded time; AUTH is sent when asked; bad flags exit 2. Then a run
against redis-server (Debian's, started here on a free port) verifies every reply, GETs find SET's values, and
a value written by another client is reported.
"""
import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

ENGINE = ["--stall-threshold-ms", "0", "--idle-poll-us", "0", "--reply-poll-us", "0"]
KEYS = {"mode", "connections", "size", "depth", "duration_s", "messages", "msgs_per_s", "mb_per_s", "p50_us",
        "p90_us", "p99_us", "p999_us", "max_us", "errors", "commands"}
failures = []


def check(ok, what, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def run_load(load, port, *args, timeout=60):
    cmd = [load, "resp", "--address", "127.0.0.1", "--port", str(port), "--shards", "1", *ENGINE, *args]
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return out, time.monotonic() - start


def parse_json(out):
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    if len(lines) != 1:
        return None
    try:
        return json.loads(lines[0])
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------ a fake server
class FakeRedis(socketserver.ThreadingTCPServer):
    """Speaks enough RESP for percore-load: PING SET GET INCR MSET DEL AUTH, kept in a dict. Faults:
    corrupt_get (flip a byte of every GET value after the first 5 GETs), error_on ("SET": answer it -ERR),
    wrong_type ("SET": answer :1), break_after (after N commands, answer the next GET with a short payload and
    close), mute_after (stop answering after N commands), password (AUTH required)."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, **faults):
        self.faults = faults
        self.data = {}
        self.commands = []  # (name, args) of every command, in arrival order
        self.values = {}  # key -> set of values written
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), FakeHandler)


class FakeHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(30)
        self.buf = b""
        authed = "password" not in self.server.faults
        try:
            while True:
                args = self.read_command()
                if args is None:
                    return
                reply = self.answer(args, authed)
                if reply is None:
                    continue  # muted
                if args[0].upper() == b"AUTH" and reply == b"+OK\r\n":
                    authed = True
                self.request.sendall(reply)
                if self.server.faults.get("_closing"):
                    return
        except OSError:
            pass

    def fill(self):
        chunk = self.request.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_command(self):
        try:
            head = self.line()
            assert head[:1] == b"*", head
            args = []
            for _ in range(int(head[1:])):
                n = int(self.line()[1:])
                while len(self.buf) < n + 2:
                    self.fill()
                args.append(self.buf[:n])
                self.buf = self.buf[n + 2:]
            return args
        except EOFError:
            return None

    def answer(self, args, authed):
        f, s = self.server.faults, self.server
        name = args[0].upper().decode()
        with s.lock:
            s.commands.append((name, args[1:]))
            count = len(s.commands)
            if "mute_after" in f and count > f["mute_after"]:
                return None
            if name == "AUTH":
                return b"+OK\r\n" if args[1].decode() == f.get("password") else b"-WRONGPASS invalid password\r\n"
            if not authed:
                return b"-NOAUTH Authentication required.\r\n"
            if f.get("error_on") == name:
                return b"-ERR injected failure\r\n"
            if f.get("wrong_type") == name:
                return b":1\r\n"
            if name == "PING":
                return b"+PONG\r\n"
            if name in ("SET", "MSET"):
                for k, v in zip(args[1::2], args[2::2]):
                    s.data[k] = v
                    s.values.setdefault(k, set()).add(v)
                return b"+OK\r\n"
            if name == "GET":
                v = s.data.get(args[1])
                if "break_after" in f and count > f["break_after"]:
                    f["_closing"] = True
                    return b"$%d\r\nab\r\n" % (len(v) if v else 5)
                if v is None:
                    return b"$-1\r\n"
                s.gets = getattr(s, "gets", 0) + 1
                if f.get("corrupt_get") and s.gets > 5:
                    v = v[:1] + bytes([v[1] ^ 0x20]) + v[2:]
                return b"$%d\r\n%s\r\n" % (len(v), v)
            if name == "INCR":
                n = int(s.data.get(args[1], b"0")) + 1
                s.data[args[1]] = str(n).encode()
                return b":%d\r\n" % n
            if name == "DEL":
                return b":%d\r\n" % (1 if s.data.pop(args[1], None) is not None else 0)
            return b"-ERR unknown command\r\n"


def with_fake(body, **faults):
    server = FakeRedis(**faults)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        body(server, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------ the checks
def fake_server_checks(load):
    def clean(server, port):
        out, took = run_load(load, port, "-t", "set,get,incr,mset,del,ping", "-r", "50", "-c", "3", "-P", "4",
                             "-d", "7", "--duration", "1", "--warmup", "0.2", "--json")
        result = parse_json(out)
        check(out.returncode == 0, "every command against a correct server exits 0",
              f"exit {out.returncode}: {out.stderr}")
        if not check(result is not None and set(result) == KEYS, "one JSON object: the echo keys plus commands",
                     out.stdout):
            return
        cmds = result["commands"]
        check(list(cmds) == ["set", "get", "incr", "mset", "del", "ping"], "per-command counts in -t order", cmds)
        check(all(c["requests"] > 0 and c["errors"] == 0 for c in cmds.values()), "every command was measured",
              cmds)
        check(sum(c["requests"] for c in cmds.values()) == result["messages"], "per-command counts add up",
              out.stdout)
        check(result["mode"] == "resp" and result["size"] == 7 and result["errors"] == 0, "mode, size, no errors",
              out.stdout)
        check(took < 15, "the clean run ends on time", f"{took:.1f} s")
        with server.lock:
            keys = [a[0] for n, a in server.commands if n in ("SET", "GET", "DEL")]
            counters = [a[0] for n, a in server.commands if n == "INCR"]
            msets = [a for n, a in server.commands if n == "MSET"]
            values = dict(server.values)
        check(all(re.fullmatch(rb"key:\d{12}", k) and int(k[4:]) < 50 for k in keys),
              "keys are key:<12 digits> below -r", keys[:5])
        check(len(set(keys)) == 50, "keys are drawn from the whole key space", len(set(keys)))
        check(all(re.fullmatch(rb"counter:\d{12}", k) for k in counters), "INCR keys are counter:<12 digits>",
              counters[:5])
        check(all(len(a) == 20 for a in msets), "MSET carries 10 keys and values by default", len(msets[0]))
        check(all(len(v) == 1 and len(next(iter(v))) == 7 for v in values.values()),
              "every writer stores the same -d byte value for a key", list(values.items())[:3])

    with_fake(clean)

    def counted(server, port):
        out, _ = run_load(load, port, "-t", "set:1,get:3", "-r", "1000000", "-c", "1", "-n", "400", "--json")
        result = parse_json(out)
        with server.lock:
            names = [n for n, _ in server.commands]
        check(out.returncode == 0 and result is not None and result["messages"] == 400,
              "-n 400 measures exactly 400", out.stdout + out.stderr)
        check(len(names) == 400 and names.count("SET") == 100 and names.count("GET") == 300,
              "-t set:1,get:3 sends them 1:3", f"{len(names)} commands, {names.count('SET')} SET")
        check(names[:8] == ["SET", "GET", "GET", "GET"] * 2, "the mix is a cycle in -t order", names[:8])
        if result:
            check(result["commands"]["get"]["nil"] > 0, "GETs of keys never set count as nil", out.stdout)

    with_fake(counted)

    def tagged(server, port):
        out, _ = run_load(load, port, "-t", "mset", "--hash-tag", "--mset-keys", "4", "-r", "1000", "-c", "2",
                          "-n", "50")
        with server.lock:
            msets = [a for n, a in server.commands if n == "MSET"]
        tags = [{re.fullmatch(rb"key:\{(\d{4})\}:\d{12}", k).group(1) for k in a[0::2]} for a in msets]
        check(out.returncode == 0 and len(msets) == 50 and all(len(a) == 8 for a in msets),
              "--mset-keys 4 sends 4 pairs", out.stderr)
        check(all(len(t) == 1 for t in tags) and len({next(iter(t)) for t in tags}) > 1,
              "--hash-tag: one tag per MSET, drawn per request", tags[:5])

    with_fake(tagged)

    def corrupted(server, port):
        out, took = run_load(load, port, "-t", "set,get", "-r", "5", "-c", "2", "--duration", "1", "--warmup", "0",
                             "--json")
        result = parse_json(out)
        check(out.returncode == 1, "a corrupted GET value exits 1", f"exit {out.returncode}: {out.stderr}")
        check(result is not None and result["commands"]["get"]["errors"] > 0 and result["messages"] > 0,
              "corrupted values are counted on GET and the connections go on", out.stdout)
        check("value byte 1 of 3" in out.stderr, "the corrupted byte is described", out.stderr)
        check(took < 15, "the corrupted run ends on time", f"{took:.1f} s")

    with_fake(corrupted, corrupt_get=True)

    def server_error(server, port):
        out, _ = run_load(load, port, "-t", "set,get", "-c", "1", "-n", "20", "--json")
        result = parse_json(out)
        check(out.returncode == 1 and result is not None and result["commands"]["set"]["errors"] == 10
              and result["commands"]["get"]["requests"] == 10, "-ERR replies are counted per command, exit 1",
              out.stdout + out.stderr)
        check('server error "ERR injected failure"' in out.stderr, "the server's error is shown", out.stderr)

    with_fake(server_error, error_on="SET")

    def wrong_type(server, port):
        out, _ = run_load(load, port, "-t", "set", "-c", "1", "-n", "5")
        check(out.returncode == 1 and 'the reply ":1" is not +OK' in out.stderr, "a reply of the wrong type is an "
              "error", out.stderr)

    with_fake(wrong_type, wrong_type="SET")

    def broken(server, port):
        out, took = run_load(load, port, "-t", "set,get", "-c", "1", "-r", "1", "--duration", "1", "--warmup", "0")
        check(out.returncode == 1 and "not followed by CRLF" in out.stderr, "a broken bulk payload ends the "
              "connection with an error", out.stderr)
        check(took < 10, "the broken run ends on time", f"{took:.1f} s")

    with_fake(broken, break_after=6)

    def muted(server, port):
        out, took = run_load(load, port, "-c", "2", "--duration", "1", "--warmup", "0", "--timeout-ms", "300",
                             "--json")
        result = parse_json(out)
        check(out.returncode == 1 and result is not None and result["errors"] >= 2,
              "a server that stops answering gives errors and exit 1", out.stdout + out.stderr)
        check("no reply within 300 ms" in out.stderr, "the timeout is described", out.stderr)
        check(took < 10, "the stalled run ends on time", f"{took:.1f} s")

    with_fake(muted, mute_after=10)

    def auth(server, port):
        out, _ = run_load(load, port, "--auth", "s3cret", "-c", "2", "-n", "10")
        with server.lock:
            auths = [a for n, a in server.commands if n == "AUTH"]
        check(out.returncode == 0 and auths == [[b"s3cret"]] * 2, "--auth authenticates every connection",
              f"{auths} {out.stderr}")
        out, _ = run_load(load, port, "--auth", "wrong", "-c", "2", "-n", "10")
        check(out.returncode == 1 and "AUTH: the server answered \"-WRONGPASS" in out.stderr,
              "a refused AUTH exits 1 and says why", out.stderr)

    with_fake(auth, password="s3cret")

    port = free_port()
    for bad in (["-t", "foo"], ["-t", "set:0"], ["-t", "set,set"], ["-r", "0"], ["--mset-keys", "0"]):
        out, _ = run_load(load, port, *bad, "-n", "1")
        check(out.returncode == 2, f"bad flag {' '.join(bad)} exits 2", f"exit {out.returncode}: {out.stderr}")


def start_redis(tmp):
    redis = shutil.which("redis-server")
    if redis is None:
        return None, None
    port = free_port()
    proc = subprocess.Popen([redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def redis_checks(load):
    tmp = tempfile.mkdtemp(prefix="load-resp-")
    proc, port = start_redis(tmp)
    if proc is None:
        print("SKIP redis-server is not installed (scripts/setup installs it)")
        return
    try:
        out, _ = run_load(load, port, "-t", "set,get,incr,mset,del,ping", "-r", "1000", "-c", "8", "-P", "16",
                          "--duration", "1", "--warmup", "0.2", "--json")
        result = parse_json(out)
        check(out.returncode == 0 and result is not None and result["errors"] == 0 and result["messages"] > 1000,
              "redis-server: every command verifies", out.stdout + out.stderr)
        out, _ = run_load(load, port, "-t", "get", "-r", "1000", "-c", "4", "-n", "2000", "--json")
        result = parse_json(out)
        check(out.returncode == 0 and result is not None and
              result["commands"]["get"]["nil"] < result["commands"]["get"]["requests"] == 2000,
              "redis-server: GETs find the values SET and MSET wrote", out.stdout + out.stderr)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000000\r\n$3\r\nxyz\r\n")
            check(s.recv(16) == b"+OK\r\n", "redis-server: SET from another client")
        out, _ = run_load(load, port, "-t", "get", "-c", "1", "-n", "3")
        check(out.returncode == 1 and "GET key:000000000000): value byte 0 of 3 is 'x'" in out.stderr,
              "redis-server: a value another client wrote is reported", out.stderr)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    load = sys.argv[1]
    fake_server_checks(load)
    redis_checks(load)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
