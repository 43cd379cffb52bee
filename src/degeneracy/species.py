"""Chemical species as the user names them: element symbols or atomic numbers.

One parser for every place that takes species (fingerprints' ``center`` and
``neighbors``, the optimal basis' fitting species, ``scan --centers``), so that they
accept the same spellings and refuse the same things with the same words. ase's table
(:data:`ase.data.atomic_numbers`) knows the elements; what it does not decide is how a
user's string splits into species and that its dummy atom ``"X"`` (number 0) is no
element, hence this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ase.data
import numpy as np

from .errors import DegeneracyError

#: How a species may be written, for error messages.
SPELLINGS = "element symbols such as C,H or atomic numbers"


def atomic_number(species: Any, *, name: str | None = None) -> int:
    """The atomic number of one species: an element symbol (``"Si"``) or an atomic
    number (1 to 118).

    Raises :class:`DegeneracyError` ``unknown element ...`` (after ``"{name}: "`` when
    given) for anything else, including ase's dummy atom ``"X"`` and a bool.
    """
    prefix = "" if name is None else f"{name}: "
    if isinstance(species, int | np.integer) and not isinstance(species, bool | np.bool_):
        if not 1 <= species < len(ase.data.chemical_symbols):
            raise DegeneracyError(
                f"{prefix}unknown element {species!r} (atomic numbers are 1 to 118)"
            )
        return int(species)
    if isinstance(species, str) and species in ase.data.atomic_numbers and species != "X":
        return ase.data.atomic_numbers[species]
    if isinstance(species, str) and species.isascii() and species.isdigit():
        raise DegeneracyError(f"{prefix}unknown element {species!r}; {_number_as_text(species)}")
    raise DegeneracyError(f"{prefix}unknown element {species!r}; give {SPELLINGS}")


def _number_as_text(text: str) -> str:
    """What to give instead of an atomic number written as text (``"6"``): its symbol, or
    the number as an integer."""
    number = int(text)
    if 1 <= number < len(ase.data.chemical_symbols):
        symbol = ase.data.chemical_symbols[number]
        return f"give its symbol {symbol!r} or the atomic number as an integer, {number}"
    return "atomic numbers are integers from 1 to 118, and elements are named by symbol"


def species_items(species: Any) -> list[Any]:
    """The items of a species list as written: one string is one species or several
    separated by commas or spaces (``"Si"``, ``"C,H"``, ``"C H"``), one integer is one
    atomic number, anything else is iterated.

    Raises :class:`DegeneracyError` for a value that is none of these.
    """
    if isinstance(species, str):
        return species.replace(",", " ").split()
    if isinstance(species, int | np.integer) and not isinstance(species, bool | np.bool_):
        return [species]
    try:
        return list(species)
    except TypeError:  # not iterable
        raise DegeneracyError(f"give {SPELLINGS}, got {species!r}") from None


def species_numbers(
    species: Any, *, name: str | None = None, ordered: bool = False
) -> tuple[int, ...]:
    """Atomic numbers of a list of species (:func:`species_items`), without repeats:
    sorted, or in the order given when ``ordered``.

    Errors name the parameter ``name`` when given (``"neighbors: unknown element 'Q'"``).

    Raises
    ------
    DegeneracyError
        For an unknown element, no species, or a value that is no list of species.
    """
    prefix = "" if name is None else f"{name}: "
    try:
        items = species_items(species)
    except DegeneracyError as error:
        raise DegeneracyError(f"{prefix}{error}") from None
    numbers = [atomic_number(item, name=name) for item in items]
    if not numbers:
        raise DegeneracyError(f"{prefix}no species given; give {SPELLINGS}")
    unique = dict.fromkeys(numbers)
    return tuple(unique) if ordered else tuple(sorted(unique))


def symbols_of(numbers: Iterable[int]) -> tuple[str, ...]:
    """Element symbols of atomic numbers."""
    return tuple(ase.data.chemical_symbols[int(z)] for z in numbers)


def species_text(symbols: Iterable[str]) -> str:
    """Element symbols by atomic number, comma-separated (unknown symbols last): one
    order for every message that lists species (``"H, C"``)."""
    order = {s: z for z, s in enumerate(ase.data.chemical_symbols)}
    return ", ".join(sorted(symbols, key=lambda s: order.get(s, len(order))))
