"""scikit-learn's own ``sklearn/mixture/tests/test_gaussian_mixture.py``, with emlab's class.

The exclusions, each with its reason, are in ``conftest.py``.
"""

from ._suite import load

SOURCE = load(
    "mixture/tests/test_gaussian_mixture.py",
    {"from sklearn.mixture import GaussianMixture": "from emlab import GaussianMixture"},
    globals(),
)
