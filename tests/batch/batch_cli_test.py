#!/usr/bin/env python3
"""karyon-cli batch end to end on synthetic 1024² slides with a tiny random model:
a broken file is reported and skipped, a re-run recomputes nothing, shards + batch-merge equal one
process, SIGINT stops with 130 and the re-run resumes, kill -9 mid-slide and a re-run give the same
report and the same nuclei as an uninterrupted run. Usage: CLI MODEL WORKDIR"""
import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

if not __debug__:  # the checks below are assert statements; with -O / PYTHONOPTIMIZE they would pass unseen
    sys.exit("run this test without -O / PYTHONOPTIMIZE: its checks are assert statements")

cli, model, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
slides = os.path.join(work, "slides")
os.makedirs(os.path.join(slides, "sub"))
for rel, seed in (("alpha.tiff", 1), ("beta.tiff", 2), ("sub/alpha.tiff", 3)):
    subprocess.run([cli, "synth", os.path.join(slides, rel), "--width", "1024", "--height", "1024", "--mpp", "0.5",
                    "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
with open(os.path.join(slides, "broken.svs"), "wb") as f:
    f.write(b"II*\x00" + os.urandom(5000))          # TIFF magic, then garbage
with open(os.path.join(slides, "notes.txt"), "w") as f:
    f.write("not a slide\n")
common = ["--model", model, "--tile-size", "256", "--score-threshold", "0.3", "--batch", "1", "--recursive"]
passed = 0


def batch(out, *extra, check_rc=None):
    r = subprocess.run([cli, "batch", slides, "-o", out, "--log-json", os.path.join(out + ".log.jsonl")] + common +
                       list(extra), capture_output=True, text=True, timeout=600)
    if check_rc is not None:
        assert r.returncode == check_rc, f"exit {r.returncode}, expected {check_rc}\n{r.stderr}"
    return r


def report(out, name="batch_report.json"):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def table(rep):
    """slide -> (output folder, status, nuclei, tiles) for comparisons."""
    return {s["slide"]: (s["output"], s["status"], s["nuclei"], s["tiles"]) for s in rep["slides"]}


def nuclei(out_slide):
    db = sqlite3.connect(os.path.join(out_slide, "results.sqlite"))
    rows = db.execute("SELECT round(cx, 1), round(cy, 1), round(area_um2, 2) FROM nuclei").fetchall()
    db.close()
    return sorted(rows)


def final_tiles(out_slide):
    # Read-only: a plain connect() would create an empty results.sqlite under the batch's feet.
    path = os.path.join(out_slide, "results.sqlite")
    if not os.path.exists(path):
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        n = db.execute("SELECT COUNT(*) FROM tiles").fetchone()[0]
        db.close()
        return n
    except sqlite3.Error:
        return 0


def events(out):
    with open(out + ".log.jsonl") as f:
        return [json.loads(line) for line in f]


def ok(what):
    global passed
    passed += 1
    print(f"ok {passed}: {what}", flush=True)


# --- 1. reference run: a broken file fails with its reason, the rest are done ----------------------
ref = os.path.join(work, "reference")
t0 = time.time()
r = batch(ref, check_rc=1)
ref_seconds = time.time() - t0
rep = report(ref)
expected = table(rep)
assert set(expected) == {"alpha.tiff", "beta.tiff", "broken.svs", "sub/alpha.tiff"}, expected
assert expected["alpha.tiff"][0] == "alpha.tiff" and expected["sub/alpha.tiff"][0] == "sub__alpha.tiff", expected
assert expected["beta.tiff"][0] == "beta", expected
bad = next(s for s in rep["slides"] if s["slide"] == "broken.svs")
assert bad["status"] == "failed" and "broken.svs" in bad["error"], bad
for key, (out, status, n, tiles) in expected.items():
    if key == "broken.svs":
        continue
    assert status == "done" and n > 5 and tiles > 0, (key, expected[key])
    with open(os.path.join(ref, out, "summary.json")) as f:
        assert json.load(f)["counts"]["nuclei"] == n
    assert len(nuclei(os.path.join(ref, out))) == n
assert rep["finished"] and rep["totals"]["done"] == 3 and rep["totals"]["failed"] == 1, rep["totals"]
with open(os.path.join(ref, "batch_report.csv")) as f:
    rows = list(csv.DictReader(f))
assert [(x["slide"], x["status"], x["nuclei"]) for x in rows] == \
       [(s["slide"], s["status"], "" if s["nuclei"] is None else str(s["nuclei"])) for s in rep["slides"]], rows
ev = events(ref)
assert [e["event"] for e in ev].count("slide_done") == 3 and [e["event"] for e in ev].count("slide_failed") == 1, ev
assert all("time" in e for e in ev) and ev[0]["event"] == "batch_start" and ev[-1]["event"] == "batch_end"
assert ev[0]["device"] in ("cpu", "cuda:all"), ev[0]
assert "FAILED" in r.stderr and "broken.svs" in r.stderr, r.stderr
ok(f"reference batch: 3 done ({', '.join(str(v[2]) for k, v in sorted(expected.items()) if v[2])} nuclei), "
   f"broken.svs failed with its reason, exit 1, CSV = JSON, JSON log ({ref_seconds:.0f} s)")

# --- 2. re-run: finished slides are not recomputed ---------------------------------------------------
stamps = {k: os.stat(os.path.join(ref, v[0], "results.sqlite")).st_mtime_ns for k, v in expected.items() if v[2]}
r = batch(ref, check_rc=1)
assert table(report(ref)) == expected, table(report(ref))
assert stamps == {k: os.stat(os.path.join(ref, expected[k][0], "results.sqlite")).st_mtime_ns for k in stamps}
last_run = events(ref)[len(ev):]
assert [e["event"] for e in last_run].count("slide_reused") == 3, last_run
assert not any(e["event"] == "slide_start" and e["slide"] != "broken.svs" for e in last_run), last_run
r = batch(ref, "--ext", "tiff", check_rc=0)   # without the broken file: everything done, exit 0
assert len(report(ref)["slides"]) == 3
ok("re-run: 3 slides reused (stores untouched), broken.svs retried and failed again; --ext tiff: exit 0")

# Without --score-threshold the model card's applies (0.0 for the tiny model), not the 0.3 the slides were made
# with: they must not be reported as done from the old results.
other = os.path.join(work, "other_threshold")
shutil.copytree(ref, other)
shutil.copy(ref + ".log.jsonl", other + ".log.jsonl")
n_before = len(events(other))
r = subprocess.run([cli, "batch", slides, "-o", other, "--log-json", other + ".log.jsonl", "--ext", "tiff"] +
                   [a for a in common if a not in ("--score-threshold", "0.3")], capture_output=True, text=True,
                   timeout=600)
again = events(other)[n_before:]
assert not any(e["event"] == "slide_reused" for e in again), again
assert [e["event"] for e in again].count("slide_start") == 3, again
ok(f"re-run with the card's threshold instead of 0.3: no slide reused (exit {r.returncode})")

# --- 3. shards + merge equal one process --------------------------------------------------------------
sh = os.path.join(work, "sharded")
for i in range(3):
    batch(sh, "--shard", f"{i}/3")
    assert os.path.exists(os.path.join(sh, f"batch_report.shard-{i}-of-3.csv"))
assert not os.path.exists(os.path.join(sh, "batch_report.json")), "a shard must not write the whole-batch report"
sizes = [len(report(sh, f"batch_report.shard-{i}-of-3.json")["slides"]) for i in range(3)]
assert sizes == [2, 1, 1], sizes  # 4 sorted slides, position % 3
m = subprocess.run([cli, "batch-merge", sh], capture_output=True, text=True)
assert m.returncode == 1, m.stderr    # broken.svs failed
assert table(report(sh)) == expected, table(report(sh))
for k, v in expected.items():
    if v[2]:
        assert nuclei(os.path.join(sh, v[0])) == nuclei(os.path.join(ref, v[0])), k
ok(f"--shard i/3 x3 + batch-merge: shard sizes {sizes}, merged report and nuclei equal the single run")


# --- 4. SIGINT mid-slide: exit 130, resumable ---------------------------------------------------------
# Three good slides from a list file (also tests --list), to keep the test short.
listed = os.path.join(slides, "three.txt")
with open(listed, "w") as f:
    f.write("# good slides\nsub/alpha.tiff\nbeta.tiff\nalpha.tiff\n")
expected3 = {k: v for k, v in expected.items() if k != "broken.svs"}


def run_listed(out, check_rc):
    r = subprocess.run([cli, "batch", "--list", listed, "-o", out, "--log-json", out + ".log.jsonl"] + common,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == check_rc, f"exit {r.returncode}, expected {check_rc}\n{r.stderr}"


def interrupted(out, sig):
    """Starts the batch, waits until the second slide (beta) has some final tiles, sends sig."""
    p = subprocess.Popen([cli, "batch", "--list", listed, "-o", out, "--log-json", out + ".log.jsonl"] + common,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    target = os.path.join(out, expected["beta.tiff"][0])
    deadline = time.time() + 300
    while final_tiles(target) < 2 and p.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    if p.poll() is not None:
        raise AssertionError(f"the batch ended (exit {p.returncode}) before it could be interrupted:\n"
                             + p.communicate()[1])
    p.send_signal(sig)
    _, err = p.communicate(timeout=300)
    return p.returncode, err, final_tiles(target)


sig = os.path.join(work, "sigint")
rc, err, tiles_then = interrupted(sig, signal.SIGINT)
assert rc == 130, f"exit {rc} after SIGINT\n{err}"
rep = report(sig)
st = {s["slide"]: s["status"] for s in rep["slides"]}
assert st["alpha.tiff"] == "done" and st["beta.tiff"] == "skipped" and not rep["finished"], st
assert st["sub/alpha.tiff"] == "skipped", st  # never started
assert "run the same command again" in err.lower(), err
run_listed(sig, 0)
assert table(report(sig)) == expected3, table(report(sig))
starts = [e for e in events(sig) if e["event"] == "slide_start" and e["slide"] == "beta.tiff"]
assert [e["resumed"] for e in starts] == [False, True], starts
assert nuclei(os.path.join(sig, expected["beta.tiff"][0])) == nuclei(os.path.join(ref, expected["beta.tiff"][0]))
ok(f"--list, SIGINT after {tiles_then} final tiles of beta: exit 130, report says skipped; re-run resumed it, "
   "report = reference")

# --- 5. kill -9 mid-slide, re-run: same report, same nuclei -------------------------------------------
killed = os.path.join(work, "killed")
rc, err, tiles_then = interrupted(killed, signal.SIGKILL)
assert rc == -signal.SIGKILL, rc
st = {s["slide"]: s["status"] for s in report(killed)["slides"]}
# What the report said at the kill:
assert st == {"alpha.tiff": "done", "beta.tiff": "running", "sub/alpha.tiff": "pending"}, st
run_listed(killed, 0)
assert table(report(killed)) == expected3, table(report(killed))
for k, v in expected3.items():
    if v[2]:
        got = nuclei(os.path.join(killed, v[0]))
        assert len(got) == len(set(got)), f"{k}: duplicate nuclei"
        assert got == nuclei(os.path.join(ref, v[0])), f"{k}: {len(got)} nuclei vs {v[2]}"
ok(f"kill -9 after {tiles_then} final tiles of beta: report said running; re-run: report and every slide's "
   "nuclei equal the uninterrupted run")

# --- 6. the Slurm script forwards SIGTERM (what Slurm sends at the time limit / scancel) ------------------
script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "slurm", "karyon-array.sbatch")
term = os.path.join(work, "sigterm")
env = dict(os.environ, KARYON_CLI=cli, SLURM_ARRAY_TASK_ID="0", SLURM_ARRAY_TASK_MIN="0", SLURM_ARRAY_TASK_COUNT="1")
p = subprocess.Popen(["bash", script, listed, term] + common, env=env, stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
target = os.path.join(term, expected["alpha.tiff"][0])
deadline = time.time() + 300
while final_tiles(target) < 2 and p.poll() is None and time.time() < deadline:
    time.sleep(0.02)
assert p.poll() is None, "the script ended before it could be stopped:\n" + p.communicate()[1]
p.send_signal(signal.SIGTERM)          # to bash only, as with sbatch --signal=B:TERM
_, err = p.communicate(timeout=120)
assert p.returncode == 143, f"exit {p.returncode}\n{err}"  # 128 + SIGTERM
st = {s["slide"]: s["status"] for s in report(term, "batch_report.shard-0-of-1.json")["slides"]}
assert st["alpha.tiff"] == "skipped", st
assert os.path.exists(os.path.join(term, "logs", "shard-0-of-1.jsonl"))
ok("karyon-array.sbatch outside Slurm: TERM to the script stops karyon-cli cleanly (exit 143, slide resumable)")

print(f"{passed} passed, 0 failed")
