"""Input checks of the public scan and orbit API (black-box hunt helper-101, P6 and P10).

``row_verdicts`` refuses arrays without one entry a row each; ``RepresentationRecipe``
refuses a class that is not a representation and bad hyperparameters when it is built
(by building the representation once, as :meth:`RepresentationRecipe.of` already did);
``most_singular`` names the columns a table lacks, as ``without_kinks`` does;
``OrbitSettings`` / ``trace_orbit`` refuse a ``reverse`` that is not a bool.
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pyarrow as pa
import pytest

import degeneracy as dg
from degeneracy import scan as scanning
from degeneracy.orbits import OrbitSettings

# --------------------------------------------------------------------------------------
# row_verdicts


def test_row_verdicts_refuse_a_reason_list_of_another_length_naming_both():
    s, kink = np.ones(3), np.zeros(3, dtype=bool)
    with pytest.raises(dg.DegeneracyError, match="1 reasons for 3 rows"):
        dg.row_verdicts(s, s, kink, [""])
    with pytest.raises(dg.DegeneracyError, match="4 reasons for 3 rows"):
        dg.row_verdicts(s, s, kink, [""] * 4)


@pytest.mark.parametrize("reason", ["", None, 3])
def test_row_verdicts_refuse_a_reason_that_is_not_a_sequence(reason):
    with pytest.raises(dg.DegeneracyError, match="reason must be a sequence"):
        dg.row_verdicts([1.0], [1.0], [False], reason)


def test_row_verdicts_refuse_arrays_that_are_not_one_entry_a_row():
    with pytest.raises(dg.DegeneracyError, match=r"1-D.*shape \(3, 1\)"):
        dg.row_verdicts(np.ones((3, 1)), np.ones((3, 1)), np.zeros((3, 1), bool), [""] * 3)
    with pytest.raises(dg.DegeneracyError, match=r"1-D.*shape \(\)"):
        dg.row_verdicts(1.0, 1.0, False, [""])
    with pytest.raises(dg.DegeneracyError, match="one shape"):
        dg.row_verdicts(np.ones(3), np.ones(2), np.zeros(3, bool), [""] * 3)


def test_row_verdicts_of_valid_rows_are_unchanged():
    s_max = np.array([1.0, 1.0, np.nan])
    s_min = np.array([0.5, 0.0, np.nan])
    kink = [False, False, False]
    assert dg.row_verdicts(s_max, s_min, kink, ["", "", "collinear"]) == ["regular", "zero", ""]
    reasons = np.array(["", "", "collinear"])  # a column of strings, as from a table
    assert dg.row_verdicts(list(s_max), list(s_min), kink, reasons) == ["regular", "zero", ""]
    assert dg.row_verdicts([], [], [], []) == []


# --------------------------------------------------------------------------------------
# RepresentationRecipe


@pytest.mark.parametrize("cls", [int, dict, "soap", None])
def test_recipe_refuses_what_is_not_a_representation_class(cls):
    with pytest.raises(dg.DegeneracyError, match="representation recipe 'x'"):
        dg.RepresentationRecipe(cls, {}, name="x")


def test_recipe_refuses_a_class_that_does_not_build_a_fingerprint():
    class NotAFingerprint:
        def __init__(self, width: float = 1.0) -> None:
            self.width = width

    with pytest.raises(dg.DegeneracyError, match="NotAFingerprint does not build a fingerprint"):
        dg.RepresentationRecipe(NotAFingerprint, {}, name="x")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_max": 0}, "n_max must be at least 1"), ({"bogus": 1}, "unexpected keyword.*bogus")],
)
def test_recipe_refuses_bad_hyperparameters_when_it_is_built(kwargs, match):
    with pytest.raises(dg.DegeneracyError, match=f"cannot build representation 'soap'.*{match}"):
        dg.RepresentationRecipe(dg.SoapPowerSpectrum, kwargs, name="soap")


@pytest.mark.parametrize(("kwargs", "name"), [(None, "soap"), ([("n_max", 2)], "soap"), ({}, 3)])
def test_recipe_refuses_kwargs_that_are_not_a_mapping_and_a_name_that_is_not_a_string(kwargs, name):
    with pytest.raises(dg.DegeneracyError, match=r"kwargs must be a mapping|name must be a string"):
        dg.RepresentationRecipe(dg.SoapPowerSpectrum, kwargs, name=name)


class _Counted(dg.Acsf):
    """An ACSF that counts its constructions."""

    built = 0

    def __init__(self, **kwargs):
        type(self).built += 1
        super().__init__(**kwargs)


def test_recipe_builds_the_representation_once_and_workers_rebuild_it_as_before():
    _Counted.built = 0
    recipe = scanning.RepresentationRecipe.of(_Counted(cutoff=3.0))
    assert _Counted.built == 2  # the given one, and one check of its hypers() (as before)
    assert scanning.RepresentationRecipe.of(recipe) is recipe
    assert _Counted.built == 2
    # nothing built travels with the recipe: its state is what it was
    assert set(vars(recipe)) == {
        "cls",
        "kwargs",
        "name",
        "basis_identity",
        "species_aware",
        "token",
    }
    copy = pickle.loads(pickle.dumps(recipe))  # as a worker receives it: no check, no build
    assert _Counted.built == 2
    assert copy.token == recipe.token and copy.kwargs == recipe.kwargs
    built = copy.build()
    assert isinstance(built, _Counted) and built.hypers() == recipe.build().hypers()


def test_recipe_of_a_representation_is_unchanged():
    soap = dg.SoapPowerSpectrum(n_max=3, l_max=2)
    recipe = dg.RepresentationRecipe.of(soap)
    direct = dg.RepresentationRecipe(soap.__class__, recipe.kwargs, name=recipe.name)
    assert direct.token == recipe.token and direct.describe() == recipe.describe()
    assert recipe.build(6, (1,)).hypers() == soap.hypers()


def test_recipe_of_names_hypers_that_do_not_rebuild():
    class Broken(dg.Acsf):
        def hypers(self):
            return {**super().hypers(), "cutoff": -1.0}

    with pytest.raises(dg.DegeneracyError, match=r"from its hypers\(\): .*cutoff"):
        dg.RepresentationRecipe.of(Broken())


# --------------------------------------------------------------------------------------
# most_singular and without_kinks


def _table():
    return pa.table(
        {
            "structure": [0, 1, 2],
            "cn": [5.0, float("nan"), 9.0],
            "s_max": [1.0, float("nan"), 1.0],
            "s_min": [0.2, float("nan"), 1 / 9],
            "verdict": ["regular", "", "regular"],
        }
    )


def test_most_singular_names_the_columns_a_table_lacks():
    with pytest.raises(dg.DegeneracyError, match=r"columns cn, s_max, s_min.*it has structure"):
        dg.most_singular(_table().select(["structure"]), 2)
    with pytest.raises(dg.DegeneracyError, match="with a s_min column"):
        dg.most_singular(_table().drop_columns(["s_min"]), 2)
    with pytest.raises(dg.DegeneracyError, match="results must be a pyarrow Table"):
        dg.most_singular({"cn": [1.0]}, 2)
    assert [row["structure"] for row in dg.most_singular(_table(), 2)] == [2, 0]


def test_without_kinks_says_the_same_through_the_shared_check():
    with pytest.raises(dg.DegeneracyError, match=r"with a verdict column.*it has structure"):
        dg.without_kinks(_table().select(["structure"]))
    with pytest.raises(dg.DegeneracyError, match="got list"):
        dg.without_kinks([1])
    assert dg.without_kinks(_table()).num_rows == 3


# --------------------------------------------------------------------------------------
# reverse


@pytest.mark.parametrize("value", ["yes", "", 1, 0, None, 1.0, [True]])
def test_orbit_settings_refuse_a_reverse_that_is_not_a_bool(value):
    with pytest.raises(
        dg.DegeneracyError, match=re.escape(f"reverse must be True or False, got {value!r}")
    ):
        OrbitSettings(reverse=value)


@pytest.mark.parametrize("value", [True, False, np.True_, np.False_])
def test_orbit_settings_take_python_and_numpy_bools(value):
    settings = OrbitSettings(reverse=value)
    assert settings.reverse is bool(value)
    assert settings.to_dict()["reverse"] is bool(value)


def test_trace_orbit_refuses_a_reverse_that_is_not_a_bool_before_any_work():
    soap = dg.SoapPowerSpectrum(n_max=3, l_max=3)
    with pytest.raises(dg.DegeneracyError, match="reverse must be True or False, got 'yes'"):
        dg.trace_orbit(dg.regular_tetrahedron(), soap, reverse="yes", length=0.02)
