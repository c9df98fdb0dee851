"""Checks of lesson 08 (Gaussian mixtures in many dimensions): they accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest

from emlab import checks
from emlab.gmm import n_parameters

# --------------------------------------------------------------------------- full covariances


def _nk_and_means(X, resp):
    nk = resp.sum(axis=0)
    return nk, resp.T @ X / nk[:, np.newaxis]


def reference(X, resp):
    nk, means = _nk_and_means(X, resp)
    return np.stack(
        [
            (r[:, None] * (X - m)).T @ (X - m) / n_k
            for r, m, n_k in zip(resp.T, means, nk, strict=True)
        ]
    )


def with_floor(X, resp):
    return reference(X, resp) + 1e-6 * np.eye(X.shape[1])


def not_centred(X, resp):
    nk, _ = _nk_and_means(X, resp)
    return np.stack([(r[:, None] * X).T @ X / n_k for r, n_k in zip(resp.T, nk, strict=True)])


def centred_at_data_mean(X, resp):
    nk, _ = _nk_and_means(X, resp)
    diff = X - X.mean(axis=0)
    return np.stack([(r[:, None] * diff).T @ diff / n_k for r, n_k in zip(resp.T, nk, strict=True)])


def divided_by_n(X, resp):
    nk, _ = _nk_and_means(X, resp)
    return reference(X, resp) * nk[:, None, None] / len(X)


def unweighted(X, resp):
    _, means = _nk_and_means(X, resp)
    return np.stack([(X - m).T @ (X - m) / len(X) for m in means])


def weighted_twice(X, resp):
    nk, means = _nk_and_means(X, resp)
    return np.stack(
        [
            (r[:, None] * (X - m)).T @ (r[:, None] * (X - m)) / n_k
            for r, m, n_k in zip(resp.T, means, nk, strict=True)
        ]
    )


def one_matrix(X, resp):
    return reference(X, resp).sum(axis=0)


def component_axis_last(X, resp):
    return np.moveaxis(reference(X, resp), 0, -1)


def outer_product_wrong_way(X, resp):
    nk, means = _nk_and_means(X, resp)
    return np.stack(
        [
            (r[:, None] * (X - m)) @ (X - m).T / n_k
            for r, m, n_k in zip(resp.T, means, nk, strict=True)
        ]
    )


def only_variances(X, resp):
    return np.diagonal(reference(X, resp), axis1=1, axis2=2)


def test_full_covariances_accepts_the_reference_every_time():
    for _ in range(30):  # fresh data on every call
        checks.gmm_full_covariances(reference)
        checks.gmm_full_covariances(with_floor)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (not_centred, "not centred"),
        (centred_at_data_mean, "mean of all the points"),
        (divided_by_n, "divided by n"),
        (unweighted, "responsibilities are missing"),
        (weighted_twice, "appears twice"),
        (one_matrix, "one D x D matrix"),
        (component_axis_last, "component axis last"),
        (outer_product_wrong_way, "wrong way round"),
        (only_variances, "only the variances"),
    ],
)
def test_full_covariances_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.gmm_full_covariances(function)


def test_full_covariances_handles_stubs_and_crashes():
    def stub(X, resp):
        raise NotImplementedError

    def crashes(X, resp):
        return X[resp]

    def dots(X, resp):
        return ...

    with pytest.raises(AssertionError, match="not implemented"):
        checks.gmm_full_covariances(stub)
    with pytest.raises(AssertionError, match="raised IndexError"):
        checks.gmm_full_covariances(crashes)
    with pytest.raises(AssertionError, match="replace the"):
        checks.gmm_full_covariances(dots)
    with pytest.raises(AssertionError, match="not defined"):
        checks.gmm_full_covariances(...)


def test_full_covariances_reports_an_unrecognised_error_with_its_place():
    def slightly_off(X, resp):
        covariances = reference(X, resp)
        covariances[0, 0, 0] *= 1.01
        return covariances

    with pytest.raises(AssertionError, match="at index"):
        checks.gmm_full_covariances(slightly_off)


# --------------------------------------------------------------------------- parameter count

EXPECTED_COUNT = n_parameters(5, 3, "full")


def test_parameter_count_accepts_the_answer_in_any_numeric_type():
    for answer in (EXPECTED_COUNT, float(EXPECTED_COUNT), np.int64(EXPECTED_COUNT)):
        checks.gmm_parameter_count(answer)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (5 + 15 + 30, "only K - 1"),
        (4 + 15 + 45, "symmetric"),
        (4 + 15 + 15, "diagonal covariances"),
        (4 + 15 + 6, "shared by all components"),
        (15 + 30, "weights are missing"),
        (EXPECTED_COUNT - 1, "too low"),
        (EXPECTED_COUNT + 7, "too high"),
        (EXPECTED_COUNT + 0.5, "whole number"),
        ("many", "should be a number"),
        (..., "not answered"),
    ],
)
def test_parameter_count_names_the_mistake_without_revealing_the_answer(answer, message):
    with pytest.raises(AssertionError, match=message) as info:
        checks.gmm_parameter_count(answer)
    assert str(EXPECTED_COUNT) not in str(info.value)
