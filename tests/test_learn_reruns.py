"""Reruns of a learning run into a folder that holds one (helper-148, 2026-12-07): a
second run at the same time is refused, a restart keeps the old run until it trains,
and ``--protocol all`` on another orbit is refused before ``none`` is re-evaluated."""

from __future__ import annotations

import fcntl
import json

import numpy as np
import pytest
from test_learning import small_soap, tiny_data

import degeneracy.learning.protocols as protocols
from degeneracy import DegeneracyError
from degeneracy.files import OUTPUT_LOCK, exclusive_output
from degeneracy.learning import CentreFeaturizer, TrainSettings, run_protocol
from degeneracy.learning.datasets import Dataset
from degeneracy.learning.protocols import check_same_orbit, orbit_digest, recorded_orbit
from degeneracy.learning.trainer import checkpoint_run_info

SETTINGS = TrainSettings(max_epochs=4, batch_size=64)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


def _run(output, data, protocol="none", **options):
    return run_protocol(
        protocol, CentreFeaturizer(small_soap()), data, output=output, settings=SETTINGS,
        baselines=False, gradient_errors=False, **options,
    )  # fmt: skip


def test_a_second_run_into_a_locked_folder_is_refused_before_it_writes(tmp_path, data, cache):
    """Two runs into one folder both reported success, the second's results replacing
    the first's file by file."""
    output = tmp_path / "run"
    output.mkdir()
    with open(output / OUTPUT_LOCK, "w") as other:  # another run's lock (flock is per open file)
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DegeneracyError, match=rf"another learn run is writing {output}"):
            _run(output, data)
    assert [p.name for p in output.iterdir()] == [OUTPUT_LOCK]
    _run(output, data)  # released: the run goes ahead
    assert (output / "metrics.json").is_file()


def test_a_folder_this_process_holds_is_entered_again(tmp_path):
    """learn locks DIR and run_protocol its output: the same folder for one protocol."""
    with exclusive_output(tmp_path, "learn"), exclusive_output(tmp_path, "learn run"):
        pass
    with exclusive_output(tmp_path, "learn"):  # and released after
        pass


def test_a_restart_keeps_the_old_run_until_training_starts(tmp_path, data, cache, monkeypatch):
    """--restart unlinked the checkpoint at once: interrupted while its features were
    made, it left the old results without their checkpoint."""
    output = tmp_path / "run"
    _run(output, data)
    before = {p.name: p.read_bytes() for p in output.iterdir() if p.name != OUTPUT_LOCK}
    assert "checkpoint.pt" in before

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(protocols, "cached_inputs", interrupted)
        with pytest.raises(KeyboardInterrupt):
            _run(output, data, restart=True)
    assert {p.name: p.read_bytes() for p in output.iterdir() if p.name != OUTPUT_LOCK} == before
    seen = []
    _run(output, data, restart=True, callback=lambda epoch, metrics: seen.append(epoch))
    assert seen == [1, 2, 3, 4]  # trained from scratch, not resumed at epoch 4


def test_protocol_all_on_another_orbit_is_refused_before_none_is_reevaluated(tmp_path, data, cache):
    """`learn --protocol all --orbit other.extxyz` into a finished DIR resumed none on the
    new orbit, then subset's checkpoint refused it: DIR held none on the new orbit beside
    subset and full (and fig2) on the old one."""
    _run(tmp_path / "none", data)
    metrics = json.loads((tmp_path / "none" / "metrics.json").read_text())
    assert metrics["orbit_digest"] == orbit_digest(data["orbit"])
    info = checkpoint_run_info(tmp_path / "none" / "checkpoint.pt")
    assert (info["protocol"], info["orbit"]) == ("none", orbit_digest(data["orbit"]))
    folders = [tmp_path / name for name in ("none", "subset", "full")]
    check_same_orbit(folders, data["orbit"])  # the same orbit: resumed as before
    half = Dataset("orbit", data["orbit"].frames[::2])
    with pytest.raises(DegeneracyError, match=r"none holds a run on another orbit .*restart=True"):
        check_same_orbit(folders, half)
    (tmp_path / "none" / "metrics.json").unlink()  # interrupted: its checkpoint says
    assert recorded_orbit(tmp_path / "none") == orbit_digest(data["orbit"])
    with pytest.raises(DegeneracyError, match="another orbit"):
        check_same_orbit(folders, half)
    moved = [atoms.copy() for atoms in data["orbit"].frames]
    moved[0].positions[1] += 1e-6  # one frame moved by 1 µÅ is another orbit
    assert orbit_digest(Dataset("orbit", moved)) != orbit_digest(data["orbit"])
    assert np.allclose(moved[0].positions, data["orbit"].frames[0].positions, atol=1e-5)


def test_a_cached_data_set_drawn_by_other_code_is_drawn_again(cache, monkeypatch):
    """The data set cache is keyed by the sampler's settings, not its code: a sampler that
    changed (here: scaled by 0.98) kept getting the old structures from the cache."""
    from degeneracy.learning import datasets

    first = datasets.generate_dataset("train", 20, seed=7)
    again = datasets.generate_dataset("train", 20, seed=7)
    assert np.array_equal(dg_positions(first), dg_positions(again))
    drawn = datasets.ThermalMethaneSampler.neighbors
    monkeypatch.setattr(
        datasets.ThermalMethaneSampler,
        "neighbors",
        lambda self, n, *, seed: 0.98 * drawn(self, n, seed=seed),
    )
    changed = datasets.generate_dataset("train", 20, seed=7)
    fresh = datasets.generate_dataset("train", 20, seed=7, cache=False)
    np.testing.assert_allclose(dg_positions(changed), dg_positions(fresh), atol=1e-8)
    np.testing.assert_allclose(dg_positions(changed), 0.98 * dg_positions(first), atol=1e-7)


def dg_positions(dataset: Dataset) -> np.ndarray:
    from degeneracy import neighbor_positions

    return neighbor_positions(dataset.frames)


def test_another_thread_is_kept_out_of_a_folder_this_one_holds(tmp_path):
    """Re-entry was by process: a second thread entered the folder without a lock, and
    kept writing unlocked once the first left (helper-154)."""
    import threading

    refused = []

    def second():
        try:
            with exclusive_output(tmp_path, "learn run"):
                pass
        except DegeneracyError as error:
            refused.append(str(error))

    with exclusive_output(tmp_path, "learn run"):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert len(refused) == 1 and refused[0].startswith(f"another learn run is writing {tmp_path}")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["learn", "--output", "d"], "rerun with --restart"),
        (["reproduce", "--output", "d"], "rerun with --force"),  # reproduce's own option
        (["spectrum", "--builtin", "td"], "rerun with restart=True"),  # none: as it is
    ],
)
def test_the_library_s_keyword_advice_is_each_command_s_option(argv, said):
    """The learning runs say "rerun with restart=True"; learn's --restart is reproduce's
    --force (it said --restart, an option reproduce does not have; helper-154)."""
    from degeneracy.cli import build_parser, in_option_terms

    args = build_parser().parse_args(argv)
    line = in_option_terms("checkpoint.pt: damaged; remove it or rerun with restart=True",
                           args.option_names)  # fmt: skip
    assert line.endswith(said)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["scan", "f.xyz", "--output", "r.csv"], "(--cutoff), or are the centres' neighbours of "
         "other species (--neighbors)? wait for it or choose another --output"),
        (["learn", "--output", "d"], "(--cutoff), or are the centres' neighbours of other "
         "species (neighbors=...)? wait for it or choose another --output"),
    ],
)  # fmt: skip
def test_keyword_advice_without_a_value_is_the_bare_option(argv, said):
    """``cutoff=...`` ("this keyword, at another value") is the option alone, as the
    command line offers it; a keyword the command has no option for stays as written."""
    from degeneracy.cli import build_parser, in_option_terms

    args = build_parser().parse_args(argv)
    line = in_option_terms(
        "is the cutoff below the nearest-neighbour distance (cutoff=...), or are the centres' "
        "neighbours of other species (neighbors=...)? wait for it or choose another output=...",
        args.option_names,
    )
    assert line.endswith(said), line
