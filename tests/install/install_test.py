#!/usr/bin/env python3
"""`cmake --install` gives a tree that runs on its own (issue 15 item 6).

Installs the build into a fresh temporary prefix (stripped, as the .deb is), then moves that tree elsewhere, so
that anything found through the install prefix, the source tree or the build tree would be missing, and proves:
  - the layout: bin/karyon-cli (bin/karyon with the GUI), share/karyon/models/{nuclei-default,synthetic-test},
    lib/karyon/ with LibTorch;
  - no installed file, binaries and bundled libraries included, contains the source, build or original prefix path;
  - every library the binaries load resolves inside the tree or in the system's /lib, /usr/lib (ldd);
  - in an empty environment (no LD_LIBRARY_PATH, no KARYON_MODEL, no DISPLAY): `karyon-cli --version` and
    `karyon --version` (headless) print the project's version; `karyon-cli demo` makes its synthetic slide and
    analyses it with the installed synthetic-test model, finding the known nuclei; `analyze` with no --model
    uses the installed nuclei-default; KARYON_MODEL overrides it.
Nothing outside the temporary folder is touched; it is removed at the end.
Usage: install_test.py BUILD_DIR SOURCE_DIR VERSION WITH_GUI(0|1) CMAKE"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

build_dir, source_dir, version, with_gui, cmake = sys.argv[1:6]
build_dir, source_dir = os.path.realpath(build_dir), os.path.realpath(source_dir)
with_gui = with_gui not in ("0", "OFF", "FALSE", "")


def check(ok, message):
    if not ok:
        raise SystemExit(f"FAIL: {message}")


def run(args, env_extra=None, timeout=900, expect_ok=True):
    """Runs an installed program in an empty environment: nothing from the caller's shell can help it."""
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "TMPDIR": tmp, "OMP_NUM_THREADS": "1"}
    env.update(env_extra or {})
    p = subprocess.run(args, env=env, cwd=work, capture_output=True, text=True, timeout=timeout)
    if expect_ok and p.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(args)} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


work = tempfile.mkdtemp(prefix="karyon-install-test.")
try:
    home, tmp = os.path.join(work, "home"), os.path.join(work, "tmp")
    os.makedirs(home)
    os.makedirs(tmp)

    staged = os.path.join(work, "staged")
    p = subprocess.run([cmake, "--install", build_dir, "--prefix", staged, "--strip"], capture_output=True, text=True)
    check(p.returncode == 0, f"cmake --install failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    prefix = os.path.join(work, "moved")
    os.rename(staged, prefix)  # the tree must not depend on where it was installed either

    cli = os.path.join(prefix, "bin", "karyon-cli")
    gui = os.path.join(prefix, "bin", "karyon")
    models = os.path.join(prefix, "share", "karyon", "models")
    libdir = os.path.join(prefix, "lib", "karyon")
    for path in [cli] + ([gui] if with_gui else []):
        check(os.access(path, os.X_OK), f"{path} missing or not executable")
    for name in ("nuclei-default", "synthetic-test"):
        for f in ("model.json", "model.safetensors"):
            check(os.path.isfile(os.path.join(models, name, f)), f"{name}/{f} not installed under {models}")
    check(not os.path.exists(os.path.join(models, "nuclei-candidate")), "nuclei-candidate (not shipped) was installed")
    check(any(f.startswith("libtorch_cpu.so") for f in os.listdir(libdir)) if os.path.isdir(libdir) else False,
          f"LibTorch not bundled in {libdir}")

    # No installed file names the source tree, the build tree or the prefix it was installed to.
    for needle in (source_dir, build_dir, staged):
        p = subprocess.run(["grep", "-rlF", "--", needle, prefix], capture_output=True, text=True)
        check(p.returncode == 1, f"installed files contain {needle}:\n{p.stdout}{p.stderr}")

    # Every library comes from the tree itself or from the system.
    for exe in [cli] + ([gui] if with_gui else []):
        p = subprocess.run(["ldd", exe], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
        check(p.returncode == 0, f"ldd {exe}: {p.stderr}")
        for line in p.stdout.splitlines():
            check("not found" not in line, f"{exe}: {line.strip()}")
            if "=>" in line and "/" in line.split("=>")[1]:
                lib = os.path.realpath(line.split("=>")[1].split()[0])
                check(lib.startswith(libdir + "/") or lib.startswith(("/lib/", "/usr/lib/", "/lib64/")),
                      f"{exe} loads {lib}, neither from the installed tree nor from the system")

    out = run([cli, "--version"]).stdout.strip()
    check(out == f"karyon-cli {version}", f"karyon-cli --version printed {out!r}, not 'karyon-cli {version}'")
    if with_gui:
        out = run([gui, "--version"], timeout=60).stdout.strip()  # no DISPLAY, no QT_QPA_PLATFORM
        check(out == f"karyon {version}", f"karyon --version printed {out!r}, not 'karyon {version}'")

    # The demo: synthetic slide with known nuclei, analysed with the installed synthetic-test model.
    demo = os.path.join(work, "demo")
    run([cli, "demo", "--out", demo])
    summary = json.load(open(os.path.join(demo, "analysis", "summary.json")))
    card = os.path.join(models, "synthetic-test", "model.json")
    check(os.path.realpath(summary["model"]["card"]) == os.path.realpath(card),
          f"demo used {summary['model']['card']}, not the installed {card}")
    r = json.loads(run([cli, "evaluate", os.path.join(demo, "analysis", "nuclei.geojson"),
                        os.path.join(demo, "synthetic.truth.geojson"), "--json"]).stdout)
    check(r["f1"] >= 0.9, f"demo found the known nuclei with F1@0.5 {r['f1']:.3f} (< 0.9): {r}")

    # analyze with no --model: the installed default model; KARYON_MODEL overrides it.
    slide = os.path.join(work, "small.tiff")
    run([cli, "synth", slide, "--width", "768", "--height", "768", "--mpp", "0.5", "--seed", "5"])
    run([cli, "analyze", slide, "-o", os.path.join(work, "default")])
    summary = json.load(open(os.path.join(work, "default", "summary.json")))
    card = os.path.join(models, "nuclei-default", "model.json")
    check(os.path.realpath(summary["model"]["card"]) == os.path.realpath(card),
          f"analyze without --model used {summary['model']['card']}, not the installed {card}")
    override = os.path.join(work, "no-such-model", "model.json")
    p = run([cli, "analyze", slide, "-o", os.path.join(work, "override")], {"KARYON_MODEL": override},
            expect_ok=False)
    check(p.returncode != 0 and override in p.stderr, f"KARYON_MODEL={override} was not used: exit {p.returncode}, "
          f"stderr {p.stderr!r}")
    print(f"ok: installed tree at a moved prefix runs on its own ({sum(len(f) for _, _, f in os.walk(prefix))} files)")
finally:
    shutil.rmtree(work, ignore_errors=True)
