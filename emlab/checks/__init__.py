"""Exercise checks: compare a student's answer with emlab's reference and say what is off.

Every check

* builds *fresh* data on each call, so that passing means the code is right, not that a number
  was copied;
* compares with emlab's own implementation of the same step, and turns away a
  function that simply calls that implementation (see :func:`_core._call`);
* on a mismatch raises :class:`AssertionError` with a diagnosis a student can act
  on (wrong shape, rows that do not sum to one, off by a factor of n, the
  unstable version that underflows), and returns ``None`` when all is well.

They are called from otter-grader's test cells in the lesson notebooks, so they
must print nothing: otter's doctest runner would read printed text as a wrong
answer.

One module per lesson holds that lesson's checks: ``exercises`` (how the exercises work),
``likelihood`` (maximum likelihood), ``bias_and_priors`` (n or n - 1, MAP), ``latent`` (latent
variables), ``em_algorithm`` (the EM algorithm), ``kmeans`` (k-means), ``coins`` (the two
coins), ``mixtures_1d`` (Gaussian mixtures in 1-D), ``mixtures`` (Gaussian mixtures in many
dimensions), ``choosing_k`` (choosing K, collapse and real data), ``bound`` (the lower bound),
``priors`` (priors against collapse), ``missing`` (missing data), ``hmm`` (hidden Markov
models), ``own_model`` (EM for a model of your own), ``scale`` (EM at scale); ``_core`` holds
what they share.
Every check is importable from here too (``emlab.checks.kmeans_assign``), which is how the
lessons' test cells call them.
"""

from __future__ import annotations

from emlab.checks._core import compare, not_answered
from emlab.checks.bias_and_priors import beta_bernoulli_map, simulated_variance_ratio
from emlab.checks.bound import elbo_1d
from emlab.checks.choosing_k import gmm_m_step_fixed, house_prices_kmeans_ari, old_faithful_bic
from emlab.checks.coins import (
    do_batzoglou_second_e_step,
    e_step_responsibilities,
    m_step_thetas,
    two_coins_em,
)
from emlab.checks.em_algorithm import e_step_two_components, m_step_shared_sd
from emlab.checks.exercises import mle_sigma, responsibilities_from_log_joint
from emlab.checks.hmm import forward_log_space, long_sequence_log_likelihood, transition_m_step
from emlab.checks.kmeans import kmeans_assign, kmeans_blobs_inertia, kmeans_lloyd, kmeans_update
from emlab.checks.latent import (
    global_warming_parameters,
    log_likelihood_gradient_sigma,
    responsibility_of_men_at_180,
)
from emlab.checks.likelihood import (
    coin_a_theta,
    gaussian_log_likelihood,
    heights_log_likelihood_at_mle,
)
from emlab.checks.missing import e_step_fixed, fill_in_pattern, mean_imputation_factor
from emlab.checks.mixtures import gmm_full_covariances, gmm_parameter_count
from emlab.checks.mixtures_1d import (
    gmm_1d_misassigned,
    gmm_e_step_1d,
    gmm_em_loop_1d,
    gmm_weights_and_means_1d,
)
from emlab.checks.own_model import (
    log_likelihood_never_falls,
    poisson_e_step,
    poisson_em,
    poisson_log_likelihood,
    poisson_m_step,
)
from emlab.checks.priors import fixed_m_step, map_covariance, map_weights
from emlab.checks.scale import block_statistics, bytes_sent, combine

__all__ = [
    "beta_bernoulli_map",
    "block_statistics",
    "bytes_sent",
    "coin_a_theta",
    "combine",
    "compare",
    "do_batzoglou_second_e_step",
    "e_step_fixed",
    "e_step_responsibilities",
    "e_step_two_components",
    "elbo_1d",
    "fill_in_pattern",
    "fixed_m_step",
    "forward_log_space",
    "gaussian_log_likelihood",
    "global_warming_parameters",
    "gmm_1d_misassigned",
    "gmm_e_step_1d",
    "gmm_em_loop_1d",
    "gmm_full_covariances",
    "gmm_m_step_fixed",
    "gmm_parameter_count",
    "gmm_weights_and_means_1d",
    "heights_log_likelihood_at_mle",
    "house_prices_kmeans_ari",
    "kmeans_assign",
    "kmeans_blobs_inertia",
    "kmeans_lloyd",
    "kmeans_update",
    "log_likelihood_gradient_sigma",
    "log_likelihood_never_falls",
    "long_sequence_log_likelihood",
    "m_step_shared_sd",
    "m_step_thetas",
    "map_covariance",
    "map_weights",
    "mean_imputation_factor",
    "mle_sigma",
    "not_answered",
    "old_faithful_bic",
    "poisson_e_step",
    "poisson_em",
    "poisson_log_likelihood",
    "poisson_m_step",
    "responsibilities_from_log_joint",
    "responsibility_of_men_at_180",
    "simulated_variance_ratio",
    "transition_m_step",
    "two_coins_em",
]
