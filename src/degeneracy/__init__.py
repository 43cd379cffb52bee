"""degeneracy: where, and how badly, does an atomic fingerprint fail to see atoms move?

Data flow: structures → representation → Jacobian → spectrum → analyses → figures.
"""

from typing import Any

import lazy_loader

# Names load on first use, listed in the stub ``__init__.pyi`` (scientific-python SPEC 1):
# importing the package, or building the command line's parser, does not pull in
# featomic and torch.
_lazy_getattr, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
__all__ += ["__version__"]


def __getattr__(name: str) -> Any:
    """The lazily loaded public names, and ``__version__``: importlib.metadata takes
    ~0.1 s to import, which the ``degeneracy`` command spent before it could catch a
    Ctrl-C (:mod:`degeneracy.command`)."""
    if name != "__version__":
        return _lazy_getattr(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("degeneracy")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        found = "0.0.0"
    globals()["__version__"] = found
    return found
