r"""SOAP features of *every* atom, for the multi-centre model (beyond the Comment).

The Comment's model sees only the C-centred power spectrum, which is blind along the
low-sensitivity orbits. A multi-centre model writes the target as a sum of atomic
contributions over C- and H-centred environments (:class:`~.model.AtomicSumModel`),

.. math:: \hat E = \bar E + f_\mathrm{C}(x_\mathrm{C})
          + \sum_{i=1}^{4} f_\mathrm{H}(x_{\mathrm{H}_i}),

where :math:`x_{\mathrm{H}_i}` is the power spectrum of the environment of H atom *i*
(neighbour densities of C and of H: blocks HH, HC, CC). The H-centred environments see the
molecule from other points, so together the ν = 2 features of all centres can resolve what the
C-centred ones cannot.

featomic computes the power spectrum of every centre of a species at once, and its
position gradients for gradient training (:meth:`MultiCentreSoap.input_jacobians`). Each
centre species has its own :class:`~degeneracy.representations.SoapPowerSpectrum` and so
its own radial basis: GTO, or the optimal basis fitted on that species' environments (the
built-in C- and H-centred bases of CH4). One basis for both would not be optimal for
either: the C-centred basis keeps only about half of the l = 0 variance of the H-centred
densities at n_max = 4 (H–H at ~1.8 Å, against C–H at ~1.1 Å).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ase
import ase.data
import featomic
import numpy as np
from metatensor import Labels
from scipy.spatial.distance import pdist

from ..errors import DegeneracyError
from ..representations import OptimalBasis, SoapPowerSpectrum
from ..representations._featomic import blocks_by_key, dense_block
from ..representations.base import check_frames
from ..structures import CH4
from .features import CENTRE_BASIS_FILES, basis_digest, fingerprint_code_digest

#: Centre species and the neighbour species whose densities each one sees.
CENTRES = {"C": ("H",), "H": ("C", "H")}


class MultiCentreSoap:
    """Power spectra of the C atom and of each H atom of CH4 environments.

    Parameters
    ----------
    sigma, cutoff, n_max, l_max, basis
        As :class:`~degeneracy.representations.SoapPowerSpectrum`, for every centre.
    optimal_basis : OptimalBasis or mapping of centre species to OptimalBasis, optional
        Fitted optimal radial bases: one per centre species (``{"C": ..., "H": ...}``), or
        one for both (which warns for the species it was not fitted on). Default with
        ``basis="optimal"``: the cached built-in basis of each centre species.

    Inputs are ``{"C": (n, 1, d_C), "H": (n, 4, d_H)}`` with ``d_C = n_max² (l_max+1)`` (HH
    block) and ``d_H = 3 n_max² (l_max+1)`` (CC, CH, HH blocks).
    """

    kind = "multicentre"

    def __init__(
        self,
        *,
        sigma: float = 0.3,
        cutoff: float = 2.5,
        n_max: int = 8,
        l_max: int = 8,
        basis: str = "optimal",
        optimal_basis: OptimalBasis | Mapping[str, OptimalBasis] | None = None,
    ) -> None:
        bases = _bases_by_centre(optimal_basis)
        # SoapPowerSpectrum validates the hyperparameters and owns each centre's basis.
        self.soaps = {
            centre: SoapPowerSpectrum(
                sigma=sigma,
                cutoff=cutoff,
                n_max=n_max,
                l_max=l_max,
                basis=basis,
                optimal_basis=bases[centre],
                center=centre,
                neighbors=neighbours,
            )
            for centre, neighbours in CENTRES.items()
        }
        self.soap = self.soaps["C"]  # the hyperparameters, shared by every centre
        self._keys = {
            centre: Labels(
                ["center_type", "neighbor_1_type", "neighbor_2_type"],
                np.array(
                    [
                        [ase.data.atomic_numbers[centre], *sorted(pair)]
                        for pair in itertools.combinations_with_replacement(
                            sorted(ase.data.atomic_numbers[s] for s in neighbours), 2
                        )
                    ],
                    dtype=np.int32,
                ),
            )
            for centre, neighbours in CENTRES.items()
        }

    def __repr__(self) -> str:
        return f"MultiCentreSoap({self.hypers()})"

    def hypers(self) -> dict[str, Any]:
        soap = self.soap
        return {
            "sigma": soap.sigma,
            "cutoff": soap.cutoff,
            "n_max": soap.n_max,
            "l_max": soap.l_max,
            "basis": soap.basis,
        }

    def key(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "hypers": self.hypers(),
            "basis": {c: basis_digest(soap.optimal_basis) for c, soap in self.soaps.items()},
            "featomic": featomic.__version__,
            "code": fingerprint_code_digest(),
        }

    def spec(self) -> dict[str, Any]:
        has_basis = self.soap.optimal_basis is not None
        return {
            "kind": self.kind,
            "hypers": self.hypers(),
            "basis_files": dict(CENTRE_BASIS_FILES) if has_basis else None,
            # which bases: a file swapped in the folder is refused when the model is loaded
            "basis_digests": {c: basis_digest(s.optimal_basis) for c, s in self.soaps.items()}
            if has_basis
            else None,
        }

    def save(self, folder: Path) -> None:
        for centre, soap in self.soaps.items():
            if soap.optimal_basis is not None:
                soap.optimal_basis.save(Path(folder) / CENTRE_BASIS_FILES[centre])

    def diagnose(self, frames: Sequence[ase.Atoms], *, jacobian: bool = True) -> list[str]:
        """Warnings about frames where an H-centred environment misses an atom (empty if none).

        The C-centred cutoff check (:func:`~.protocols.check_within_cutoff`) covers the
        C–H distances only; an H–H pair at or beyond the cutoff leaves each H outside the
        other's environment, where the step cutoff makes the features jump.
        These concern the features themselves, with or without ``jacobian``.
        """
        cutoff = self.soap.cutoff
        farthest = np.array([pdist(atoms.positions).max(initial=0.0) for atoms in frames])
        beyond = np.flatnonzero(farthest >= cutoff)
        if not beyond.size:
            return []
        return [
            f"in {beyond.size} of {len(frames)} frames two atoms are {cutoff:g} Å or more "
            f"apart (first frame {int(beyond[0])}, up to {farthest.max():.4g} Å): their "
            "H-centred environments do not see each other there, and the step cutoff makes "
            "the features jump; a larger cutoff avoids it"
        ]

    def inputs(self, frames: Sequence[ase.Atoms]) -> dict[str, np.ndarray]:
        """``{"C": (n, 1, d_C), "H": (n, 4, d_H)}``: every centre's power spectrum.

        Raises
        ------
        DegeneracyError
            When ``frames`` are not CH4 environments (:meth:`checked_frames`).
        """
        return {centre: values for centre, (values, _) in self._compute(frames, False).items()}

    def input_jacobians(self, frames: Sequence[ase.Atoms]) -> dict[str, np.ndarray]:
        """``{"C": (n, 1, d_C, 3N), "H": (n, 4, d_H, 3N)}``: every centre's Jacobian.

        With respect to the positions of atoms 1 … N, atom 0 (C) held fixed, as for the
        C-centred fingerprints; an H-centred environment moves with its own H atom.
        Refused as :meth:`inputs`.
        """
        return {centre: jacobian for centre, (_, jacobian) in self._compute(frames, True).items()}

    def _compute(
        self, frames: Sequence[ase.Atoms], gradients: bool
    ) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        frames = self.checked_frames(frames)
        numbers = frames[0].numbers
        return {
            centre: self._centre_blocks(frames, centre, np.flatnonzero(numbers == z), gradients)
            for centre, z in ((c, ase.data.atomic_numbers[c]) for c in CENTRES)
        }

    @staticmethod
    def checked_frames(frames: Sequence[ase.Atoms]) -> list[ase.Atoms]:
        """``frames`` as a list, if they are CH4 environments: C (atom 0), then 4 H.

        Raises
        ------
        DegeneracyError
            Naming the first frame (and atom) that is not: not a list of
            :class:`ase.Atoms`, empty, another centre or neighbour species or number of
            atoms, periodic, or with non-finite coordinates
            (:func:`~degeneracy.representations.base.check_frames`). Every frame must give
            the inputs' shapes (one C, four H centres), and featomic would otherwise drop
            a NaN atom or add a periodic frame's images without a word.
        """
        return checked_methane_frames(frames, name="multi-centre SOAP")

    def _centre_blocks(
        self, frames: list[ase.Atoms], centre: str, atoms: np.ndarray, gradients: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Values (n_frames, len(atoms), d) and Jacobians (..., d, 3N) of ``centre``.

        The blocks of the centre species are concatenated by key along d.
        """
        self.soaps[centre].warn_if_basis_unfitted(stacklevel=5)
        try:
            tensor = self.soaps[centre].calculator.compute(
                frames,
                gradients=["positions"] if gradients else [],
                selected_keys=self._keys[centre],
            )
        except featomic.FeatomicError as error:
            raise DegeneracyError(f"featomic failed: {error}") from error
        n_neighbors = len(frames[0]) - 1
        dense = [
            dense_block(block, len(frames), n_neighbors, gradients=gradients, centres=atoms)
            for block in blocks_by_key(tensor, self._keys[centre])
        ]
        values = np.concatenate([v for v, _ in dense], axis=-1)
        if not gradients:
            return values, None
        return values, np.concatenate([j for _, j in dense], axis=-2)


def _bases_by_centre(
    optimal_basis: OptimalBasis | Mapping[str, OptimalBasis] | None,
) -> dict[str, OptimalBasis | None]:
    """``optimal_basis`` as one basis (or None) per centre species of :data:`CENTRES`."""
    if not isinstance(optimal_basis, Mapping):
        return dict.fromkeys(CENTRES, optimal_basis)
    if set(optimal_basis) != set(CENTRES):
        raise DegeneracyError(
            f"optimal_basis needs one basis per centre species {sorted(CENTRES)}, "
            f"got {sorted(optimal_basis)}"
        )
    return {centre: optimal_basis[centre] for centre in CENTRES}


def checked_methane_frames(frames: Sequence[ase.Atoms], *, name: str) -> list[ase.Atoms]:
    """``frames`` as a list, if they are CH4 environments: C (atom 0), then 4 H.

    Raises
    ------
    DegeneracyError
        Naming ``name`` and the first frame (and atom) that is not: not a list of
        :class:`ase.Atoms`, empty, another centre or neighbour species or number of
        atoms, periodic, or with non-finite coordinates
        (:func:`~degeneracy.representations.base.check_frames`).
    """
    frames = check_frames(
        frames,
        name=name,
        center=ase.data.atomic_numbers[CH4.center],
        neighbors=[ase.data.atomic_numbers[CH4.neighbor]],
    )
    if len(frames[0]) != CH4.n_neighbors + 1:  # check_frames: all frames of one size
        raise DegeneracyError(
            f"{name}: frame 0 has {len(frames[0])} atoms; the model describes "
            f"{CH4.symbols} environments ({CH4.n_neighbors + 1} atoms, the C first)"
        )
    return frames
