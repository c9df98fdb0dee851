"""scikit-learn's own ``sklearn/cluster/tests/test_k_means.py``, with ``emlab.KMeans``.

Its other classes and functions (``MiniBatchKMeans``, ``k_means``, private helpers) stay
scikit-learn's; the exclusions, each with its reason, are in ``conftest.py``.
"""

from ._suite import load

SOURCE = load(
    "cluster/tests/test_k_means.py",
    {
        "from sklearn.cluster import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus": (
            "from sklearn.cluster import MiniBatchKMeans, k_means, kmeans_plusplus; "
            "from emlab import KMeans"
        ),
    },
    globals(),
)
