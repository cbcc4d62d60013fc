#!/usr/bin/env python3
"""percore-kv on a full disk (issue 12): on a small tmpfs, writes past the free space get -MISCONF (reads go on,
INFO says err), no acknowledged write is lost, and once space is freed a later write succeeds. Needs root (the
mount); exits 77 (skip) otherwise. The mount is removed on every path.

usage: full_disk_test.py PATH_TO_percore-kv
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from kvtest import check, finish, info_field, parse, wait_for  # noqa: E402
from persist import kill, start  # noqa: E402

KV = sys.argv[1]
VALUE = "v" * 16384


def main(mnt):
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * (5 << 20))  # 5 of the 8 MiB: the server gets ~3 MiB
    d = os.path.join(mnt, "data")
    kv = start(KV, d, 1, "always")
    try:
        c = kv.connect()
        acked, refused = [], 0
        for i in range(400):  # 6.4 MiB of values: more than is free
            r = c.call("SET", f"key{i}", VALUE + str(i))
            if r == b"+OK\r\n":
                acked.append(i)
            elif r.startswith(b"-MISCONF Errors writing to the AOF file: No space left on device"):
                refused += 1
            else:
                check(False, "a write on a full disk gets +OK or -MISCONF", r)
                break
        check(refused > 0 and acked, f"full disk: writes get -MISCONF ({len(acked)} acknowledged, {refused} refused)")
        check(info_field(c, "aof_last_write_status", "persistence") == "err", "full disk: INFO aof_last_write_status:err")
        check(parse(c.call("GET", f"key{acked[0]}")) == (VALUE + str(acked[0])).encode(), "full disk: reads go on")
        os.remove(filler)  # space returns
        ok = wait_for(lambda: c.call("SET", "after", "1") == b"+OK\r\n", "space back: a later write succeeds",
                      timeout=15, interval=0.2)
        check(info_field(c, "aof_last_write_status", "persistence") == "ok", "space back: INFO aof_last_write_status:ok")
        c.close()
        kill(kv)
        kv = start(KV, d, 1, "always")
        c = kv.connect()
        lost = [i for i in acked if parse(c.call("GET", f"key{i}")) != (VALUE + str(i)).encode()]
        check(not lost, f"full disk: none of {len(acked)} acknowledged writes lost", f"{lost[:10]}")
        if ok:
            check(parse(c.call("GET", "after")) == b"1", "the write after the space came back is there")
        c.close()
    finally:
        kv.proc.kill()
        kv.proc.wait(20)


if os.geteuid() != 0:
    print("SKIP: needs root to mount a tmpfs")
    sys.exit(77)
mnt = tempfile.mkdtemp(prefix="percore-kv-full-")
mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]).returncode == 0
if not mounted:
    os.rmdir(mnt)
    print("SKIP: cannot mount a tmpfs here")
    sys.exit(77)
try:
    main(mnt)
finally:
    subprocess.run(["umount", "-l", mnt])
    os.rmdir(mnt)
finish()
