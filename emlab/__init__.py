"""EM Lab: the Expectation-Maximization algorithm, taught from first principles.

The package behind the EM Lab notebooks. Modules, one idea each:

``em``          the EM loop every model shares, and its iteration history
``mle``         maximum likelihood in closed form (Gaussian, Bernoulli)
``kmeans``      k-means as hard EM, and the :class:`KMeans` estimator
``coins``       the binomial mixture ("two coins"), :class:`BinomialMixture`
``gmm``         Gaussian mixtures, :class:`GaussianMixture`
``bound``       the lower bound EM climbs: ELBO, KL gap, EM half-step by half-step
``datasets``    every data set of the lessons, from fixed seeds
``plots``       figures in one colour-blind-safe style
``validation``  clear errors for bad input
``checks``      exercise checks that say what is wrong
``instructor``  student editions and grading (otter-grader)
``display``     ``show_source``: print an emlab step inside a lesson

Submodules and estimators load on first use, so ``import emlab`` stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "em",
    "mle",
    "kmeans",
    "coins",
    "gmm",
    "bound",
    "datasets",
    "plots",
    "validation",
    "widgets",
    "checks",
    "instructor",
}
_ESTIMATORS = {
    "GaussianMixture": "gmm",
    "KMeans": "kmeans",
    "BinomialMixture": "coins",
    "show_source": "display",
}

__all__ = sorted(_SUBMODULES | set(_ESTIMATORS))


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _ESTIMATORS:
        module = importlib.import_module(f"{__name__}.{_ESTIMATORS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'emlab' has no attribute {name!r}")


def __dir__():
    return __all__
