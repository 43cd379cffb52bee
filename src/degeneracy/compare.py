r"""Sensitivity of several fingerprints on the same structures, side by side.

For every frame and fingerprint: the singular values :math:`s_1 \ge \dots \ge s_{3N-3}` of
the rotation-purified Jacobian (:func:`degeneracy.sensitivity.singular_spectrum`), the
condition number :math:`\mathrm{CN} = s_1 / s_{3N-3}` and the smallest singular value.
CN is scale-free and comparable across fingerprints; :math:`s_{3N-3}` depends on each
fingerprint's scale, so it is also reported relative to the feature norm,
:math:`s_{3N-3} / |x|` (Å⁻¹: the relative feature change per Å along the least visible
motion).

Beside them, per frame the two neighbour pairs nearest to having equal
:math:`(r_i, r_j, \theta_{ij})` (:func:`~degeneracy.sensitivity.nearest_coincidence`, a
property of the geometry) and, per fingerprint, :math:`\rho` of its softest motion with
the two grouped (:func:`~degeneracy.sensitivity.pair_swap_residual`): near 0 when what the
fingerprint sees worst is the trade of the two, the blind spot of ν = 2 fingerprints.
Where s_min is a multiple zero or tied with other values, its motions are an arbitrary
basis of their span: :math:`\rho` and the trade scale are then those of the span's most
trade-like motion (:func:`~degeneracy.sensitivity.softest_motions`), the same for any
basis and the same as ``spectrum``'s and ``scan``'s.

A fingerprint with fewer features than internal coordinates (d < 3N − 3, e.g. the s-only
overlap matrix for CH4) has :math:`3N - 3 - d` exact zeros: they are included, so its
CN is infinite.

Each frame and fingerprint also gets the verdict of
:func:`~degeneracy.sensitivity.spectrum_verdicts`, as in ``scan``: ``kink`` where the
fingerprint has no Jacobian (:func:`~degeneracy.sensitivity.kinks_of`, e.g. the overlap
matrix at T_d CH4, whose eigenvalues coincide; its CN is then one one-sided derivative's
and is left out of the CN statistics), ``regular`` where no singular value is below
:data:`~degeneracy.sensitivity.ZERO_RTOL` of s_1, else ``zero``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ase
import numpy as np

from .checks import bounded_int, true_or_false
from .errors import DegeneracyError
from .files import json_safe
from .representations.base import Representation, batches, fingerprint
from .sensitivity import (
    ZERO_RTOL,
    CoincidentPairs,
    check_analysable,
    condition_number,
    kinks_of,
    nearest_coincidence,
    singular_spectrum,
    softest_motions,
    spectrum_verdicts,
    trade_residual,
    trade_scale,
    unseen_pairs_of,
    warn_call_notes,
)
from .structures import frame_list, neighbor_positions


@dataclass(frozen=True)
class Comparison:
    """Per-frame sensitivity of several fingerprints.

    Attributes
    ----------
    names : list of str
        Fingerprint names, the column order of every array.
    singular_values : array (n_frames, n_fingerprints, 3N-3)
        Purified singular values, descending (zeros appended when d < 3N − 3).
    feature_norms : array (n_frames, n_fingerprints)
        :math:`|x|` per frame.
    nearest_coincidences : list of (str or None)
        Per frame, the label of its nearest equal pairs ("H2-H3 = H4-H3"), None with
        fewer than two pairs of one kind.
    coincidence_distances : array (n_frames,)
        Their distance (Å), NaN without them.
    near_swap_residuals : array (n_frames, n_fingerprints)
        :math:`\rho` of each fingerprint's softest motions
        (:func:`~degeneracy.sensitivity.softest_motions`: the smallest over them) with the
        two pairs grouped and the pairs it weighs out left out
        (:func:`~degeneracy.sensitivity.near_swap`), NaN without them.
    trade_scales : array (n_frames, n_fingerprints)
        :func:`~degeneracy.sensitivity.trade_scale` of each fingerprint's softest motions
        (Å): how equal pairs must be for one of them to be mostly their trade, any number
        of pairs (``inf``: no trade at any scale).
    kinks : array of bool (n_frames, n_fingerprints), optional
        Where the fingerprint has no Jacobian (:func:`~degeneracy.sensitivity.kinks_of`):
        its spectrum there is one one-sided derivative's. None: not recorded, taken as
        no kink.
    """

    names: list[str]
    singular_values: np.ndarray
    feature_norms: np.ndarray
    nearest_coincidences: list[str | None] = field(default_factory=list)
    coincidence_distances: np.ndarray | None = None
    near_swap_residuals: np.ndarray | None = None
    trade_scales: np.ndarray | None = None
    kinks: np.ndarray | None = None

    @property
    def s_max(self) -> np.ndarray:
        """Largest singular value s_1, (n_frames, n_fingerprints)."""
        return self.singular_values[..., 0]

    @property
    def s_min(self) -> np.ndarray:
        """Smallest singular value s_{3N-3}, (n_frames, n_fingerprints)."""
        return self.singular_values[..., -1]

    @property
    def cn(self) -> np.ndarray:
        """Condition numbers s_1 / s_{3N-3} (``inf`` where s_{3N-3} is zero or at
        round-off, ``nan`` when all singular values are zero; :func:`condition_number`)."""
        return condition_number(self.s_max, self.s_min, self.singular_values.shape[-1])

    @property
    def relative_s_min(self) -> np.ndarray:
        """s_{3N-3} / |x| in Å⁻¹."""
        return self.s_min / self.feature_norms

    @property
    def kink_mask(self) -> np.ndarray:
        """:attr:`kinks`, all False when not recorded, (n_frames, n_fingerprints)."""
        if self.kinks is None:
            return np.zeros(self.singular_values.shape[:2], dtype=bool)
        return np.asarray(self.kinks, dtype=bool)

    @property
    def verdicts(self) -> np.ndarray:
        """Verdict per frame and fingerprint, (n_frames, n_fingerprints) of str:
        ``"kink"``, ``"regular"`` or ``"zero"``, by the rule of ``scan``
        (:func:`~degeneracy.sensitivity.spectrum_verdicts` with
        :data:`~degeneracy.sensitivity.ZERO_RTOL`)."""
        return spectrum_verdicts(self.s_max, self.s_min, self.kink_mask, zero_rtol=ZERO_RTOL)

    def cn_without_kinks(self, k: int) -> np.ndarray:
        """The CNs of fingerprint ``k`` at the frames where it has a Jacobian (kinks left
        out, as ``scan``'s statistics do: a kink's CN is one one-sided derivative's)."""
        return self.cn[~self.kink_mask[:, k], k]

    def records(self) -> list[dict]:
        """One JSON-ready mapping per frame: ``{"frame", name: {"cn", "verdict", "s_min",
        ...}}``.

        An infinite CN (s_min zero or at round-off) is ``None`` (JSON null), keeping the
        output strict JSON.
        """
        out = []
        verdicts = self.verdicts
        for f in range(self.singular_values.shape[0]):
            row: dict = {"frame": f}
            for k, name in enumerate(self.names):
                row[name] = {
                    "cn": json_safe(self.cn[f, k]),
                    "verdict": str(verdicts[f, k]),
                    "s_min": float(self.s_min[f, k]),
                    "s_max": float(self.s_max[f, k]),
                    "relative_s_min": float(self.relative_s_min[f, k]),
                }
                if self.near_swap_residuals is not None:
                    row[name]["near_swap_residual"] = json_safe(self.near_swap_residuals[f, k])
                if self.trade_scales is not None:
                    row[name]["trade_scale"] = json_safe(self.trade_scales[f, k])  # inf: null
            if self.coincidence_distances is not None:
                row["nearest_coincidence"] = self.nearest_coincidences[f]
                row["coincidence_distance"] = json_safe(self.coincidence_distances[f])
            out.append(row)
        return out

    def summary(self) -> dict[str, dict[str, float]]:
        """Median, smallest and largest CN per fingerprint (``None`` for infinite, or
        when every frame is a kink), kinks left out (:meth:`cn_without_kinks`), their
        number ``n_kinks``, and the medians of :math:`\rho` and of the trade scale of its
        softest motions (``None`` when there is none, or infinite), kinks left out too:
        their softest motions come from a one-sided Jacobian."""
        out = {}
        for k, name in enumerate(self.names):
            cn = self.cn_without_kinks(k)
            out[name] = {
                "cn_median": json_safe(np.median(cn)) if cn.size else None,
                "cn_min": json_safe(np.min(cn)) if cn.size else None,
                "cn_max": json_safe(np.max(cn)) if cn.size else None,
                "n_kinks": int(self.kink_mask[:, k].sum()),
                "near_swap_residual_median": json_safe(self.median_residual(k)),
                "trade_scale_median": json_safe(self.median_trade_scale(k)),
            }
        return out

    def median_residual(self, k: int) -> float:
        """Median :math:`\rho` of fingerprint ``k`` over the frames that have one, kinks
        left out (NaN if none do)."""
        if self.near_swap_residuals is None:
            return float("nan")
        residuals = self.near_swap_residuals[~self.kink_mask[:, k], k]
        residuals = residuals[np.isfinite(residuals)]
        return float(np.median(residuals)) if residuals.size else float("nan")

    def median_trade_scale(self, k: int) -> float:
        """Median trade scale of fingerprint ``k`` (Å; ``inf`` counts, as "no trade"), kinks
        left out (NaN if every frame is one)."""
        if self.trade_scales is None or not len(self.trade_scales):
            return float("nan")
        scales = self.trade_scales[~self.kink_mask[:, k], k]
        return float(np.median(scales)) if scales.size else float("nan")


def fingerprints_by_name(representations: Any) -> dict[str, Representation]:
    """``representations`` as a mapping name -> fingerprint: a mapping as given, a sequence
    of fingerprints named by their ``name`` (two of one name must be given as a mapping);
    one fingerprint, a name or a non-sequence is refused."""
    if isinstance(representations, Mapping):
        return dict(representations)
    if isinstance(representations, Representation | str) or not isinstance(
        representations, Iterable
    ):
        raise DegeneracyError(
            "representations must be a mapping name -> fingerprint or a list of "
            f"fingerprints, got {type(representations).__name__}"
        )
    named = {}
    for representation in representations:
        name = fingerprint(representation).name
        if name in named:
            raise DegeneracyError(
                f"two {name} fingerprints: give them as a mapping with a name for each"
            )
        named[name] = representation
    return named


def compare_fingerprints(
    frames: Sequence[ase.Atoms],
    representations: Mapping[str, Representation],
    *,
    batch_size: int = 200,
    progress: bool = False,
    per_composition: bool = False,
) -> Comparison:
    r"""Purified spectra of every fingerprint on every frame.

    Parameters
    ----------
    frames : list of ase.Atoms
        Environments (centre first), all with the same number of neighbours.
    representations : mapping or sequence
        Fingerprint name -> :class:`Representation`, or the representations (named by
        their ``name``).
    batch_size : int
        Frames per Jacobian call (bounds memory for large fingerprints).
    progress : bool
        Show a progress bar.
    per_composition : bool
        Describe each frame with fingerprints of its own species: species-aware ones are
        rebuilt for each set of species among the frames
        (:func:`~degeneracy.compositions.compare_by_composition`), so that a frame's
        columns do not depend on the frames beside it. Without it every frame is
        described with the fingerprints as given.

    Each fingerprint's notes about the frames (its optional ``diagnose``, e.g. an ACSF
    set blind to some of them) are asked for all frames at once
    (:func:`~degeneracy.sensitivity.call_notes`) and issued as
    :class:`~degeneracy.errors.DegeneracyWarning`, counting every frame, as
    :func:`~degeneracy.sensitivity.analyse_frames` does.

    Returns
    -------
    Comparison
        The fingerprints in the order given; per frame the purified singular values and
        feature norms of each, whether it is a kink of each
        (:func:`~degeneracy.sensitivity.kinks_of`), the nearest equal pairs, and
        :math:`\rho` and the trade scale of each fingerprint's softest motions
        (:func:`~degeneracy.sensitivity.softest_motions`).

    Raises
    ------
    DegeneracyError
        When there are no frames or no fingerprints, two fingerprints of a sequence
        share a name, ``batch_size`` is not an integer ≥ 1, a fingerprint refuses the
        frames (:func:`~degeneracy.sensitivity.check_analysable`), the frames have
        different numbers of atoms, or a Jacobian has non-finite entries.
    """
    progress = true_or_false("progress", progress)
    if true_or_false("per_composition", per_composition):
        from .compositions import compare_by_composition  # it calls this function

        return compare_by_composition(
            frames, representations, batch_size=batch_size, progress=progress
        )
    frames = frame_list(frames)
    if not frames:
        raise DegeneracyError("no frames to compare")
    representations = fingerprints_by_name(representations)
    if not representations:
        raise DegeneracyError("no fingerprints to compare")
    batch_size = bounded_int("batch_size", batch_size, minimum=1)
    for representation in representations.values():
        check_analysable(frames, representation)
    for representation in representations.values():
        # asked for all frames at once, as analyse_frames does: by itself a fingerprint
        # warns about its first batch only (an ACSF set blind to frames of a later batch
        # said nothing)
        warn_call_notes(representation, frames)
    neighbors = neighbor_positions(frames)
    nearest = [
        nearest_coincidence(n, atoms.numbers[1:])
        for n, atoms in zip(neighbors, frames, strict=True)
    ]
    spectra, norms, kinks, residuals, scales = [], [], [], [], []
    for name, representation in representations.items():
        values, norm, kink = [], [], []
        for chunk in batches(frames, batch_size, progress=progress, desc=name):
            first = sum(map(len, values))
            features, jacobian = representation.jacobian(chunk)
            rows = slice(first, first + len(chunk))
            spectrum = singular_spectrum(jacobian, neighbors[rows], first_frame=first)
            values.append(spectrum.values)
            norm.append(np.linalg.norm(features, axis=1))
            kink.append(kinks_of(representation, chunk))
            for n, frame_values, frame_motions, pairs, atoms in zip(
                neighbors[rows],
                spectrum.values,
                spectrum.motions,
                nearest[rows],
                chunk,
                strict=True,
            ):
                softest = softest_motions(frame_values, frame_motions, zero_rtol=ZERO_RTOL)
                unseen = [] if pairs is None else unseen_pairs_of(representation, n, frame_values)
                residuals.append(_trade_residual(n, softest, pairs, unseen, atoms.numbers[1:]))
                scales.append(trade_scale(n, softest, atoms.numbers[1:]))
        spectra.append(np.concatenate(values))
        norms.append(np.concatenate(norm))
        kinks.append(np.concatenate(kink))
    symbols = [atoms.get_chemical_symbols()[1:] for atoms in frames]
    return Comparison(
        names=list(representations),
        singular_values=np.stack(spectra, axis=1),
        feature_norms=np.stack(norms, axis=1),
        nearest_coincidences=[
            None if pairs is None else pairs.label(names)
            for pairs, names in zip(nearest, symbols, strict=True)
        ],
        coincidence_distances=np.array(
            [np.nan if pairs is None else pairs.mismatch for pairs in nearest]
        ),
        near_swap_residuals=np.array(residuals).reshape(len(representations), -1).T,
        trade_scales=np.array(scales).reshape(len(representations), -1).T,
        kinks=np.stack(kinks, axis=1),
    )


def _trade_residual(
    neighbors: np.ndarray,
    motions: np.ndarray,
    pairs: CoincidentPairs | None,
    unseen: Sequence[tuple[int, int]],
    species: np.ndarray,
) -> float:
    """:func:`~degeneracy.sensitivity.near_swap`'s ρ of ``motions`` (k, 3N), the smallest
    over their span, with ``pairs`` grouped and the ``unseen`` pairs (those the
    fingerprint weighs out) left out where the span turns them
    (:func:`~degeneracy.sensitivity.trade_residual`); NaN without ``pairs``."""
    if pairs is None:
        return np.nan
    return trade_residual(neighbors, motions, pairs, unseen, species)[0]
