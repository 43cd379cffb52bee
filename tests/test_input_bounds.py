"""Bounds that the command line enforced and the library did not, and what a scan or a
training says when the input cannot mean what was asked.

``scan --neighbors O`` of a data set without O scanned every environment as "fewer than
2 neighbours" with exit status 0; ``symmetry_tol=2.0``, ``connect_timeout=1e308`` and
``TrainSettings(gradient_weight=1e300)`` were taken by the library (the last one diverged
to NaN, told to lower the learning rate).
"""

from __future__ import annotations

import math
import re

import ase.io
import numpy as np
import pytest
from conftest import exit_status, one_error_line

import degeneracy as dg
import degeneracy.scan as scan_module
from degeneracy.checks import (
    MAX_SYMMETRY_TOL,
    residual_tolerance_value,
    symmetry_tolerance_value,
)
from degeneracy.errors import DegeneracyError
from degeneracy.learning import AtomicSumModel, TensorSet, Trainer, TrainSettings
from degeneracy.learning.protocols import RESULT_FILES
from degeneracy.learning.trainer import MAX_GRADIENT_WEIGHT
from degeneracy.scan import (
    MAX_CONNECT_TIMEOUT,
    Dataset,
    check_neighbor_species,
    connect_timeout_value,
    dask_client,
    describe_singular,
)


@pytest.fixture(scope="module")
def methane_file(tmp_path_factory):
    """A few random CH4 structures (species H and C only), as extended XYZ."""
    path = tmp_path_factory.mktemp("bounds") / "methane.xyz"
    ase.io.write(path, dg.sample_methane(6, seed=3), format="extxyz")
    return path


# --- scan --neighbors of species the data set lacks entirely ----------------------------


@pytest.mark.parametrize(
    ("neighbors", "named"), [("O", "O"), ("O,N", "N, O"), ("Si", "Si")]
)  # fmt: skip
def test_scan_refuses_neighbours_none_of_which_the_data_set_has(
    neighbors, named, methane_file, tmp_path, capsys
):
    """--neighbors O on CH4 was a warning, exit 0, and every row undefined."""
    output = tmp_path / "out" / "r.csv"
    output.parent.mkdir()
    argv = ["scan", str(methane_file), "--neighbors", neighbors, "--output", str(output)]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "scan") == (
        f"{methane_file}: no neighbours to count: no atom of neighbour species {named} "
        "(the data set has H, C)"
    )
    assert not list(output.parent.iterdir())  # no results, no chunk folder


def test_the_library_refuses_them_before_any_work(methane_file, tmp_path, monkeypatch):
    """Refused before the chunk store is opened (or a cluster started), with or without
    centres of the asked species."""

    def no_work(*args, **kwargs):
        raise AssertionError("the scan started")

    monkeypatch.setattr(scan_module.ChunkStore, "open", no_work)
    soap = dg.SoapPowerSpectrum(n_max=2, l_max=2)
    for centers in (None, "H", "N"):
        with pytest.raises(DegeneracyError, match=r"no neighbours to count: no atom of "):
            dg.scan_dataset(
                methane_file, soap, output=tmp_path / "r.parquet", centers=centers, neighbors="O"
            )
    assert not list(tmp_path.iterdir())


def test_some_neighbour_species_missing_is_still_only_a_warning(methane_file, tmp_path):
    """Deliberate: the species present are counted, the missing one is named."""
    soap = dg.SoapPowerSpectrum(n_max=3, l_max=2)
    with pytest.warns(dg.DegeneracyWarning, match=r"no atom of neighbour species O in the data"):
        summary = dg.scan_dataset(
            methane_file, soap, output=tmp_path / "r.csv", neighbors="H,O",
            processes=False, workers=1,
        )  # fmt: skip
    assert summary.n_environments == 6 and summary.n_undefined == 0


def test_the_neighbour_check_reads_only_until_a_species_is_found():
    """One structure read when the first has a species asked for; all of them otherwise."""
    frames = [*dg.sample_methane(3, seed=1), ase.Atoms("OH2", positions=np.eye(3))]
    dataset = Dataset(frames)
    read = []
    raw = dataset._raw

    def counted():
        for atoms in raw():
            read.append(atoms)
            yield atoms

    dataset._raw = counted
    check_neighbor_species(dataset, [1, 8])  # H in the first
    assert len(read) == 1
    read.clear()
    check_neighbor_species(dataset, [8])  # O in the last
    assert len(read) == 4
    read.clear()
    with pytest.raises(DegeneracyError, match=r"^4 structures: no neighbours to count: no atom "):
        check_neighbor_species(dataset, [7])
    assert len(read) == 4
    check_neighbor_species(dataset, None)  # every species: nothing to check


# --- residual tolerances and the connect timeout in the library --------------------------


RESIDUAL_REFUSAL = (
    "symmetry_tol must be at most 0.5 Å (an RMS residual of half a bond: every "
    "superposition would pass), got {!r}"
)


def _td():
    return dg.builtin_environment("td")


@pytest.mark.parametrize("value", [0.1500001, 0.5, 2.0, 1e308])
@pytest.mark.parametrize(
    "call",
    [
        lambda rep, tol: dg.analyse_frames([_td()], rep, symmetry_tol=tol),
        lambda rep, tol: dg.analyse_by_composition([_td()], rep, symmetry_tol=tol),
        lambda rep, tol: dg.find_singular(_td(), rep, symmetry_tol=tol),
        lambda rep, tol: describe_singular([_td()], rep, symmetry_tol=tol),
    ],
    ids=["analyse_frames", "analyse_by_composition", "find_singular", "describe_singular"],
)
def test_the_library_caps_symmetry_tol_as_the_command_line_does(call, value):
    """They checked only that it was positive: symmetry_tol=2.0 called any environment
    symmetric."""
    soap = dg.SoapPowerSpectrum(n_max=2, l_max=2)
    with pytest.raises(DegeneracyError) as error:
        call(soap, value)
    assert str(error.value) == (
        f"symmetry_tol must be at most 0.15 Å (beyond it an operation forces no zero at the "
        f"frame), got {value!r}"
    )


@pytest.mark.parametrize("value", [0.5000001, 2.0])
def test_verify_pairs_caps_its_tolerance_too(value):
    """``verify_pairs(tol=...)``, the library side of ``pairs --verify --relation-tol``."""
    from degeneracy.pairs import verify_pairs

    with pytest.raises(DegeneracyError) as error:
        verify_pairs([_td(), _td()], [dg.SoapPowerSpectrum(n_max=2, l_max=2)], tol=value)
    assert str(error.value) == RESIDUAL_REFUSAL.replace("symmetry_tol", "tol").format(value)


def test_the_cap_itself_is_accepted():
    soap = dg.SoapPowerSpectrum(n_max=2, l_max=2)
    (analysis,) = dg.analyse_frames([_td()], soap, symmetry_tol=MAX_SYMMETRY_TOL)
    assert analysis.symmetric
    assert residual_tolerance_value("tol", 0.5) == 0.5
    for bad in (0, -1.0, math.nan, "x"):
        with pytest.raises(DegeneracyError, match=r"^tol must be a (positive )?number"):
            residual_tolerance_value("tol", bad)


def test_the_command_line_keeps_its_words_with_the_shared_bound():
    """The command line calls the library's check with the option's name."""
    with pytest.raises(DegeneracyError) as error:
        residual_tolerance_value("--relation-tol", 1e308)
    assert str(error.value) == (
        "--relation-tol must be at most 0.5 Å (an RMS residual of half a bond: every "
        "superposition would pass), got 1e+308"
    )
    assert symmetry_tolerance_value("--symmetry-tol", 0.15) == 0.15
    with pytest.raises(DegeneracyError) as error:
        symmetry_tolerance_value("--symmetry-tol", 0.2)
    assert str(error.value) == (
        "--symmetry-tol must be at most 0.15 Å (beyond it an operation forces no zero at "
        "the frame), got 0.2"
    )


CONNECT_REFUSAL = (
    "connect_timeout must be at most 3600 s (an hour; a scheduler that is not up by then "
    "is not coming), got 1e+308"
)


def test_scan_dataset_caps_the_connect_timeout_before_any_work(methane_file, tmp_path):
    soap = dg.SoapPowerSpectrum(n_max=2, l_max=2)
    with pytest.raises(DegeneracyError) as error:
        dg.scan_dataset(
            methane_file, soap, output=tmp_path / "r.csv",
            scheduler="tcp://127.0.0.1:1", connect_timeout=1e308,
        )  # fmt: skip
    assert str(error.value) == CONNECT_REFUSAL
    assert not list(tmp_path.iterdir())


def test_dask_client_caps_the_connect_timeout():
    with (
        pytest.raises(DegeneracyError) as error,
        dask_client(scheduler="tcp://127.0.0.1:1", connect_timeout=1e308),
    ):
        pass
    assert str(error.value) == CONNECT_REFUSAL
    assert connect_timeout_value(MAX_CONNECT_TIMEOUT) == 3600.0
    with pytest.raises(DegeneracyError, match=r"^--connect-timeout must be a positive number"):
        connect_timeout_value(0, "--connect-timeout")


# --- learn --gradient-weight: a bound, and what a divergence suggests -------------------


GRADIENT_REFUSAL = (
    "gradient_weight must be at most 10000 Å² ((100 Å)²; a larger weight drowns the energy "
    "term in the gradient term), got {!r}"
)


@pytest.mark.parametrize("weight", [10000.5, 1e30, 1e300, math.inf])
def test_train_settings_refuse_a_gradient_weight_above_the_bound(weight):
    with pytest.raises(DegeneracyError) as error:
        TrainSettings(gradient_weight=weight)
    expected = GRADIENT_REFUSAL.format(weight)
    if math.isinf(weight):  # not finite: refused as no number at all
        expected = "gradient_weight must be a number ≥ 0, got inf"
    assert str(error.value) == expected


def test_train_settings_take_weights_up_to_the_bound():
    assert MAX_GRADIENT_WEIGHT == 1e4
    assert TrainSettings(gradient_weight=1e4).gradient_weight == 1e4
    assert TrainSettings(gradient_weight="100").gradient_weight == 100.0
    assert TrainSettings.quick(gradient_weight=0).gradient_weight == 0.0
    with pytest.raises(DegeneracyError, match=r"^gradient_weight must be a number ≥ 0, got -1"):
        TrainSettings(gradient_weight=-1)


def test_learn_refuses_a_huge_gradient_weight_before_any_work(tmp_path, capsys):
    """`learn --quick --gradient-weight 1e300` made the data and features, then diverged
    to NaN in the first epoch and said to lower --lr."""
    output = tmp_path / "run"
    argv = ["learn", "--quick", "--output", str(output), "--gradient-weight", "1e300"]
    assert exit_status(argv) == 2
    assert one_error_line(capsys, "learn") == (
        "--gradient-weight must be at most 10000 Å² ((100 Å)²; a larger weight drowns the "
        "energy term in the gradient term), got 1e+300"
    )
    assert not output.exists()


def _overflowing_gradient_sets() -> tuple[TensorSet, TensorSet]:
    """Target gradients of 1e20: their squared error overflows float32, the gradient term
    of the loss is infinite while the energies are fine."""
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(32, 1, 4))
    jacobians = {"C": rng.normal(size=(32, 1, 4, 3))}
    train = TensorSet.from_numpy(
        {"C": inputs}, np.zeros(32), jacobians=jacobians, gradients=np.full((32, 3), 1e20)
    )
    return train, TensorSet.from_numpy({"C": inputs[:8]}, np.zeros(8))


def test_a_diverging_gradient_training_suggests_a_smaller_gradient_weight(tmp_path):
    train, val = _overflowing_gradient_sets()
    settings = TrainSettings(max_epochs=3, batch_size=16, gradient_weight=2.5)
    with pytest.raises(DegeneracyError) as error:
        Trainer(settings).fit(AtomicSumModel({"C": 4}, width=4), train, val)
    assert re.fullmatch(
        r"training diverged at epoch 1 \(training RMSE inf, validation RMSE [0-9.]+\), nothing "
        r"of the run is kept: train again with a smaller gradient_weight than 2\.5, or a "
        r"smaller learning_rate than 0\.001",
        str(error.value),
    )


def test_learn_says_so_in_option_terms(tmp_path, cache, capsys, monkeypatch):
    """With --gradient-weight the line names it (and --lr); without, only --lr."""
    from test_learning_damage import nan_from_epoch
    from test_learning_inputs import _quick_learn, _straight_orbit

    orbit_file, output = tmp_path / "orbit.extxyz", tmp_path / "out"
    _straight_orbit(orbit_file)
    nan_from_epoch(1, monkeypatch)
    argv = [*_quick_learn(orbit_file, output), "--gradient-weight", "3"]
    assert exit_status(argv) == 2
    line = one_error_line(capsys, "learn")
    assert line.startswith("training diverged at epoch 1 (training RMSE nan"), line
    assert line.endswith(
        "nothing of the run is kept: train again with a smaller --gradient-weight than 3, or "
        "a smaller --lr than 0.001"
    ), line
    assert not {p.name for p in output.iterdir()} & {*RESULT_FILES, "checkpoint.pt"}
