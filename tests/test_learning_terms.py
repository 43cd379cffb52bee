"""The learning library's checks of a run folder in keyword terms, ``learn``'s in its
options; ``predict`` reads ``model.pt`` once; ``learn``'s lock file (helper-163, 2026-12-08).

The checks of what a folder holds (``check_same_protocol``, ``check_same_layout``,
``check_same_training``, ``check_same_orbit``, ``check_not_a_reproduction``) said
``--protocol``, ``--seed``, ``--restart`` and ``--output`` to a notebook's caller too,
who has none of these options; ``predict --model DIR`` read ``DIR/model.pt`` twice
(``load_model``, then ``load_domain``)."""

from __future__ import annotations

import fcntl
import json
import re
import shutil
from dataclasses import replace

import pytest
import torch
from conftest import counted_calls
from test_learning import small_soap, tiny_data

import degeneracy as dg
from degeneracy import DegeneracyError
from degeneracy.cli import build_parser, main
from degeneracy.files import OUTPUT_LOCK
from degeneracy.learning import (
    CentreFeaturizer,
    TrainSettings,
    load_model,
    predict_frames,
    run_protocol,
)
from degeneracy.learning.datasets import Dataset
from degeneracy.learning.protocols import (
    check_not_a_reproduction,
    check_same_layout,
    check_same_orbit,
    check_same_protocol,
    check_same_training,
    load_domain,
)

SETTINGS = TrainSettings(max_epochs=3, batch_size=64)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data):
    """A finished ``none`` run (3 epochs), trained once for the module."""
    root = tmp_path_factory.mktemp("terms")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEGENERACY_CACHE", str(root / "cache"))
        run_protocol(
            "none", CentreFeaturizer(small_soap()), data, output=root / "run", settings=SETTINGS,
            baselines=False, gradient_errors=False,
        )  # fmt: skip
    return root / "run"


def _learn_names() -> dict[str, str]:
    return build_parser().parse_args(["learn", "--output", "d"]).option_names


def _message(check, *args, **kwargs) -> str:
    with pytest.raises(DegeneracyError) as raised:
        check(*args, **kwargs)
    return str(raised.value)


def _no_option(message: str) -> None:
    assert not re.search(r"(?<![\w-])--[a-z]", message), message


def test_the_library_s_run_checks_name_its_keywords(tmp_path, trained, data):
    """They said "--protocol none", "--seed 0", "--restart", "--output", "--protocol all
    --repeats" from Python too."""
    finished = tmp_path / "finished"
    shutil.copytree(trained, finished)
    said = _message(check_same_protocol, finished, "subset")
    assert said == (
        f'{finished} holds a finished learn protocol="none" run (metrics.json); this run asks '
        'for protocol="subset": choose another output=..., or add restart=True to replace it'
    )
    interrupted = tmp_path / "interrupted"
    shutil.copytree(trained, interrupted)
    (interrupted / "metrics.json").unlink()  # its checkpoint says which protocol
    said = _message(check_same_protocol, interrupted, "full")
    assert said == (
        f'{interrupted} holds an interrupted learn protocol="none" run (checkpoint.pt); this '
        'run asks for protocol="full": choose another output=..., add restart=True to replace '
        'it, or rerun with protocol="none" to resume it'
    )
    for folder, kind in ((finished, "finished"), (interrupted, "interrupted")):
        said = _message(check_same_training, folder, replace(SETTINGS, seed=3), 80, 2)
        assert said == (
            f"{folder} holds a {kind} learn run with seed=0; this run asks for seed=3: "
            "choose another output=..., or add restart=True to replace it"
        )
    said = _message(check_same_training, finished, SETTINGS, 16, 2)
    assert "with width=80; this run asks for width=16: " in said
    said = _message(check_same_training, finished, replace(SETTINGS, lr_factor=0.5), 80, 2)
    assert "with lr_factor=0.8; this run asks for lr_factor=0.5: " in said
    said = _message(check_same_layout, finished, all_protocols=True, repeats=2)
    assert said == (
        f'{finished} holds the results of another kind of run, learn protocol="none" '
        "(model.pt); a run of all_protocols=True repeats=... would leave them beside its "
        "own: choose another output=..., or remove them"
    )
    seeded = tmp_path / "seeded"
    for seed in (0, 1):
        (seeded / f"seed-{seed}").mkdir(parents=True)
        (seeded / f"seed-{seed}" / "model.pt").write_bytes(b"")
    said = _message(check_same_layout, seeded, all_protocols=False, repeats=1, protocol="full")
    assert said.startswith(
        f"{seeded} holds the results of another kind of run, learn (one protocol) repeats=... "
        '(seed-0/model.pt, seed-1/model.pt); a run of protocol="full" would leave them'
    )
    half = Dataset("orbit", data["orbit"].frames[::2])
    said = _message(check_same_orbit, [finished], half)
    assert said.endswith(
        "differ): add restart=True to replace the runs, or choose another output=..."
    )
    (tmp_path / "reproduced" / "steps").mkdir(parents=True)
    (tmp_path / "reproduced" / "steps" / "orbits.json").write_text("{}")
    said = _message(check_not_a_reproduction, tmp_path / "reproduced")
    assert said.endswith("not a learn run: choose another output=...")
    for message in (said, _message(check_same_protocol, finished, "subset")):
        _no_option(message)


@pytest.mark.parametrize(
    ("library", "command_line"),
    [
        ('DIR holds a finished learn protocol="none" run (metrics.json); this run asks for '
         'protocol="subset": choose another output=..., or add restart=True to replace it',
         "DIR holds a finished learn --protocol none run (metrics.json); this run asks for "
         "--protocol subset: choose another --output, or add --restart to replace it"),
        ('DIR holds an interrupted learn protocol="none" run (checkpoint.pt); this run asks '
         'for protocol="full": choose another output=..., add restart=True to replace it, or '
         'rerun with protocol="none" to resume it',
         "DIR holds an interrupted learn --protocol none run (checkpoint.pt); this run asks "
         "for --protocol full: choose another --output, add --restart to replace it, or "
         "rerun with --protocol none to resume it"),
        ("DIR holds a finished learn run with seed=0; this run asks for seed=3: choose "
         "another output=..., or add restart=True to replace it",
         "DIR holds a finished learn run with --seed 0; this run asks for --seed 3: choose "
         "another --output, or add --restart to replace it"),
        ("run with learning_rate=0.001; this run asks for learning_rate=0.01: x",
         "run with --lr 0.001; this run asks for --lr 0.01: x"),
        ("run with batch_size=256; this run asks for batch_size=32: x",
         "run with --batch-size 256; this run asks for --batch-size 32: x"),
        ("run with gradient_weight=0.0; this run asks for gradient_weight=0.1: x",
         "run with --gradient-weight 0.0; this run asks for --gradient-weight 0.1: x"),
        ("run with lr_factor=0.8; this run asks for lr_factor=0.5: x",
         "run with lr_factor (of --quick or --comment-settings) 0.8; this run asks for "
         "lr_factor (of --quick or --comment-settings) 0.5: x"),
        ("run with min_learning_rate=1e-05; this run asks for min_learning_rate=1e-08: x",
         "run with min_learning_rate (of --quick or --comment-settings) 1e-05; this run asks "
         "for min_learning_rate (of --quick or --comment-settings) 1e-08: x"),
        ('DIR holds the results of another kind of run, learn all_protocols=True repeats=... '
         '(seed-0/full/model.pt); a run of protocol="none" would leave them beside its own: '
         "choose another output=..., or remove them",
         "DIR holds the results of another kind of run, learn --protocol all --repeats "
         "(seed-0/full/model.pt); a run of --protocol none would leave them beside its own: "
         "choose another --output, or remove them"),
        # a folder or file the user named is theirs: not a keyword
        ("/data/seed=1/run holds a run; x=3 and name=0 are no options",
         "/data/seed=1/run holds a run; x=3 and name=0 are no options"),
    ],
)  # fmt: skip
def test_learn_says_the_library_s_keywords_as_its_options(library, command_line):
    """As every command's errors are said (``cli.in_option_terms``, with learn's
    ``PARAMETER_OPTIONS``)."""
    from degeneracy.cli import in_option_terms

    assert in_option_terms(library, _learn_names()) == command_line


def test_learn_refuses_in_its_options_before_any_work(tmp_path, trained, data, capsys, monkeypatch):
    """The command line's refusals read as before the library spoke in keywords."""
    import degeneracy.cli.learn as learn_cli

    output = tmp_path / "out"
    shutil.copytree(trained, output)
    monkeypatch.setattr(learn_cli, "datasets_from_args", lambda *a: pytest.fail("data made"))
    argv = ["learn", "--quick", "--no-progress", "--output", str(output)]
    expected = {
        ("--protocol", "subset"): f"{output} holds a finished learn --protocol none run "
        "(metrics.json); this run asks for --protocol subset: choose another --output, or add "
        "--restart to replace it",
        ("--protocol", "all"): f"{output} holds the results of another kind of run, learn "
        "--protocol none (model.pt); a run of --protocol all would leave them beside its own: "
        "choose another --output, or remove them",
        ("--seed", "5"): f"{output} holds a finished learn run with --seed 0; this run asks "
        "for --seed 5: choose another --output, or add --restart to replace it",
    }
    for options, line in expected.items():
        assert main([*argv, *options]) == 2
        assert capsys.readouterr().err == f"degeneracy learn: error: {line}\n"
    # with --protocol all on another orbit: once the data are made (here: the orbit only)
    every = tmp_path / "every"
    shutil.copytree(trained, every / "none")
    monkeypatch.setattr(learn_cli, "featurizer_from_args", lambda args: None)
    monkeypatch.setattr(
        learn_cli,
        "datasets_from_args",
        lambda *a: {"orbit": Dataset("orbit", data["orbit"].frames[::2])},
    )
    argv = [
        "learn",
        "--batch-size",
        "64",
        "--protocol",
        "all",
        "--output",
        str(every),
    ]  # its settings
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"degeneracy learn: error: {every / 'none'} holds a run on another orbit than this "
        "run's (its orbit frames or their targets differ): add --restart to replace the "
        "runs, or choose another --output\n"
    )


def test_predict_reads_the_model_file_once(tmp_path, trained, capsys, monkeypatch):
    """load_model and then load_domain each read (torch.load) DIR/model.pt."""
    argv = ["predict", "--model", str(trained), "--builtin", "pg-start", "--format", "csv"]
    calls = counted_calls(monkeypatch, torch, "load")
    assert main(argv) == 0
    assert len(calls) == 1
    captured = capsys.readouterr()
    header, row = captured.out.splitlines()
    assert header == "frame,prediction,in_domain,domain_ratio"
    # the same model, features and domain as load_model and load_domain give
    from degeneracy.learning.protocols import load_model_and_domain

    model, featurizer, metadata, domain = load_model_and_domain(trained)
    again_model, again_featurizer, again_metadata = load_model(trained)
    assert metadata == again_metadata and featurizer.key() == again_featurizer.key()
    frames = [dg.builtin_environment("pg-start")]
    predicted = float(predict_frames(again_model, again_featurizer, frames)[0])
    assert row.split(",")[:2] == ["0", str(predicted)]  # as load_model's model predicts
    for (name, value), (_, again) in zip(
        model.state_dict().items(), again_model.state_dict().items(), strict=True
    ):
        assert torch.equal(value, again), name
    assert domain.thresholds == load_domain(trained, model.config["n_features"]).thresholds


def test_predict_names_a_damaged_domain_as_before(tmp_path, trained, capsys):
    """The domain's errors name the file, from the one read as from load_domain."""
    from degeneracy.learning.protocols import load_model_and_domain

    folder = tmp_path / "damaged"
    shutil.copytree(trained, folder)
    payload = torch.load(folder / "model.pt", weights_only=True)
    del payload["domain"]["thresholds"]
    torch.save(payload, folder / "model.pt")
    expected = f"{folder / 'model.pt'}: its applicability domain is damaged (missing "
    with pytest.raises(DegeneracyError, match=re.escape(expected)):
        load_domain(folder)
    with pytest.raises(DegeneracyError, match=re.escape(expected)):
        load_model_and_domain(folder)
    assert main(["predict", "--model", str(folder), "--builtin", "pg-start"]) == 2
    assert capsys.readouterr().err.startswith(f"degeneracy predict: error: {expected}")


def test_learn_s_lock_file_stays_released_and_blocks_nothing(trained):
    """Left on purpose, as reproduce's and family's (files.exclusive_output): the lock goes
    with the process; removing the file would let two runs lock two files at once."""
    with open(trained / OUTPUT_LOCK) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: another run may take it
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["protocol"] == "none"
