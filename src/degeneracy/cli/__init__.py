"""The ``degeneracy`` command: one entry point, thin subcommands over the library.

Each subcommand lives in its own module with a ``register(commands)`` function, listed
in :data:`COMMAND_MODULES`. Errors are one line on stderr with exit status 2
(``--traceback`` shows the traceback); output files are written atomically.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NoReturn

from .. import __version__
from ..errors import OPTION_TERMS, DegeneracyError, DegeneracyWarning, warning_subject
from ..processes import use_one_blas_thread

EXIT_ERROR = 2

#: Exit status after SIGTERM, as a shell reports a process killed by it (128 + 15).
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM as an exception, so that it takes Ctrl-C's way out: temporary files are
    removed, worker pools stopped, checkpoints kept (the default action kills at once and
    leaves a half-written temporary file behind)."""


class _SignalSeen:
    """The signal (SIGINT or SIGTERM) received while a command ran, if any.

    A Ctrl-C that lands inside one of featomic's or metatensor's ctypes callbacks raises
    KeyboardInterrupt there, where ctypes can only print it ("Exception ignored on calling
    ctypes callback function") and hand an error code back: what reaches the command is
    then featomic's or metatensor's own error ("featomic failed: internal featomic
    error", a MetatensorError), exit 2 or 1 instead of 130. :func:`main` reads this to
    tell such an error from a real one.

    A Ctrl-C raised inside a ``__del__`` or a weakref callback is dropped the same way
    ("Exception ignored in: ..."), and the command goes on as if none had come:
    ``lost`` records it, so that :func:`main` still reports the interruption once the
    command returns, instead of exit 0.
    """

    number: int | None = None
    lost: bool = False


def _raise_interrupted(signum: int, frame: object) -> NoReturn:
    _SignalSeen.number = signum
    raise KeyboardInterrupt


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    _SignalSeen.number = signum
    raise Terminated


def _quiet_interrupts_in_callbacks(unraisable: Any) -> None:
    """``sys.unraisablehook`` that drops a KeyboardInterrupt raised where Python cannot
    propagate it (a ctypes callback, a ``__del__``): the command reports the interruption
    itself (:attr:`_SignalSeen.lost`)."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _SignalSeen.lost = True
        return
    sys.__unraisablehook__(unraisable)


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """For the duration (main thread only): SIGTERM raises :class:`Terminated`, SIGINT
    KeyboardInterrupt as usual, both noting the signal in :class:`_SignalSeen`, and a
    KeyboardInterrupt inside a library callback prints no traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _SignalSeen.number = None
    _SignalSeen.lost = False
    previous = (
        signal.signal(signal.SIGTERM, _raise_terminated),
        signal.signal(signal.SIGINT, _raise_interrupted),
        sys.unraisablehook,
    )
    sys.unraisablehook = _quiet_interrupts_in_callbacks
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        sys.unraisablehook = previous[2]


class _StdoutWhoseReaderMayLeave:
    """``sys.stdout`` for a command whose reader may stop reading (``degeneracy scan … |
    head``): once the pipe is closed, further output is dropped and the command goes on,
    so its files are still written. Without this the first write after ``head`` quit
    raised BrokenPipeError in the middle of the work (scan's summary was never written).

    The standard stream is then pointed at ``os.devnull`` (the recipe of Python's
    ``signal`` documentation), so that the interpreter's final flush does not fail too.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._reader_left = False

    def write(self, text: str) -> int:
        if not self._reader_left:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop_output()
        return len(text)

    def flush(self) -> None:
        if not self._reader_left:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop_output()

    def _drop_output(self) -> None:
        self._reader_left = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        except (OSError, ValueError):  # no file descriptor (a test's captured stream)
            pass
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def stdout_reader_may_leave() -> Iterator[None]:
    """Let the command finish its work when the reader of its output goes away."""
    original = sys.stdout
    sys.stdout = _StdoutWhoseReaderMayLeave(original)
    try:
        yield
    finally:
        sys.stdout = original


#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "spectrum",
    "basis",
    "pairs",
    "compare",
    "scan",
    "singular",
    "orbit",
    "family",
    "shells",
    "learn",
    "predict",
    "reproduce",
    "info",
]


#: A negative number as a value, not an option: argparse's own pattern (Python 3.11) took
#: ``-1e-3`` and ``-inf`` for unknown options ("expected one argument"), whereas
#: ``--sigma=-inf`` reached the option's own check.
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.I)


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit status 2.

    Negative numbers in exponent form (``--sigma -1e-3``) are values, as ``-0.001``
    already is: argparse's own pattern (Python 3.11) took them for an unknown option and
    said "expected one argument". The pattern is argparse's private attribute, the only
    place the rule lives; a test ties it. ``type=int`` and ``type=float`` options read
    plainly written numbers only (:func:`~.options.plain_int`, :func:`~.options.plain_float`:
    ``--n-max 1_0`` was 10), through argparse's registry of types.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # no abbreviations: `spectrum --n 4` was --n-max 4 (pairs' --n is its pair count)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER
        from .options import plain_float, plain_int  # the numbers of every type=int/float

        self.register("type", int, plain_int)
        self.register("type", float, plain_float)

    def parse_known_args(self, args=None, namespace=None):  # argparse signature
        self._refuse_repeated_options(sys.argv[1:] if args is None else list(args))
        return super().parse_known_args(args, namespace)

    def _refuse_repeated_options(self, args: Sequence[str]) -> None:
        """An option that takes a value given twice (``--output a.json --output b.csv``):
        argparse kept the last one and dropped the first, silently. Options without a
        value (``--quick``) may repeat; this parser's own options only (a subcommand's
        parser checks its own)."""
        given: dict[argparse.Action, str] = {}
        for k, token in enumerate(args):
            if token == "--":
                break
            if not token.startswith("--"):
                continue
            name, equals, value = token.partition("=")
            action = self._option_string_actions.get(name)
            if action is None or action.nargs == 0:
                continue
            if not equals:
                value = args[k + 1] if k + 1 < len(args) else ""
            if action in given:
                self.error(
                    f"argument {name}: given twice ({given[action]!r}, then {value!r}); give "
                    "it once"
                )
            given[action] = value

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = OneLineParser(
        prog="degeneracy",
        description="Where, and how badly, does an atomic fingerprint fail to see atoms move?",
    )
    parser.add_argument("--version", action="version", version=f"degeneracy {__version__}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the full traceback on errors"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(commands)
    for command in commands.choices.values():  # also after the subcommand
        command.add_argument(
            "--traceback", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        command.set_defaults(option_names=option_names(command))
    return parser


#: ``set_defaults`` key of a subcommand's library parameters that an option of another
#: name sets (``learn``: ``{"max_epochs": "--epochs"}``), for :func:`option_names`.
PARAMETER_OPTIONS = "parameter_options"


def option_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """The long option that sets each ``dest`` of ``parser`` (``{"n_max": "--n-max"}``),
    and each library parameter the subcommand declares under :data:`PARAMETER_OPTIONS`
    (``learn --epochs`` sets ``TrainSettings.max_epochs``).

    argparse lists a parser's arguments only in its ``_actions`` attribute (no public
    accessor; stable since Python 2.7).
    """
    names: dict[str, str] = {}
    for action in parser._actions:
        long = [name for name in action.option_strings if name.startswith("--")]
        if long and action.dest not in (argparse.SUPPRESS, "help"):
            names.setdefault(action.dest, long[0])
    names.update(parser.get_default(PARAMETER_OPTIONS) or {})
    return names


#: A keyword argument as the library's messages advise or name one: ``restart=True``,
#: ``units="bohr"``, ``cutoff=...`` for "this keyword, at another value", or a setting
#: with its number (``seed=0``, ``learning_rate=0.001``, ``min_learning_rate=1e-06``);
#: not a ``--rep`` entry's own key (``acsf:cutoff=3.2``, ``soap,n_max=4``).
_KEYWORD_ADVICE = re.compile(
    r"(?<![\w./:,-])([a-z][a-z0-9_]*)="
    r"(True|\"[^\"]*\"|\.\.\.|-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|inf|nan)(?!\w|\.\d))"
)


def keywords_as_options(text: str, names: dict[str, str], typed: Iterable[str] = ()) -> str:
    """The library's advice in keyword terms (``rerun with restart=True``, ``is the file
    in bohr? (units="bohr")``, ``(cutoff=...)``, ``with seed=0``) as the options that set
    those keywords (``--restart``, ``--units bohr``, ``(--cutoff)``, ``with --seed 0``);
    keywords of no option of the command are left as they are, and so are the values the
    user typed (``typed``: a file ``cutoff=3.xyz``, a folder ``seed=1``)."""

    def option(match: re.Match) -> str:
        name, value = match.groups()
        if name not in names:
            return match.group(0)
        if value in ("True", "..."):
            return names[name]
        return f"{names[name]} {value.strip(chr(34))}"

    # the user's words out of the way first (longest first: one may hold another)
    held = sorted((value for value in set(typed) if "=" in value and value in text), key=len)
    for k, value in enumerate(reversed(held)):
        text = text.replace(value, f"\0{k}\0")
    text = _KEYWORD_ADVICE.sub(option, text)
    for k, value in enumerate(reversed(held)):
        text = text.replace(f"\0{k}\0", value)
    return text


def in_option_terms(line: str, names: dict[str, str], typed: Iterable[str] = ()) -> str:
    """An error line that starts with a parameter's name (``n_max must be at least 1``,
    ``neighbors: unknown element 'Q'``), with the option that sets it instead
    (``--n-max must be ...``).

    The library names its parameters, which the command line sets through options; the
    user typed the option, so that is the name to read. A snake_case parameter (``save_every``)
    is replaced wherever it stands as a whole word, not only first (no English word has an
    underscore; a file name such as ``save_every.xyz`` is left alone). A word the user
    typed as a value (``typed``: a file or folder named ``sigma`` or ``model``) is theirs,
    not a parameter: "sigma: no such file" stays so.
    """
    typed = set(typed)
    names = {name: option for name, option in names.items() if name not in typed}
    line = keywords_as_options(line, names, typed)
    parameter = line.split(" ", 1)[0].removesuffix(":")
    rest = line[len(parameter) :]
    if parameter in names and rest[:1] in (" ", ":"):
        line = names[parameter] + rest
    # a snake_case parameter further on (``... must divide save_every 0.01 Å``): no
    # English word has an underscore, so the whole word is the parameter. One whose
    # option text starts with its own name (learn's ``lr_factor (of --quick or
    # --comment-settings)``) reads as itself already, and may have been said so above.
    return re.sub(
        r"(?<![\w./-])([a-z]+(?:_[a-z0-9]+)+)(?![\w/-]|\.\w)",
        lambda match: (
            match.group(1)
            if names.get(match.group(1), match.group(1)).startswith(match.group(1))
            else names[match.group(1)]
        ),
        line,
    )


def typed_values(argv: Sequence[str]) -> set[str]:
    """The values on a command line (``FILE``, ``--output model``, ``--x=model``), as
    typed: the words an error may name that are the user's, not the library's."""
    values = set()
    for token in argv:
        if token.startswith("-") and "=" in token:
            values.add(token.split("=", 1)[1])
        elif not token.startswith("-"):
            values.add(token)
    return values


def _warning_printer(args: argparse.Namespace, typed: Iterable[str] = ()):
    """``warnings.showwarning`` printing the package's warnings as one line each, a
    fingerprint's in the command line's terms (:func:`~.options.fingerprint_warning`:
    ``give a width of at least 0.63`` is ``give a --om-width of at least 0.63``).

    A warning whose subject (:func:`~degeneracy.errors.warning_subject`) was printed
    already is skipped: e.g. ``scan`` meets the same blind parameter set in its workers
    and again when it describes the most singular environments. Two different warnings
    about one file (``mols.extxyz: no atom of neighbour species N …`` and ``mols.extxyz:
    33 of 40 environments …``) have two subjects, and are both printed. Other libraries'
    warnings keep Python's usual format.
    """
    from .options import fingerprint_warning

    default = warnings.showwarning
    subjects: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DegeneracyWarning):
            subject = warning_subject(message)
            if subject not in subjects:
                subjects.add(subject)
                text = fingerprint_warning(str(message), args)
                text = keywords_as_options(text, getattr(args, "option_names", {}), typed)
                print(f"degeneracy {args.command}: warning: {text}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def error_line(error: BaseException) -> str:
    """The one line printed for an error: an OS error as ``path: reason`` (no errno)."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


#: ``dest`` of the subcommands' positional arguments.
POSITIONAL_ARGUMENTS = ("file", "dataset")


def empty_argument(args: argparse.Namespace) -> str | None:
    """The first argument given as an empty string, as the user wrote it (``--basis-file``,
    ``FILE``), or None.

    Every string argument of the command is a file name or a name, for which "" never
    means anything; without this, ``--basis-file ""`` would silently mean "no basis file".
    """
    for dest, value in vars(args).items():
        if isinstance(value, str) and not value.strip():
            return dest.upper() if dest in POSITIONAL_ARGUMENTS else "--" + dest.replace("_", "-")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``degeneracy`` command; returns the exit status.

    The process (and the workers it starts) uses one BLAS thread unless the environment
    chooses a number (:func:`~degeneracy.processes.use_one_blas_thread`).
    """
    use_one_blas_thread()  # before numpy loads: the subcommands import it lazily
    try:  # the subcommands' modules import scipy and more: ~2 s in which Ctrl-C may come
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # argparse names the top-level parser; the subcommand is more use
            prog = "degeneracy" if args.command is None else f"degeneracy {args.command}"
            print(f"{prog}: error: unrecognized arguments: {' '.join(unknown)}", file=sys.stderr)
            return EXIT_ERROR
    except KeyboardInterrupt:
        print("degeneracy: interrupted", file=sys.stderr)
        return 130
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    empty = empty_argument(args)
    if empty is not None:
        print(f"degeneracy {args.command}: error: argument {empty}: empty value", file=sys.stderr)
        return EXIT_ERROR
    try:
        with signals_as_exceptions(), stdout_reader_may_leave(), warnings.catch_warnings():
            warnings.showwarning = _warning_printer(
                args, typed_values(sys.argv[1:] if argv is None else argv)
            )
            warnings.simplefilter("always", DegeneracyWarning)
            try:
                args.func(args)
            finally:
                ignore_signals_at_exit()
            if _SignalSeen.lost:  # the command went on past a Ctrl-C it never saw
                return _interrupted(args.command, _SignalSeen.number == signal.SIGTERM)
    except Exception as error:
        if args.traceback:
            raise
        if _SignalSeen.number is not None:  # a library's error made of the interruption
            return _interrupted(args.command, _SignalSeen.number == signal.SIGTERM)
        if not isinstance(error, (DegeneracyError, OSError)):
            raise
        line = error_line(error)
        if getattr(error, "kind", None) != OPTION_TERMS:  # the library's names: the options'
            typed = typed_values(sys.argv[1:] if argv is None else argv)
            line = in_option_terms(line, args.option_names, typed)
        print(f"degeneracy {args.command}: error: {line}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as interrupt:
        if args.traceback:
            raise
        return _interrupted(args.command, isinstance(interrupt, Terminated))
    return 0


#: Whether :func:`ignore_signals_at_exit` registered its exit handler in this process.
_EXIT_HANDLER: list[bool] = []


def ignore_signals_at_exit() -> None:
    """Ignore Ctrl-C and SIGTERM once the interpreter exits, after a command ran.

    There is nothing left to stop: the command's results are written (or kept to
    resume), and the exit can take seconds (torch's and distributed's exit handlers,
    freeing the modules); a signal then killed the process without a word, or printed
    "Exception ignored in atexit callback" with a traceback, after a run that had
    finished. Registered after the libraries' exit handlers, this one runs first; once a
    process, from its main thread. Nothing changes before the exit, so a caller of
    :func:`main` in the same process keeps its Ctrl-C.
    """
    if _EXIT_HANDLER or threading.current_thread() is not threading.main_thread():
        return
    _EXIT_HANDLER.append(True)

    def ignore() -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)

    atexit.register(ignore)


def _interrupted(command: str, terminated: bool) -> int:
    """Say that ``command`` was interrupted (Ctrl-C) or terminated (SIGTERM); the exit
    status a shell gives a process stopped by that signal."""
    if terminated:
        print(f"degeneracy {command}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    print(f"degeneracy {command}: interrupted", file=sys.stderr)
    return 130
