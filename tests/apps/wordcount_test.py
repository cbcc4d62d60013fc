#!/usr/bin/env python3
"""Runs percore-wordcount on a generated file across several shard counts and checks the exact counts.

usage: wordcount_test.py PATH_TO_percore-wordcount
"""
import collections
import random
import re
import subprocess
import sys
import tempfile


def main() -> int:
    binary = sys.argv[1]
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(300)] + ["Percore", "percore", "SHARD"]
    # ~2 MB: several 256 KiB chunks, so words cut at chunk boundaries are exercised.
    words = [rng.choice(vocabulary) for _ in range(350_000)]
    expected = collections.Counter(w.lower() for w in words)
    failures = 0
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        for i, w in enumerate(words):
            f.write(w)
            f.write("\n" if i % 17 == 0 else " ")
        f.flush()
        for shards in ("1", "3", "8"):
            out = subprocess.run([binary, f.name, "--top", "400", "--shards", shards, "--overprovision",
                                  "--stall-threshold-ms", "0", "--idle-poll-us", "0", "--reply-poll-us", "0"],
                                 capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                print(f"shards={shards}: exit {out.returncode}: {out.stderr}")
                failures += 1
                continue
            lines = out.stdout.splitlines()
            head = re.match(r"(\d+) words, (\d+) distinct, counted on (\d+) shards", lines[0])
            got = {m.group(2): int(m.group(1)) for m in (re.match(r"\s*(\d+)\s+(\S+)", l) for l in lines[1:]) if m}
            ok = (head and int(head.group(1)) == len(words) and int(head.group(2)) == len(expected)
                  and int(head.group(3)) == int(shards) and got == dict(expected))
            print(f"shards={shards}: {'ok' if ok else 'MISMATCH'}: {lines[0]}")
            failures += 0 if ok else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
