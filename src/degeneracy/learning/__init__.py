"""The learnability experiment (Comment Fig. 2): can a network learn E4 along an orbit?

Data flow: random CH4 (:mod:`.datasets`) and an orbit → features of any fingerprint
(:mod:`.features`, :mod:`.multicentre`; cached) → the Comment's network (:mod:`.model`)
trained with checkpoints and early stopping (:mod:`.trainer`) → the three protocols and
their metrics (:mod:`.protocols`), against ridge and nearest-neighbour regressors on the
same features (:mod:`.baselines`).
"""

import lazy_loader

# Names load on first use, listed in the stub ``__init__.pyi`` (scientific-python SPEC 1):
# importing the package, or building the command line's parser, does not pull in
# featomic and torch.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
