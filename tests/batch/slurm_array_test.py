#!/usr/bin/env python3
"""deploy/slurm/karyon-array.sbatch on a real (throw-away, one-node) Slurm cluster: a job array of 3
shards over 4 synthetic slides and a broken file, then batch-merge; the merged report must equal a
single-process `karyon-cli batch` (same statuses, same nuclei counts). Exit 77 (skip) with the exact
reason when Slurm cannot run here. Usage: CLI MODEL WORKDIR SBATCH_SCRIPT"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from slurm_cluster import SlurmCluster, Unavailable  # noqa: E402

if not __debug__:  # the checks below are assert statements; with -O / PYTHONOPTIMIZE they would pass unseen
    sys.exit("run this test without -O / PYTHONOPTIMIZE: its checks are assert statements")

cli, model, work, script = (os.path.abspath(a) for a in sys.argv[1:5])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
slides = os.path.join(work, "slides")
os.makedirs(slides)
for i, seed in enumerate((11, 12, 13, 14)):
    subprocess.run([cli, "synth", os.path.join(slides, f"slide{i}.tiff"), "--width", "1024", "--height", "1024",
                    "--mpp", "0.5", "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
with open(os.path.join(slides, "broken.ndpi"), "wb") as f:
    f.write(b"not a slide at all\n" * 100)
args = ["--model", model, "--tile-size", "256", "--score-threshold", "0.3", "--batch", "1", "--devices", "cpu"]


def table(path):
    with open(path) as f:
        return {s["slide"]: (s["output"], s["status"], s["nuclei"]) for s in json.load(f)["slides"]}


# Reference: one process.
single = os.path.join(work, "single")
r = subprocess.run([cli, "batch", slides, "-o", single] + args, capture_output=True, text=True, timeout=600)
assert r.returncode == 1, f"single run: exit {r.returncode}\n{r.stderr}"
expected = table(os.path.join(single, "batch_report.json"))
assert sum(1 for v in expected.values() if v[1] == "done") == 4 and expected["broken.ndpi"][1] == "failed", expected

out = os.path.join(work, "array")
try:
    cluster = SlurmCluster(os.path.join(work, "cluster")).start()
except Unavailable as e:
    print(f"SKIP: Slurm cannot run here: {e}")
    sys.exit(77)
try:
    job = cluster.sbatch(["--array=0-2", "--cpus-per-task=1", "--mem=200M", "--time=10:00",
                          "--output", os.path.join(work, "task-%A_%a.out"), script, slides, out] + args,
                         env={"KARYON_CLI": cli, "OMP_NUM_THREADS": "1"}, cwd=work)
    states = cluster.wait(job, timeout=600)
finally:
    cluster.stop()
print(f"job {job}: {states}")
logs = ""
for name in sorted(os.listdir(work)):
    if name.startswith("task-"):
        with open(os.path.join(work, name)) as f:
            logs += f"--- {name}\n{f.read()}"
# A shard with broken.ndpi exits 1 (FAILED in Slurm's eyes), the others 0.
assert sorted(states.values()) == ["COMPLETED", "COMPLETED", "FAILED"], f"{states}\n{logs}"
for i in range(3):
    assert os.path.exists(os.path.join(out, f"batch_report.shard-{i}-of-3.json")), f"shard {i} report missing\n{logs}"
    assert os.path.exists(os.path.join(out, "logs", f"shard-{i}-of-3.jsonl")), f"shard {i} JSON log missing"

m = subprocess.run([cli, "batch-merge", out], capture_output=True, text=True)
assert m.returncode == 1, f"batch-merge: exit {m.returncode} (1 expected: broken.ndpi failed)\n{m.stderr}"
merged = table(os.path.join(out, "batch_report.json"))
assert merged == expected, f"merged {merged}\n!= single {expected}"
print(f"1 passed, 0 failed (Slurm array of 3 tasks on a one-node cluster; merged report = single run: "
      f"{', '.join(f'{k} {v[1]} {v[2]}' for k, v in sorted(merged.items()))})")
