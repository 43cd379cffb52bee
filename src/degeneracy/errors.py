"""The package's single exception type."""


class DegeneracyError(Exception):
    """A problem with user input or a wrapped failure of an underlying library.

    The message is one line that names the problem (file, frame, atom, value);
    the command line prints it without a traceback and exits with status 2.
    """
