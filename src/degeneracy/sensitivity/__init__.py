r"""Sensitivity of a fingerprint to neighbour motions: the rotation-purified Jacobian, its
singular spectrum, and why its zeros are there.

The stages, each a module, in the order they build on each other (a module imports only
those before it):

- :mod:`~degeneracy.sensitivity.spectrum`: the purified Jacobian :math:`J O`, its
  singular values and motions, the condition number and the round-off floor.
- :mod:`~degeneracy.sensitivity.symmetry`: point operations that map an environment onto
  itself, the zeros they force on every invariant fingerprint, and the zeros they leave
  free.
- :mod:`~degeneracy.sensitivity.coincidences`: neighbour pairs with equal
  :math:`(r_i, r_j, \theta_{ij})`, which a ν = 2 fingerprint cannot tell apart.
- :mod:`~degeneracy.sensitivity.weighed_out`: neighbours and pairs a fingerprint's
  smooth cutoff weights hide.
- :mod:`~degeneracy.sensitivity.trades`: pair-triple rates along a motion, how far it is
  from a trade of equal pairs (ρ), the trade scale and the near swap.
- :mod:`~degeneracy.sensitivity.truncation`: neighbours at one distance per species that
  a truncated fingerprint sees through too few sums.
- :mod:`~degeneracy.sensitivity.explanations`: whether the pairs and the truncation
  above explain a zero motion, or a span of them, and the labels that say so.
- :mod:`~degeneracy.sensitivity.near_symmetric`: zeros that continue the forced zeros of
  a symmetric environment nearby.
- :mod:`~degeneracy.sensitivity.verdicts`: the verdict on a frame's small singular
  values (``kink``, ``regular``, ``symmetry``, ``near-symmetry``, ``dimension``,
  ``spurious``).
- :mod:`~degeneracy.sensitivity.frames`: the checks of the input and the per-frame
  driver :func:`analyse_frames`.

Every public name of the stages is importable from here (``degeneracy.sensitivity.X``).
"""

from __future__ import annotations

from .coincidences import (
    COINCIDENCE_TOL,
    DENSE_PAIR_POINTS,
    CoincidentPairs,
    coincidence_labels,
    coincident_pairs,
    nearest_coincidence,
    pair_labels,
    pair_triples,
)
from .explanations import (
    KINK_TEXT,
    ZeroExplanation,
    explain_motion,
    explain_zero,
    explain_zero_motion,
    explained_verdict,
    near_symmetry_margin,
    near_symmetry_text,
    partial_reason,
    zero_reason,
)
from .frames import (
    FrameAnalysis,
    analyse_frames,
    blind_by_dimension,
    call_notes,
    check_analysable,
    check_enough_features,
    farthest_beyond_cutoff,
    warn_call_notes,
)
from .near_symmetric import (
    BESIDE_SYMMETRY_NOISE,
    BESIDE_SYMMETRY_PROBE,
    EXACT_SYMMETRY_RESIDUAL,
    NEAR_LINEAR_REACH,
    NEAR_SYMMETRY_PATH,
    NEAR_SYMMETRY_REACH,
    NEAR_SYMMETRY_SLACK,
    NEAR_SYMMETRY_TRIES,
    NEWTON_ZERO_FIRST_GAIN,
    NEWTON_ZERO_ITERATIONS,
    NEWTON_ZERO_NEIGHBORS,
    SAME_GROUP_TOL,
    NearSymmetry,
    exact_zeros_beside_symmetry,
    near_linear,
    near_symmetry,
)
from .spectrum import (
    DEGENERATE_RTOL,
    MIN_ZERO_RTOL,
    ROUNDOFF_EPS,
    ZERO_RTOL,
    Spectrum,
    at_roundoff,
    capped_cn,
    check_spectrum_extremes,
    condition_number,
    floored_s_min,
    frame_values,
    purified_jacobian,
    purified_singular_values,
    rotation_complement,
    roundoff_floor,
    showable_spectra,
    singular_spectrum,
    zero_rtol_value,
)
from .symmetry import (
    MAX_PERMUTATIONS,
    MAX_PERMUTED_NEIGHBORS,
    SYMMETRY_TOL,
    PointOperation,
    SymmetryVerdict,
    anchored_superpositions,
    best_orthogonal,
    best_superposition,
    candidate_superpositions,
    equal_species_permutations,
    free_zero_motions,
    permutation_count,
    point_symmetry,
    superpositions,
    symmetrized,
    symmetry_forced_motions,
    unexplained_zeros,
)
from .trades import (
    MOVING_RATE,
    NEAR_SWAP_KEYS,
    PAIR_SWAP_TOL,
    moved_pairs,
    near_swap,
    near_swap_text,
    neighbor_motion,
    pair_swap_residual,
    pair_triple_rates,
    softest_motions,
    trade_residual,
    trade_scale,
)
from .truncation import (
    BLIND_RTOL,
    MAX_SHELL,
    MIN_SHELL_RADIUS,
    TruncationZeros,
    blind_motions,
    default_shell_radius,
    equidistant_blind_counts,
    generic_blind_dimension,
    shell_feature_count,
    truncation_zeros,
)
from .verdicts import (
    VERDICT_KINK,
    VERDICT_REGULAR,
    VERDICT_ZERO,
    ZeroClassification,
    classify_zeros,
    kinks_of,
    seen_dimension,
    spectrum_verdicts,
    spurious_zero_count,
    zero_verdict,
)
from .weighed_out import (
    WeighedOutNeighbor,
    WeighedOutPair,
    faint_neighbors,
    unseen_pairs_of,
    unseen_response,
)
