"""The README's worked example runs as written."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_worked_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Worked example.*?```python\n(.*?)```", text, re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(block, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "holds"


def test_readme_sampler_example_runs_and_samples_the_data_law(tmp_path):
    """The generated DPM-Solver++(2M) kernel in the README's ten-line sampler reproduces the mixture's moments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Sampling with a generated kernel.*?```python\n(.*?)```", text, re.S).group(1)
    script = tmp_path / "sampler.py"
    script.write_text(block.replace("print(x.mean(axis=0), x.var(axis=0))",
                                    "import numpy; numpy.save('out.npy', numpy.asarray(x))"), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    import numpy as np
    x = np.load(tmp_path / "out.npy")
    w, m, v = np.array([0.3, 0.7]), np.array([[-2.0, 0.0], [2.0, 1.0]]), np.array([0.3, 0.5])
    mean = w @ m                                                   # the mixture's moments, by the law of total variance
    var = w @ (v[:, None] + m ** 2) - mean ** 2
    assert x.shape == (10_000, 2) and np.all(np.isfinite(x))
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=0.06)
    np.testing.assert_allclose(x.var(axis=0), var, rtol=0.08)
