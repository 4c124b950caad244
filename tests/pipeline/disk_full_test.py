#!/usr/bin/env python3
"""A disk that fills up during `karyon-cli analyze` (simulated with RLIMIT_FSIZE, the per-file size limit: writes past
it fail with EFBIG as on a full disk): the run must stop with a clear error naming the store, not crash; once there
is room, `--resume` must finish with exactly the nuclei of an uninterrupted run. Usage: CLI MODEL WORKDIR"""
import os
import resource
import signal
import subprocess
import sys

from cli_support import analyze_flags, fresh_slide, nuclei

if not __debug__:  # the checks below are assert statements; with -O / PYTHONOPTIMIZE they would pass unseen
    sys.exit("run this test without -O / PYTHONOPTIMIZE: its checks are assert statements")

cli, model, work = sys.argv[1:4]
slide = fresh_slide(cli, work, seed=5)
common = analyze_flags(model)

ref = os.path.join(work, "reference")
subprocess.run([cli, "analyze", slide, "-o", ref] + common, check=True, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
expected = nuclei(ref)
assert len(expected) > 20, f"only {len(expected)} nuclei: the comparison would be vacuous"

# The finished store's size: its write-ahead log, which holds every page written since the last checkpoint, hits
# the limit partway through the slide (half of it is hit while the store is being created, which tests less).
limit = os.path.getsize(os.path.join(ref, "results.sqlite"))


def small_disk():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG) instead of killing the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


full = os.path.join(work, "full")
r = subprocess.run([cli, "analyze", slide, "-o", full] + common, preexec_fn=small_disk, capture_output=True, text=True)
print(f"file size limit {limit} bytes: exit {r.returncode}; {r.stderr.strip().splitlines()[-1]}")
assert r.returncode == 1, f"expected a clean error exit (1), got {r.returncode}: {r.stderr[-2000:]}"
assert "results.sqlite" in r.stderr and "disk full" in r.stderr, r.stderr[-2000:]
assert len(nuclei(full)) < len(expected), "the limit did not stop the run partway: the test would be vacuous"

subprocess.run([cli, "analyze", slide, "-o", full, "--resume"] + common, check=True, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
got = nuclei(full)
assert got == expected, f"resumed run differs: {len(got)} vs {len(expected)} nuclei"
print(f"1 passed, 0 failed (disk full, then --resume: {len(got)} nuclei, identical to the uninterrupted run)")
