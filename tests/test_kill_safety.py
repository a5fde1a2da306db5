"""Nothing lost (issue 9, item 4): a report run killed half-way leaves the previous report intact, because every
output is written to a temporary file and renamed into place only when complete."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = ("claims.csv", "summary.md", "report.tex", "manifest.json")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_run_leaves_the_previous_report_intact(tmp_path, sig):
    previous = {name: f"previous {name} {sig.name}\n" for name in OUTPUTS}
    for name, text in previous.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu", "WORKBENCH_CACHE": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "reports", "--only", "flows_004", "--out", str(tmp_path),
                             "--no-pdf", "--no-plots", "--no-accuracy"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    started = threading.Event()

    def watch():   # the progress bar shows the first verified claim: the run is half-way, not starting up
        buf = b""
        while not started.is_set():
            chunk = proc.stderr.read(1)
            if not chunk:
                return
            buf = (buf + chunk)[-200:]
            if b"1/" in buf:
                started.set()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert started.wait(timeout=300), "the report run never got under way"
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    for name, text in previous.items():
        assert (tmp_path / name).read_text() == text, f"{name} was overwritten by a killed run"
    assert not list(tmp_path.glob("*.tmp")) or sig == signal.SIGKILL   # a clean stop removes its temporary files
