"""The estimators, the package's top floor: scikit-learn's API over the fast engines.

One module per estimator (:mod:`.gaussian_mixture`, :mod:`.kmeans`,
:mod:`.binomial_mixture`, :mod:`.categorical_hmm`); ``emlab.GaussianMixture``,
``emlab.KMeans``, ``emlab.BinomialMixture`` and ``emlab.CategoricalHMM`` load them on
first use.
"""

from __future__ import annotations

from emlab.estimators.binomial_mixture import BinomialMixture
from emlab.estimators.categorical_hmm import CategoricalHMM
from emlab.estimators.gaussian_mixture import GaussianMixture
from emlab.estimators.kmeans import KMeans

__all__ = ["BinomialMixture", "CategoricalHMM", "GaussianMixture", "KMeans"]
