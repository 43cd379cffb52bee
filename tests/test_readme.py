"""The README's Python example runs as written (on a file of built-in environments)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import degeneracy as dg

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.DOTALL | re.M)


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert blocks, "the README lost its Python example"
    frames = [dg.builtin_environment("pg-start"), dg.builtin_environment("td")]
    dg.write_environments(tmp_path / "ch4.extxyz", frames)
    silica = dg.environment_from_neighbors(
        1.5 * dg.neighbor_positions(frames[0]), dg.parse_environment("SiO4")
    )
    dg.write_environments(tmp_path / "sio4.xyz", [silica])
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # our own README
    x, jacobian = namespace["x"], namespace["J"]
    assert x.shape == (2, 576) and jacobian.shape == (2, 576, 12)
    values = namespace["spectrum"].values
    assert namespace["sio4"][0].get_chemical_symbols() == ["Si", "O", "O", "O", "O"]
    assert values.shape == (2, 9) and np.all(np.diff(values, axis=1) <= 0)
