"""Fingerprints behind one :class:`Representation` protocol, one adapter module each."""

import lazy_loader

# Names load on first use, listed in the stub ``__init__.pyi`` (scientific-python SPEC 1):
# importing the package, or building the command line's parser, does not pull in
# featomic and torch.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
