#!/usr/bin/env python3
"""percore-echo's /metrics and /healthz, checked with real tools: promtool accepts the exposition, the counters
match what the test did (connections accepted, bytes echoed), a real Prometheus server started here on loopback
scrapes it (up == 1) and sees a counter move, and --log-format json / --log-level filter the log lines.

Also percore-kv's own metrics (commands per command, keys, expired keys) after a known sequence of commands.

usage: metrics_test.py PATH_TO_percore-echo PATH_TO_promtool PATH_TO_prometheus PATH_TO_percore-kv
"""
import json
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
import urllib.error
import urllib.parse
import urllib.request

ECHO, PROMTOOL, PROMETHEUS, KV = sys.argv[1:5]
ENGINE_FLAGS = ["--overprovision", "--stall-threshold-ms", "0", "--idle-poll-us", "0", "--reply-poll-us", "0"]
failures = []


def check(cond, what):
    print(f"{'ok' if cond else 'FAIL'}: {what}", flush=True)
    if not cond:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10):
    """(status, content type, body) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


class Echo:
    """A running percore-echo with its metrics endpoint; stderr is collected on a thread."""

    def __init__(self, *args, shards=2, metrics=True):
        self.metrics_port = free_port() if metrics else None
        extra = ["--metrics-port", str(self.metrics_port)] if metrics else []
        self.proc = subprocess.Popen([ECHO, "--port", "0", "--shards", str(shards), *ENGINE_FLAGS, *extra, *args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.err = []
        self.listening = threading.Event()
        self.port = None
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        if not self.listening.wait(15):
            self.proc.kill()
            raise RuntimeError(f"percore-echo did not say where it listens: {''.join(self.err)}")

    def _collect(self):
        for line in self.proc.stderr:
            self.err.append(line)
            m = re.search(r"percore-echo: listening on \S+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.listening.set()

    def echo(self, payload):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            got = bytearray()
            while chunk := s.recv(65536):
                got += chunk
            return bytes(got)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self._collector.join(10)
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def samples(text, name):
    """{labels string: value} of the samples of `name` (exact metric name)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$", line)
        if m and m.group(1) == name:
            out[m.group(2) or ""] = float(m.group(3))
    return out


def total(text, name, having=""):
    return sum(v for labels, v in samples(text, name).items() if having in labels)


def test_endpoint_and_counters():
    with Echo() as e:
        status, _, body = http_get(e.metrics_port, "/healthz")
        check(status == 200, f"/healthz answers 200 (got {status})")
        status, ctype, text = http_get(e.metrics_port, "/metrics")
        check(status == 200, f"/metrics answers 200 (got {status})")
        check(ctype is not None and ctype.startswith("text/plain; version=0.0.4"),
              f"/metrics has the 0.0.4 text content type (got {ctype})")
        status, _, _ = http_get(e.metrics_port, "/nothing-here")
        check(status == 404, f"another path answers 404 (got {status})")

        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True,
                              timeout=60)
        check(lint.returncode == 0, f"promtool check metrics accepts /metrics ({lint.stdout}{lint.stderr})")

        for family in ["percore_reactor_tasks_run_total", "percore_reactor_run_queue_length",
                       "percore_reactor_busy_seconds_total", "percore_uring_sqes_submitted_total",
                       "percore_uring_cqes_reaped_total", "percore_uring_enter_calls_total", "percore_timers_armed",
                       "percore_stall_reports_total", "percore_bus_messages_sent_total",
                       "percore_bus_messages_received_total", "percore_bus_queue_depth_messages",
                       "percore_net_connections_open", "percore_net_connections_accepted_total",
                       "percore_net_connections_refused_total", "percore_net_received_bytes_total",
                       "percore_net_sent_bytes_total", "percore_net_recv_buffers_in_use",
                       "percore_net_recv_enobufs_total", "percore_echo_messages_total", "percore_echo_bytes_total"]:
            check(f"# TYPE {family} " in text, f"/metrics has {family}")
        shards = {re.search(r'shard="(\d+)"', l).group(1) for l in text.splitlines()
                  if l.startswith("percore_reactor_uptime_seconds_total")}
        check(shards == {"0", "1"}, f"every shard reports, labelled shard=\"N\" (saw {sorted(shards)})")

        before_accepted = total(text, "percore_net_connections_accepted_total", 'server="echo"')
        before_bytes = total(text, "percore_echo_bytes_total")
        check(before_accepted == 0 and before_bytes == 0, "nothing counted before the first echo client")
        n, size = 7, 3000
        for i in range(n):
            payload = bytes([i]) * size
            check(e.echo(payload) == payload, f"connection {i} echoed") if i == 0 else e.echo(payload)
        _, _, text = http_get(e.metrics_port, "/metrics")
        accepted = total(text, "percore_net_connections_accepted_total", 'server="echo"')
        echoed = total(text, "percore_echo_bytes_total")
        check(accepted == n, f"exactly {n} connections accepted by server=\"echo\" (got {accepted})")
        check(echoed == n * size, f"exactly {n * size} bytes echoed (got {echoed})")
        check(total(text, "percore_net_connections_open", 'server="echo"') == 0, "no echo connection left open")
        check(total(text, "percore_net_received_bytes_total") >= n * size, "bytes received count the echo data")
        check(total(text, "percore_net_sent_bytes_total") >= n * size, "bytes sent count the echo data")
        metrics_accepted = total(text, "percore_net_connections_accepted_total", 'server="metrics"')
        check(metrics_accepted >= 2, f"the endpoint's own connections are counted apart ({metrics_accepted})")
        check(e.stop() == 0, "percore-echo with a metrics endpoint exits 0 on SIGTERM")


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value is not None:
            return value
        time.sleep(0.25)
    return None


def prom_query(port, query):
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(query)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            data = json.load(r)
    except (OSError, ValueError):
        return None
    if data.get("status") != "success" or not data["data"]["result"]:
        return None
    return float(data["data"]["result"][0]["value"][1])


def test_prometheus_scrapes():
    work = tempfile.mkdtemp(prefix="percore-prom-")
    prom = None
    try:
        with Echo() as e:
            config = os.path.join(work, "prometheus.yml")
            with open(config, "w") as f:
                f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                        "scrape_configs:\n  - job_name: percore-echo\n    static_configs:\n"
                        f"      - targets: ['127.0.0.1:{e.metrics_port}']\n")
            prom_port = free_port()
            prom = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work}/data",
                                     f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(work, "prometheus.log"), "w"))
            up = wait_for(lambda: (v if (v := prom_query(prom_port, 'up{job="percore-echo"}')) == 1 else None), 60)
            check(up == 1, "Prometheus scrapes percore-echo: up == 1")
            query = 'sum(percore_echo_bytes_total{job="percore-echo"})'
            first = wait_for(lambda: prom_query(prom_port, query), 30)
            check(first is not None, f"Prometheus has percore_echo_bytes_total (value {first})")
            e.echo(b"x" * 12345)
            moved = wait_for(lambda: (v if (v := prom_query(prom_port, query)) is not None and first is not None
                                      and v >= first + 12345 else None), 30)
            check(moved is not None, f"Prometheus sees the counter move by the bytes echoed ({first} -> {moved})")
            per_shard = wait_for(lambda: prom_query(prom_port, 'count(percore_reactor_uptime_seconds_total)'), 10)
            check(per_shard == 2, f"Prometheus sees one series per shard ({per_shard})")
    finally:
        if prom is not None:
            prom.terminate()
            try:
                prom.wait(20)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
        if failures:
            try:
                print(open(os.path.join(work, "prometheus.log")).read()[-3000:])
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)


def test_logs():
    with Echo("--log-format", "json", "--log-level", "info") as e:
        e.stop()
        lines = [l for l in e.err if l.startswith("{")]
        parsed = []
        for l in lines:
            try:
                parsed.append(json.loads(l))
            except ValueError:
                check(False, f"log line is JSON: {l!r}")
        endpoint = [p for p in parsed if p.get("logger") == "net.metrics"]
        check(len(endpoint) >= 1, f"the endpoint logs where it listens, as JSON ({len(parsed)} JSON lines)")
        if endpoint:
            p = endpoint[0]
            check(set(p) == {"time", "level", "shard", "logger", "message"}, f"JSON line fields: {sorted(p)}")
            check(p["level"] == "info" and p["shard"] == 0, f"level and shard id on the line: {p}")
            check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", p["time"]) is not None,
                  f"timestamp in RFC 3339 UTC: {p['time']}")
    with Echo("--log-level", "info,net=warn") as e:
        e.stop()
        check(not any("net.metrics" in l for l in e.err), "net=warn hides the net.metrics info line")
    with Echo("--log-level", "warn,net.metrics=info") as e:
        e.stop()
        text_lines = [l for l in e.err if "net.metrics" in l]
        check(len(text_lines) >= 1 and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} INFO  \[shard 0\] net.metrics: ",
                                                text_lines[0]) is not None,
              f"a component level lets its info line through, with time and shard id: {text_lines[:1]}")
    bad = subprocess.run([ECHO, "--log-level", "net=loud"], capture_output=True, text=True, timeout=30)
    check(bad.returncode == 2 and "'loud'" in bad.stderr, f"a bad --log-level is refused: {bad.stderr.strip()}")


def resp(*args):
    out = f"*{len(args)}\r\n"
    for a in args:
        out += f"${len(str(a))}\r\n{a}\r\n"
    return out.encode()


def test_kv():
    mport = free_port()
    data = tempfile.mkdtemp(prefix="percore-metrics-kv.")
    proc = subprocess.Popen([KV, "--port", "0", "--shards", "2", *ENGINE_FLAGS, "--metrics-port", str(mport),
                             "--dir", data, "--appendonly", "yes", "--appendfsync", "always"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 15
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            m = re.search(r"listening on \S+:(\d+)", line)
            if m:
                port = int(m.group(1))
        check(port is not None, "percore-kv says where it listens")
        if port is None:
            return
        _, _, text = http_get(mport, "/metrics")
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        check(lint.returncode == 0, f"promtool accepts percore-kv's /metrics ({lint.stdout}{lint.stderr})")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            cmds = [resp("SET", f"k{i}", "v") for i in range(20)] + [resp("GET", f"k{i}") for i in range(5)]
            cmds += [resp("SET", "short", "v", "PX", "1")]
            s.sendall(b"".join(cmds))
            got = b""
            while got.count(b"\r\n") < 20 + 5 * 2 + 1:
                got += s.recv(65536)
            time.sleep(0.05)
            s.sendall(resp("GET", "short"))  # past its TTL: expired on access
            got = b""
            while b"\r\n" not in got:
                got += s.recv(65536)
        _, _, text = http_get(mport, "/metrics")
        sets = total(text, "percore_kv_commands_total", 'command="set"')
        check(sets == 21, f"21 SETs counted ({sets})")
        check(total(text, "percore_kv_commands_total", 'command="get"') == 6, "6 GETs counted")
        check(total(text, "percore_kv_keys") == 20, f"20 keys over the shards ({total(text, 'percore_kv_keys')})")
        check(total(text, "percore_kv_expired_keys_total") == 1, "the expired key is counted")
        check(total(text, "percore_net_connections_accepted_total", 'server="kv"') == 1, "one kv connection")
        # Persistence status, per shard, as INFO persistence has it.
        check(total(text, "percore_kv_aof_enabled") == 2, "both shards log their writes")
        check(total(text, "percore_kv_aof_last_write_ok") == 2, "both logs take writes")
        logged = total(text, "percore_kv_aof_commands_total")
        check(logged >= 21, f"the 21 SETs are in the logs ({logged} commands)")
        check(total(text, "percore_kv_aof_fsyncs_total") >= 1, "appendfsync always synced")
        check(total(text, "percore_kv_aof_size_bytes") > 0, "the logs have a size")
        check(total(text, "percore_kv_snapshot_in_progress") == 0, "no snapshot running")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def test_off_by_default():
    with Echo(metrics=False) as e:
        check(not any("/metrics" in l for l in e.err), "no metrics endpoint unless --metrics-port is given")
        e.stop()


def main():
    test_endpoint_and_counters()
    test_prometheus_scrapes()
    test_logs()
    test_off_by_default()
    test_kv()
    if failures:
        print(f"{len(failures)} failures", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
