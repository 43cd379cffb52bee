"""degeneracy: where, and how badly, does an atomic fingerprint fail to see atoms move?

Data flow: structures → representation → Jacobian → spectrum → analyses → figures.
"""

from importlib.metadata import PackageNotFoundError, version

import lazy_loader

try:
    __version__ = version("degeneracy")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

# Names load on first use, listed in the stub ``__init__.pyi`` (scientific-python SPEC 1):
# importing the package, or building the command line's parser, does not pull in
# featomic and torch.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
__all__ += ["__version__"]
