"""Validation of user-given parameters; each failure names the parameter and its value."""

from __future__ import annotations

import math
import operator
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DegeneracyError


def _as_float(name: str, value: Any) -> float:
    """``float(value)``; strings that are not numbers and bools (``sigma=True``, numpy's
    ``np.True_`` too) refused."""
    if isinstance(value, bool | np.bool_):
        raise DegeneracyError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DegeneracyError(f"{name} must be a number, got {value!r}") from None


def number_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a float array; else ``"{what} are not numbers (numpy's reason)"``
    (a string, None or a ragged list would otherwise fail deep inside numpy)."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise DegeneracyError(f"{what} are not numbers ({error})") from error


def finite_float(name: str, value: Any, what: str = "number") -> float:
    """``value`` as a finite float of either sign; else ``"{name} must be a finite
    {what}"``."""
    number = _as_float(name, value)
    if not math.isfinite(number):
        raise DegeneracyError(f"{name} must be a finite {what}, got {value!r}")
    return number


def positive_float(name: str, value: Any, *, below: float | None = None) -> float:
    """``value`` as a finite float > 0 (and < ``below`` if given)."""
    number = _as_float(name, value)
    if not math.isfinite(number) or number <= 0:
        # inf is positive: say finite (a library call with 1e400 arrives here as inf)
        kind = "finite positive" if math.isinf(number) else "positive"
        raise DegeneracyError(f"{name} must be a {kind} number, got {value!r}")
    if below is not None and number >= below:
        raise DegeneracyError(f"{name} must be smaller than {below}, got {value!r}")
    return number


def bounded_float(
    name: str,
    value: Any,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    unit: str = "",
    why: str,
    zero: bool = False,
) -> float:
    """``value`` as a finite float > 0 (≥ 0 with ``zero``) in [``at_least``, ``at_most``];
    one outside is refused with the bound and ``why`` it is there (``symmetry_tol must be
    at most 0.5 Å (...), got 2.0``; ``--fd-step must be at least 1e-10 Å (...), got 0``).

    ``unit`` follows the bound as written (``" Å"``, ``" s"``).
    """
    number = non_negative_float(name, value) if zero else positive_float(name, value)
    if at_least is not None and number < at_least:
        bound = f"at least {at_least:g}{unit}"
    elif at_most is not None and number > at_most:
        bound = f"at most {at_most:g}{unit}"
    else:
        return number
    raise DegeneracyError(f"{name} must be {bound} ({why}), got {value!r}")


#: Largest tolerance on an RMS residual of a superposition of the neighbours (Å): the
#: ``tol`` of a pair's relation (``pairs --relation-tol``; ``symmetry_tol`` has its own,
#: :data:`MAX_SYMMETRY_TOL`). At half a C–H bond any two environments of one composition,
#: or any operation, would pass (``--relation-tol 1e308`` called unrelated pairs related);
#: the default is 1e-3 Å.
MAX_RESIDUAL_TOL = 0.5

#: Why :data:`MAX_RESIDUAL_TOL` is there, in its refusals.
RESIDUAL_TOL_REASON = "an RMS residual of half a bond: every superposition would pass"


#: Largest ``symmetry_tol`` (Å): the near-symmetry test's reach
#: (:data:`~degeneracy.sensitivity.NEAR_SYMMETRY_REACH`), beyond which a point
#: operation forces no zero at the frame (forced zeros persist, measured, up to 0.075 Å
#: away). A looser tolerance credited a symmetry with zeros it does not force: at 0.2 Å,
#: A0 (C2v to 0.18 Å, one zero where C2v forces 8) was "SYMMETRIC: zeros forced by
#: symmetry".
MAX_SYMMETRY_TOL = 0.15

#: Why :data:`MAX_SYMMETRY_TOL` is there, in its refusals.
SYMMETRY_TOL_REASON = "beyond it an operation forces no zero at the frame"


def symmetry_tolerance_value(name: str, value: Any) -> float:
    """``value`` of the symmetry tolerance ``name`` (an RMS residual, Å), in
    (0, :data:`MAX_SYMMETRY_TOL`]; else named, with the bound and its reason."""
    return bounded_float(name, value, at_most=MAX_SYMMETRY_TOL, unit=" Å", why=SYMMETRY_TOL_REASON)


def residual_tolerance_value(name: str, value: Any) -> float:
    """``value`` of the tolerance ``name`` on an RMS residual (Å), in
    (0, :data:`MAX_RESIDUAL_TOL`]; else named, with the bound and its reason."""
    return bounded_float(name, value, at_most=MAX_RESIDUAL_TOL, unit=" Å", why=RESIDUAL_TOL_REASON)


def non_negative_float(name: str, value: Any) -> float:
    """``value`` as a finite float ≥ 0."""
    number = _as_float(name, value)
    if not math.isfinite(number) or number < 0:
        raise DegeneracyError(f"{name} must be a number ≥ 0, got {value!r}")
    return number


def bounded_int(
    name: str, value: Any, *, minimum: int, maximum: int | None = None, why: str | None = None
) -> int:
    """``value`` as an int in ``[minimum, maximum]``; ``why`` the maximum is there, added
    in brackets to the refusal of a larger value.

    Python and numpy integers (``np.arange`` of a hyperparameter grid) and integral floats
    are accepted; bools and other floats refused.
    """
    if isinstance(value, bool | np.bool_):
        raise DegeneracyError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    try:
        value = operator.index(value)
    except TypeError:
        raise DegeneracyError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        above = maximum is not None and value > maximum
        reason = f" ({why})" if why is not None and above else ""
        raise DegeneracyError(f"{name} must be at least {minimum}{upper}, got {value!r}{reason}")
    return int(value)


#: Most structures a sampler draws at once: each becomes an ase.Atoms held in memory
#: (~2 kB for CH4, so 10 million take ~20 GB); numpy would fail deeper with a raw
#: "Maximum allowed dimension exceeded" or an allocation error.
MAX_STRUCTURES = 10_000_000


def structure_count(value: Any) -> int:
    """A number of structures to draw: a Python or numpy integer in [0,
    :data:`MAX_STRUCTURES`] (not a bool)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer) or value < 0:
        raise DegeneracyError(f"number of structures must be a non-negative integer, got {value!r}")
    if value > MAX_STRUCTURES:
        raise DegeneracyError(
            f"number of structures must be at most {MAX_STRUCTURES}, got {value!r} (each is "
            "an ase.Atoms held in memory)"
        )
    return int(value)


def seeded_generator(seed: Any, name: str = "seed") -> np.random.Generator:
    """numpy's default generator for ``seed``, an integer ≥ 0 (named if it is not), or
    ``seed`` itself if it is already a generator.

    numpy would say ``SeedSequence expects int or sequence of ints`` for ``0.5`` and
    ``expected non-negative integer`` for ``-1``, without naming the argument.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(bounded_int(name, seed, minimum=0))


def one_of(name: str, value: Any, choices: Collection[str]) -> str:
    """``value`` if it is one of ``choices`` (a string: an array's ``in`` would be
    elementwise, ambiguous as a truth value)."""
    if not isinstance(value, str) or value not in choices:
        raise DegeneracyError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def text_beside(value: float, limit: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, or to as many more as it takes to read
    differently from ``limit`` at the same number: "0.4999999 Å apart, closer than the
    minimum distance 0.5 Å", not "0.5 Å apart, closer than ... 0.5 Å"."""
    for shown in range(digits, 18):
        text = f"{value:.{shown}g}"
        if text != f"{limit:.{shown}g}":
            return text
    return repr(value)


def true_or_false(name: str, value: Any) -> bool:
    """``value`` as a ``bool`` if it is one (numpy's included); else named: ``"yes"``,
    ``0`` or None are not a choice to guess at."""
    if not isinstance(value, bool | np.bool_):
        raise DegeneracyError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def optional_callable(name: str, value: Any) -> Any:
    """``value`` if it is None or callable; else named (it would fail only when first
    called, after the work before it)."""
    if value is not None and not callable(value):
        raise DegeneracyError(f"{name} must be callable or None, got {value!r}")
    return value


def path_value(name: str, value: Any) -> Path:
    """``value`` (a ``str`` or path-like) as a :class:`~pathlib.Path`; else named, where
    pathlib would say ``expected str, bytes or os.PathLike object, not int``."""
    if not isinstance(value, str | os.PathLike) or value == "":
        raise DegeneracyError(f"{name} must be a file name, got {value!r}")
    return Path(value)


def check_not_a_stream(path: str | os.PathLike, contents: str, why: str = "") -> None:
    """Refuse a file of ``contents`` (``"structures"``, ``"an optimal basis"``) that is a
    pipe, a socket or a device, in one line (``why``: a reason of the reader's own).

    Opening a pipe nobody writes to waits forever, and a pipe gives its content to its
    first reader only; a device (``/dev/zero``) may never end. A path that cannot be
    examined, or a folder, is left to the caller, which says why.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError, TypeError):
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    if stat.S_ISFIFO(mode):
        kind = "a pipe"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "a device"
    raise DegeneracyError(
        f"{os.fspath(path)}: cannot read {contents} from {kind}, only from a regular file"
        f"{why}; save it to a file first"
    )


def existing_file(value: Any, what: str = "file") -> Path:
    """``value`` as a :class:`~pathlib.Path` to an existing file, not a folder.

    ``what`` names the expected file in the errors: ``runs: is a folder, not a structure
    file``, ``basis file must be a file name, got 5`` (and ``f.xyz: no such file``).
    """
    path = path_value(what, value)
    if not path.exists():
        # "-" is standard input to many tools; here it would be a file of that name
        stdin = (
            "; standard input is not read ('-' names a file): name one" if str(value) == "-" else ""
        )
        raise DegeneracyError(f"{path}: no such file{stdin}")
    if path.is_dir():
        raise DegeneracyError(f"{path}: is a folder, not a {what}")
    if os.fspath(value).endswith(("/", os.sep)):  # pathlib drops the slash; the OS would not
        raise DegeneracyError(f"{os.fspath(value)}: not a folder ({path} is a file)")
    return path
