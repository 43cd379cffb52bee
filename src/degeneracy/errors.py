"""The package's single exception type, and the helpers that word its messages."""

import contextlib
import re
from collections.abc import Iterator, Sequence

#: :attr:`DegeneracyError.kind` of a frame that is not the environment asked for (atom
#: count, centre or neighbour species): the command line then hints at ``--environment``.
SPEC_MISMATCH = "spec-mismatch"

#: :attr:`DegeneracyError.kind` of a message already in the command line's terms, to be
#: printed as it is: it names a ``--rep`` entry and its keys as typed
#: (``--rep soap:n_max=0: n_max must be at least 1``), which the command line would
#: otherwise take for library parameters and rename to options (``--n-max``).
OPTION_TERMS = "option-terms"

#: :attr:`DegeneracyError.kind` of an environment whose neighbours are collinear with the
#: centre (no purified Jacobian: its rotations are degenerate): a search that steps onto
#: one (:func:`~degeneracy.singular.find_singular`) stops there instead of failing.
COLLINEAR = "collinear"

#: :attr:`DegeneracyError.kind` of an environment with a neighbour at or beyond the cutoff:
#: a reader may suggest a larger cutoff (or, for a file in bohr read as Å, the units).
BEYOND_CUTOFF = "beyond-cutoff"


class DegeneracyError(Exception):
    """A problem with user input or a wrapped failure of an underlying library.

    The message is one line that names the problem (file, frame, atom, value);
    the command line prints it without a traceback and exits with status 2.
    ``kind`` (keyword-only, optional) names a class of problem a caller may react to
    without reading the message: :data:`SPEC_MISMATCH`, :data:`OPTION_TERMS`, :data:`COLLINEAR`,
    :data:`BEYOND_CUTOFF`.
    """

    def __init__(self, *args: object, kind: str | None = None) -> None:
        super().__init__(*args)
        self.kind = kind


class DegeneracyWarning(UserWarning):
    """A result that is computed but likely misleading (e.g. a fingerprint blind to the data).

    The message reads ``subject: details``; the command line prints it as one line,
    ``degeneracy COMMAND: warning: ...``, once per subject (:func:`warning_subject`).
    """


#: A number in a warning's text (``3``, ``1.92``, ``82``, ``1.2e-05``): data, not wording.
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")

#: A first part of a warning that names what it is about rather than saying anything:
#: a file (a path, or a name with a suffix, ``mols.extxyz``), a word without spaces (a
#: time stamp), ``5 structures`` (a data set given as frames), ``train set``.
_LABEL = re.compile(r"[/\\]|\.\w+$|^\S+$|^\d+ structures$|^\w+ set$")


def warning_subject(message: object) -> str:
    """What a :class:`DegeneracyWarning` is about: its text before the first ``:``, and
    when that only names a file or a source (``mols.extxyz: 33 of 40 environments …``),
    what is said of it too: the next part up to its first ``:``, ``;`` or ``, ``, with
    its numbers as ``#`` (``mols.extxyz: # of # environments (# %) have fewer than #
    neighbours within the cutoff # Å``).

    Two warnings with the same subject say the same thing about different data (e.g.
    the chunks of one scan, whose distance ranges and counts differ); reporting the
    first is enough. Two things said of one file are two subjects.
    """
    head, colon, rest = str(message).partition(":")
    if not colon or not _LABEL.search(head.strip()):
        return head
    said = re.split(r":|;|, ", rest.strip(), maxsplit=1)[0]
    return f"{head}: {_NUMBER.sub('#', said)}"


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name if it has none."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


#: "frame K" in a message about some of the frames (a group, a batch): K is its place there.
_GROUP_FRAME = re.compile(r"\bframe (\d+)\b")


@contextlib.contextmanager
def numbered_as_given(rows: Sequence[int]) -> Iterator[None]:
    """Errors of an analysis of the frames ``rows`` name a frame by its place in all the
    frames: "frame K" of the group (or batch) becomes "frame ``rows[K]``"."""
    try:
        yield
    except DegeneracyError as error:

        def renumber(match: re.Match) -> str:
            index = int(match.group(1))
            return f"frame {int(rows[index])}" if index < len(rows) else match.group(0)

        message = _GROUP_FRAME.sub(renumber, str(error))
        if message == str(error):
            raise
        raise DegeneracyError(message, kind=error.kind) from error
