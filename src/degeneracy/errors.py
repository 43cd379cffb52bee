"""The package's single exception type."""

#: :attr:`DegeneracyError.kind` of a frame that is not the environment asked for (atom
#: count, centre or neighbour species): the command line then hints at ``--environment``.
SPEC_MISMATCH = "spec-mismatch"


class DegeneracyError(Exception):
    """A problem with user input or a wrapped failure of an underlying library.

    The message is one line that names the problem (file, frame, atom, value);
    the command line prints it without a traceback and exits with status 2.
    ``kind`` (keyword-only, optional) names a class of problem a caller may react to
    without reading the message: :data:`SPEC_MISMATCH`.
    """

    def __init__(self, *args: object, kind: str | None = None) -> None:
        super().__init__(*args)
        self.kind = kind


class DegeneracyWarning(UserWarning):
    """A result that is computed but likely misleading (e.g. a fingerprint blind to the data).

    The message reads ``subject: details``; the command line prints it as one line,
    ``degeneracy COMMAND: warning: ...``, once per subject (:func:`warning_subject`).
    """


def warning_subject(message: object) -> str:
    """What a :class:`DegeneracyWarning` is about: its text before the first ``:``.

    Two warnings with the same subject say the same thing about different data (e.g.
    the chunks of one scan); reporting the first is enough.
    """
    return str(message).split(":", 1)[0]
