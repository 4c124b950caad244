#!/usr/bin/env python3
"""kill -9 during `karyon-cli analyze`, then `--resume`: the store must hold exactly the nuclei of an
uninterrupted run (same geometry, nothing lost, nothing twice). Usage: CLI MODEL WORKDIR"""
import os
import signal
import sqlite3
import subprocess
import sys
import time

from cli_support import analyze_flags, fresh_slide, nuclei

if not __debug__:  # the checks below are assert statements; with -O / PYTHONOPTIMIZE they would pass unseen
    sys.exit("run this test without -O / PYTHONOPTIMIZE: its checks are assert statements")

cli, model, work = sys.argv[1:4]
slide = fresh_slide(cli, work, seed=4)
common = analyze_flags(model)


def final_tiles(out):
    path = os.path.join(out, "results.sqlite")
    if not os.path.exists(path):
        return 0
    try:  # read-only: polling must never create the store the run is about to make
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        n = db.execute("SELECT COUNT(*) FROM tiles").fetchone()[0]
        db.close()
        return n
    except sqlite3.Error:
        return 0


ref = os.path.join(work, "reference")
subprocess.run([cli, "analyze", slide, "-o", ref] + common, check=True, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
expected = sorted(nuclei(ref))
assert len(expected) > 20, f"only {len(expected)} nuclei: the comparison would be vacuous"

killed = os.path.join(work, "killed")
proc = subprocess.Popen([cli, "analyze", slide, "-o", killed] + common, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
deadline = time.time() + 300
while final_tiles(killed) < 3 and proc.poll() is None and time.time() < deadline:
    time.sleep(0.05)
assert proc.poll() is None, "the run finished before it could be killed"
proc.send_signal(signal.SIGKILL)
proc.wait()
partial = final_tiles(killed)
print(f"killed after {partial} final tiles, {len(nuclei(killed))} nuclei stored")

again = subprocess.run([cli, "analyze", slide, "-o", killed] + common, capture_output=True, text=True)
assert again.returncode != 0 and "--resume" in again.stderr, "an existing store must need --resume: " + again.stderr

subprocess.run([cli, "analyze", slide, "-o", killed, "--resume"] + common, check=True, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
got = sorted(nuclei(killed))
assert len(got) == len(set(got)), "duplicates after resume"
assert got == expected, f"resumed run differs: {len(got)} vs {len(expected)} nuclei"
print(f"1 passed, 0 failed (kill -9 + --resume: {len(got)} nuclei, identical to the uninterrupted run)")
