"""EM Lab: the Expectation-Maximization algorithm, taught from first principles.

The package behind the EM Lab notebooks: modules of one idea each, in floors that only
import downwards (``tests/test_imports.py`` fails on a cycle):

1. shared pieces: ``em`` (the EM loop every model shares, its iteration history) and
   ``validation`` (clear errors for bad input);
2. the readable steps each lesson shows, with their input checks: ``mle`` (maximum
   likelihood in closed form), ``kmeans`` (k-means as hard EM), ``coins`` (the binomial
   mixture, "two coins"), ``gmm`` (Gaussian mixtures), ``hmm`` (hidden Markov models:
   forward-backward, Baum-Welch, Viterbi), ``bound`` (the lower bound EM climbs), ``map_em``
   (priors against collapse), ``missing`` (missing data);
3. ``engines``: the fast engines the estimators run, one module per model;
4. ``estimators``: :class:`GaussianMixture`, :class:`KMeans`, :class:`BinomialMixture`,
   :class:`CategoricalHMM`;

and beside them, using the floors below:

``datasets``    every data set of the lessons, from fixed seeds
``plots``       figures in one colour-blind-safe style
``widgets``     explorers that replay a recorded EM run
``checks``      exercise checks that say what is wrong
``instructor``  student editions and grading (otter-grader)
``display``     ``show_source``: print an emlab step inside a lesson
``feedback``    what a student reads when a check runs

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
    "hmm",
    "bound",
    "datasets",
    "plots",
    "validation",
    "widgets",
    "map_em",
    "missing",
    "feedback",
    "checks",
    "engines",
    "estimators",
    "instructor",
}
_ESTIMATORS = {
    "GaussianMixture": "estimators.gaussian_mixture",
    "KMeans": "estimators.kmeans",
    "BinomialMixture": "estimators.binomial_mixture",
    "CategoricalHMM": "estimators.categorical_hmm",
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
