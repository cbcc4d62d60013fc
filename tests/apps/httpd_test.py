#!/usr/bin/env python3
"""Runs percore-httpd on a free port and checks it with real clients: curl (files, HEAD, redirects, keep-alive,
traversal and symlink escapes, 404/405), wrk (no socket error, no non-2xx), a slowloris client, SIGTERM.

usage: httpd_test.py PATH_TO_percore-httpd [PATH_TO_percore-load]   (with percore-load: its http mode too)
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BINARY = sys.argv[1] if len(sys.argv) > 1 else "percore-httpd"
LOAD = sys.argv[2] if len(sys.argv) > 2 else None
ENGINE_FLAGS = ["--overprovision", "--stall-threshold-ms", "0", "--idle-poll-us", "0", "--reply-poll-us", "0"]
failures = []


def check(cond, what):
    print(f"{'ok' if cond else 'FAIL'}: {what}", flush=True)
    if not cond:
        failures.append(what)


class Httpd:
    """A running percore-httpd; its stderr is collected on a thread."""

    def __init__(self, *args, shards=2):
        self.proc = subprocess.Popen([BINARY, "--port", "0", "--shards", str(shards), *ENGINE_FLAGS, *args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.err = []
        self.listening = threading.Event()
        self.port = None
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        if not self.listening.wait(15):
            self.proc.kill()
            raise RuntimeError(f"percore-httpd did not say where it listens: {''.join(self.err)}")
        self.base = f"http://127.0.0.1:{self.port}"

    def _collect(self):
        for line in self.proc.stderr:
            self.err.append(line)
            m = re.search(r"percore-httpd: listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.listening.set()

    def stop(self, timeout=10):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if failures or exc[0] is not None:  # what the server said (a sanitizer's report) explains the failure
            self._collector.join(5)
            print(f"percore-httpd exited with {self.proc.returncode}; its stderr (last 200 lines):")
            print("".join(self.err[-200:]))


def curl(*args):
    """Runs curl; returns (exit code, stdout bytes, stderr text)."""
    p = subprocess.run(["curl", "-s", "--max-time", "20", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def status_of(url, *args):
    code, out, _ = curl("-o", "/dev/null", "-w", "%{http_code}", *args, url)
    return int(out or b"0") if code == 0 else -code


def make_root(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(os.path.join(root, "empty-dir"))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<h1>index</h1>\n")
    with open(os.path.join(root, "sub", "site.css"), "w") as f:
        f.write("body { color: red; }\n")
    with open(os.path.join(root, "sub", "index.html"), "w") as f:
        f.write("sub index\n")
    with open(os.path.join(root, "space name.txt"), "w") as f:
        f.write("spaces\n")
    big = os.urandom(3 * 1024 * 1024 + 17)  # streamed: larger than the cache's max file
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(big)
    with open(os.path.join(tmp, "secret.txt"), "w") as f:
        f.write("outside the root\n")
    os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(root, "escape.txt"))
    os.symlink("sub/site.css", os.path.join(root, "inside.css"))
    return root, big


def test_files(srv, root, big):
    code, out, _ = curl(srv.base + "/hello")
    check(code == 0 and out == b"Hello, World!\n", "curl /hello")
    code, out, _ = curl("-i", srv.base + "/index.html")
    check(code == 0 and b"\r\nContent-Type: text/html; charset=utf-8\r\n" in out and out.endswith(b"<h1>index</h1>\n"),
          "curl /index.html: body and content type")
    code, out, _ = curl(srv.base + "/")
    check(out == b"<h1>index</h1>\n", "/ serves index.html")
    code, out, _ = curl("-i", srv.base + "/sub")
    check(out.startswith(b"HTTP/1.1 301") and b"\r\nLocation: /sub/\r\n" in out, "a directory without / redirects")
    code, out, _ = curl("-L", srv.base + "/sub")
    check(out == b"sub index\n", "curl -L follows to the directory's index.html")
    code, out, _ = curl("-i", srv.base + "/sub/site.css")
    check(b"Content-Type: text/css; charset=utf-8" in out and out.endswith(b"body { color: red; }\n"), "css")
    code, out, _ = curl(srv.base + "/space%20name.txt")
    check(out == b"spaces\n", "percent-encoded names")
    code, out, _ = curl(srv.base + "/big.bin")
    check(code == 0 and out == big, "a 3 MiB file streamed from storage arrives intact")
    code, out, _ = curl("-I", srv.base + "/big.bin")
    check(f"Content-Length: {len(big)}".encode() in out, "HEAD of the big file: its Content-Length, no body")
    check(status_of(srv.base + "/missing.txt") == 404, "404 for a missing file")
    check(status_of(srv.base + "/empty-dir/") == 403, "403 for a directory without an index (no listing)")
    check(status_of(srv.base + "/no-such-dir/") == 404, "404 for a directory that does not exist")
    check(status_of(srv.base + "/hello", "-X", "POST") == 405, "405 for POST /hello")
    code, out, _ = curl("-i", "-X", "DELETE", srv.base + "/index.html")
    check(out.startswith(b"HTTP/1.1 405") and b"Allow: GET, HEAD" in out, "405 names the allowed methods")
    check(status_of(srv.base + "/../secret.txt", "--path-as-is") == 403, "'..' is refused")
    check(status_of(srv.base + "/sub/%2e%2e/%2e%2e/secret.txt", "--path-as-is") == 403, "encoded '..' is refused")
    check(status_of(srv.base + "/escape.txt") == 403, "a symlink out of the root is refused")
    code, out, _ = curl(srv.base + "/inside.css")
    check(out == b"body { color: red; }\n", "a symlink within the root is served")
    check(status_of(srv.base + "/bad%zz") == 400, "a malformed escape is 400")
    # keep-alive: curl reuses one connection for several URLs
    code, out, err = curl("-v", srv.base + "/hello", srv.base + "/index.html", srv.base + "/sub/site.css")
    check(code == 0 and err.count("Re-using existing connection") + err.count("Reusing existing connection") == 2,
          "curl keeps the connection alive across three requests")
    # HTTP/1.0
    code, out, _ = curl("-0", "-i", srv.base + "/hello")
    check(out.startswith(b"HTTP/1.1 200") and out.endswith(b"Hello, World!\n"), "HTTP/1.0 request")
    # chunked upload to a route that does not take POST: 405 after the body was read, connection usable
    code, out, _ = curl("-i", "-X", "POST", "-H", "Transfer-Encoding: chunked", "--data-binary", "x" * 1000,
                        srv.base + "/hello")
    check(out.startswith(b"HTTP/1.1 405"), "a chunked upload is read and answered")
    code, out, _ = curl("-i", "-H", "Expect: 100-continue", "--data-binary", "y" * 2000, srv.base + "/hello")
    check(b"HTTP/1.1 100 Continue" in out and b"HTTP/1.1 405" in out, "Expect: 100-continue gets 100 Continue")


def test_cache_refresh(srv, root):
    path = os.path.join(root, "changing.txt")
    with open(path, "w") as f:
        f.write("first\n")
    _, out, _ = curl(srv.base + "/changing.txt")
    check(out == b"first\n", "a new file is served")
    with open(path, "w") as f:
        f.write("second\n")
    time.sleep(0.5)  # past --file-cache-ttl-ms 100 on every shard
    seen = set(curl(srv.base + "/changing.txt")[1] for _ in range(6))
    check(seen == {b"second\n"}, f"an edited file is served once its cache entry expired: {seen}")


def test_wrk(srv):
    for path in ["/hello", "/index.html", "/sub/site.css"]:
        p = subprocess.run(["wrk", "-t", "2", "-c", "20", "-d", "2s", srv.base + path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        m = re.search(r"(\d+) requests in", p.stdout)
        ok = p.returncode == 0 and m and int(m.group(1)) > 0 and "Socket errors" not in p.stdout \
            and "Non-2xx" not in p.stdout
        check(bool(ok), f"wrk {path}: {m.group(1) if m else '?'} requests, no socket error, no non-2xx")
        if not ok:
            print(p.stdout)


def test_load_http_mode(srv):
    """percore-load http (scripts/bench http's open-loop client): closed and open loop, pipelined, no error."""
    import json
    for extra in ([], ["--rate", "500"], ["-P", "8"], ["--path", "/index.html"]):
        p = subprocess.run([LOAD, "http", "--port", str(srv.port), "-c", "10", "--duration", "1", "--warmup", "0",
                            "--shards", "1", "--json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
        o = json.loads(lines[-1]) if lines else {}
        check(p.returncode == 0 and o.get("errors") == 0 and o.get("messages", 0) > 0,
              f"percore-load http {' '.join(extra)}: {o.get('messages')} requests, {o.get('errors')} errors")
    p = subprocess.run([LOAD, "http", "--port", str(srv.port), "-c", "1", "--duration", "1", "--warmup", "0",
                        "--shards", "1", "--path", "/missing"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    check(p.returncode != 0 and "not a 200" in p.stdout + p.stderr, "percore-load http reports a non-200 reply")


def test_slowloris(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    got = b""
    try:
        for _ in range(200):  # a byte every 50 ms: every read is short, only the head's deadline ends it
            time.sleep(0.05)
            s.sendall(b"x")
    except OSError:
        pass
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except OSError:
        pass
    check(got.startswith(b"HTTP/1.1 408"), f"slowloris gets 408 and a close: {got[:40]!r}")
    s.close()


def test_sigterm_with_idle_connection(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
    check(s.recv(4096).startswith(b"HTTP/1.1 200"), "kept-alive connection answered")
    code = srv.stop(timeout=4)  # the drain timeout is 30 s: only closing idle connections makes this fast
    check(code == 0, f"SIGTERM with an idle kept-alive connection: exit {code}")
    check(s.recv(4096) == b"", "the idle connection was closed")
    s.close()


def main():
    tmp = tempfile.mkdtemp(prefix="percore-httpd-test.")
    try:
        root, big = make_root(tmp)
        with Httpd("--root", root, "--file-cache-ttl-ms", "100", "--file-cache-max-file", "65536",
                   "--header-timeout-ms", "500", "--drain-timeout-ms", "30000") as srv:
            test_files(srv, root, big)
            test_cache_refresh(srv, root)
            test_wrk(srv)
            if LOAD:
                test_load_http_mode(srv)
            test_slowloris(srv)
            test_sigterm_with_idle_connection(srv)
        p = subprocess.run([BINARY, "--port", "0", "--shards", "1", *ENGINE_FLAGS, "--root",
                            os.path.join(tmp, "does-not-exist")], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        check(p.returncode == 2 and "does-not-exist" in p.stderr, f"a missing --root is refused: {p.stderr.strip()}")
    finally:
        shutil.rmtree(tmp)
    if failures:
        print(f"{len(failures)} failed: {failures}")
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
