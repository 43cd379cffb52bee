"""One species parser for every entry point (degeneracy.species)."""

from __future__ import annotations

import numpy as np
import pytest

import degeneracy as dg
from degeneracy.environments import parse_species
from degeneracy.species import atomic_number, species_numbers


@pytest.mark.parametrize(
    ("written", "numbers"),
    [
        ("Si", (14,)),  # one string is one species, not "S" and "i"
        ("C,H", (1, 6)),
        ("H C H", (1, 6)),
        (["O", 1], (1, 8)),
        (np.int64(6), (6,)),
        ((6, "C"), (6,)),
    ],
)
def test_spellings(written, numbers):
    assert species_numbers(written) == numbers
    assert parse_species(written) == numbers
    assert dg.SoapPowerSpectrum(neighbors=written).neighbors == numbers


def test_order_is_kept_when_asked():
    assert species_numbers("H,C,H", ordered=True) == (1, 6)
    assert species_numbers("H,C,H") == (1, 6)
    assert species_numbers(["O", "C"], ordered=True) == (8, 6)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("X", "unknown element 'X'"),  # ase's dummy atom, number 0
        (0, r"unknown element 0 \(atomic numbers are 1 to 118\)"),
        (119, "unknown element 119"),
        (True, "give element symbols such as C,H or atomic numbers, got True"),
        ("HO", "unknown element 'HO'"),
        ("", "no species given"),
        (1.5, "give element symbols such as C,H or atomic numbers, got 1.5"),
        ("6", "unknown element '6'; give its symbol 'C' or the atomic number as an integer, 6"),
        ("C,1", "unknown element '1'; give its symbol 'H' or the atomic number as an integer"),
        ("200", "unknown element '200'; atomic numbers are integers from 1 to 118"),
    ],
)
def test_every_entry_point_refuses_the_same_things_alike(written, message):
    """Before, parse_species refused "X" while the fingerprints took it as atomic number 0,
    and the same mistake had three wordings ("unknown species", "unknown element",
    "unknown atomic number")."""
    with pytest.raises(dg.DegeneracyError, match=message):
        parse_species(written)
    with pytest.raises(dg.DegeneracyError, match=f"neighbors: {message}"):
        dg.SoapPowerSpectrum(neighbors=written)
    if not isinstance(written, str) or "," not in written:
        with pytest.raises(dg.DegeneracyError, match="neighbors: " + message):
            dg.make_representation("acsf", neighbors=written)


@pytest.mark.parametrize("center", ["X", 0, "Qq", True])
def test_centre_species_is_checked_and_named(center):
    with pytest.raises(dg.DegeneracyError, match="center: unknown element"):
        dg.SoapPowerSpectrum(center=center)
    with pytest.raises(dg.DegeneracyError, match="center: unknown element"):
        dg.make_representation("bispectrum", center=center)


def test_atomic_number():
    assert atomic_number("C") == 6
    assert atomic_number(np.int32(14)) == 14
    with pytest.raises(dg.DegeneracyError, match="frame 3: unknown element 'Zz'"):
        atomic_number("Zz", name="frame 3")
