"""The exercise checks accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest
from scipy.special import logsumexp

from emlab import checks


def stable_resp(log_joint):
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def test_compare_accepts_equal_values():
    checks.compare(np.array([1.0, 2.0]), np.array([1.0, 2.0]), name="x")


@pytest.mark.parametrize(
    ("got", "message"),
    [
        (..., "not answered yet"),
        (None, "not answered yet"),
        ("abc", "should be numbers"),
        (np.ones((3, 2)), "has shape"),
        (np.ones((2, 3)).T.T[:, :2], "has shape"),
        (np.array([[np.nan, 1.0, 0.0], [0.5, 0.5, 0.0]]), "NaN"),
    ],
)
def test_compare_names_the_problem(got, message):
    with pytest.raises(AssertionError, match=message):
        checks.compare(got, np.full((2, 3), 1 / 3), name="resp")


def test_compare_spots_a_transpose_a_factor_and_bad_normalization():
    expected = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    with pytest.raises(AssertionError, match="transposed"):
        checks.compare(expected.T, expected, name="resp")
    with pytest.raises(AssertionError, match="factor of n = 3"):
        checks.compare(expected * 3, expected, name="resp", n=3)
    wrong_axis = expected / expected.sum(axis=0, keepdims=True)
    with pytest.raises(AssertionError, match="along axis 1"):
        checks.compare(wrong_axis, expected, name="resp", sums_to_one_axis=1)
    off = expected.copy()
    off[1, 0] = 0.7
    with pytest.raises(AssertionError, match=r"at index \(1, 0\)"):
        checks.compare(off, expected, name="resp")


def test_responsibilities_check_accepts_the_stable_version_every_time():
    for _ in range(20):  # fresh random data on every call
        checks.responsibilities_from_log_joint(stable_resp)


def test_responsibilities_check_rejects_typical_mistakes():
    def naive(log_joint):
        return np.exp(log_joint) / np.exp(log_joint).sum(axis=1, keepdims=True)

    def unnormalized(log_joint):
        return np.exp(log_joint - log_joint.max(axis=1, keepdims=True))

    def wrong_axis(log_joint):
        shifted = np.exp(log_joint - log_joint.max(axis=0, keepdims=True))
        return shifted / shifted.sum(axis=0, keepdims=True)

    def stub(log_joint):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="underflow"):
        checks.responsibilities_from_log_joint(naive)
    with pytest.raises(AssertionError, match="should sum to 1"):
        checks.responsibilities_from_log_joint(unnormalized)
    with pytest.raises(AssertionError, match="normalize along axis 1"):
        checks.responsibilities_from_log_joint(wrong_axis)
    with pytest.raises(AssertionError, match="not implemented"):
        checks.responsibilities_from_log_joint(stub)
    with pytest.raises(AssertionError, match="not defined"):
        checks.responsibilities_from_log_joint(...)


def test_mle_sigma_recognises_the_n_minus_1_mistake():
    x = np.random.default_rng(0).normal(170, 10, 50)
    checks.mle_sigma(np.std(x), x)
    with pytest.raises(AssertionError, match="n - 1"):
        checks.mle_sigma(np.std(x, ddof=1), x)
    with pytest.raises(AssertionError, match="not right: it is too high") as info:
        checks.mle_sigma(np.std(x) + 1, x)
    assert f"{np.std(x):.3}" not in str(info.value)  # a numeric answer is never revealed
