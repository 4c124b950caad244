"""Shared by the pipeline's CLI-level tests: a small synthetic slide, the analyze flags for the tiny model, and the
stored nuclei by geometry (ids depend on the run's salt)."""
import os
import shutil
import sqlite3
import subprocess
import time


def fresh_slide(cli, work, seed):
    """Empties WORK and writes a 1280x1024 synthetic slide at the tiny model's 0.5 µm/px into it."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    slide = os.path.join(work, "slide.tiff")
    subprocess.run([cli, "synth", slide, "--width", "1280", "--height", "1024", "--mpp", "0.5", "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return slide


def analyze_flags(model):
    return ["--model", model, "--tile-size", "256", "--score-threshold", "0.3", "--batch", "1"]


def nuclei(out):
    db = sqlite3.connect(os.path.join(out, "results.sqlite"))
    rows = db.execute("SELECT round(cx, 1), round(cy, 1), round(area_um2, 2) FROM nuclei").fetchall()
    db.close()
    return sorted(rows)


def interrupt_analyze(cli, slide, out, flags, sig):
    """Starts `analyze`, sends `sig` once its store exists and it is still running; returns (exit code, stderr)."""
    p = subprocess.Popen([cli, "analyze", slide, "-o", out] + flags, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not os.path.exists(os.path.join(out, "results.sqlite")) and p.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    if p.poll() is not None:
        raise AssertionError("the run finished before it could be stopped")
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    return p.returncode, err
