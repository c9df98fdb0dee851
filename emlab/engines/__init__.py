"""The fast engines the estimators run, one module per model, above the readable steps.

* :mod:`emlab.engines.gmm`: :func:`fit_gmm_fast`, EM for Gaussian mixtures in one chunked
  pass per iteration;
* :mod:`emlab.engines.kmeans`: :func:`fit_kmeans_fast`, k-means in matrix products;
* :mod:`emlab.engines.coins`: :func:`fit_coins_fast`, the coin mixture on distinct counts;
* :mod:`emlab.engines.distributed`: the Gaussian mixture and k-means on a Dask array, one
  map-reduce pass over its blocks per iteration (imported on first use: it needs Dask);
* :mod:`emlab.engines.workspace`: what they share (threads over chunks, scratch arrays
  aligned to cache lines).

Each gives the same numbers as the lessons' readable steps (``tests/test_engines.py``).
"""

from __future__ import annotations

from emlab.engines.coins import fit_coins_fast
from emlab.engines.gmm import fit_gmm_fast
from emlab.engines.kmeans import fit_kmeans_fast

__all__ = ["fit_coins_fast", "fit_gmm_fast", "fit_kmeans_fast"]
