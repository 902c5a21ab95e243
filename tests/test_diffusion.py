"""Tests of kexue.diffusion: schedules and the notation map, respacing, the losses, the sampler, time features."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kexue import diffusion as dif

jax.config.update("jax_enable_x64", True)

FAST = settings(max_examples=25, deadline=None)
alphas = hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(0.05, 0.9999))


def _key(i: int = 0) -> jax.Array:
    return jax.random.key(i)


# ------------------------------------------------------------------------------------------- schedules
@FAST
@given(alphas)
def test_schedule_identities(a):
    s = dif.schedule_from_alpha(a)
    np.testing.assert_allclose(s.alpha**2 + s.beta**2, 1.0, rtol=1e-13)
    np.testing.assert_allclose(s.alpha_bar, np.cumprod(a), rtol=1e-12)
    np.testing.assert_allclose(s.alpha_bar**2 + s.beta_bar**2, 1.0, rtol=1e-13)
    prev = np.r_[0.0, s.beta_bar[:-1]]   # β̄_t² = β_t² + α_t² β̄_{t-1}²
    np.testing.assert_allclose(s.beta_bar**2, s.beta**2 + s.alpha**2 * prev**2, rtol=1e-12, atol=1e-15)
    assert s.T == len(a)


@FAST
@given(alphas)
def test_coefficient_squares_sum_to_one(a):
    """(α_t⋯α_1)² + Σ_k (α_t⋯α_{k+1})² β_k² = 1 for every t."""
    s = dif.schedule_from_alpha(a)
    for t in range(1, s.T + 1):
        tail = [np.prod(a[k:t]) ** 2 * s.beta[k - 1] ** 2 for k in range(1, t + 1)]
        assert abs(s.alpha_bar[t - 1] ** 2 + sum(tail) - 1) < 1e-12


@FAST
@given(alphas)
def test_ho_map_round_trip(a):
    s = dif.schedule_from_alpha(a)
    h = dif.to_ho(s)
    np.testing.assert_allclose(h.alpha, 1 - h.beta, rtol=1e-12)
    np.testing.assert_allclose(h.alpha_bar, np.cumprod(h.alpha), rtol=1e-11)
    np.testing.assert_allclose(1 - h.alpha_bar, s.beta_bar**2, rtol=1e-9, atol=1e-15)
    back = dif.from_ho(h)
    for x, y in zip(back, s):
        np.testing.assert_allclose(x, y, rtol=1e-9)


def test_linear_and_article_schedules():
    s = dif.ddpm_schedule(1000)
    h = dif.to_ho(s)
    np.testing.assert_allclose(h.beta[[0, -1]], [1e-4, 0.02], rtol=1e-12)
    art = dif.ddpm_schedule(1000, "article")
    np.testing.assert_allclose(dif.to_ho(art).beta, 0.02 * np.arange(1, 1001) / 1000, rtol=1e-12)
    log_abar = np.log(art.alpha_bar[-1])
    assert -0.005 * 1001 / 0.98 < log_abar < -0.005 * 1001   # log(1-x) in (-x/(1-x), -x)
    assert dif.ddpm_schedule(1).T == 1


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20])
def test_respace(n):
    s = dif.ddpm_schedule(20, beta_max=0.3)
    times, r = dif.respace(s, n)
    assert times[-1] == 20 and len(times) == n and np.all(np.diff(times) > 0)
    np.testing.assert_allclose(r.alpha_bar, s.alpha_bar[times - 1], rtol=1e-12)
    np.testing.assert_allclose(np.cumprod(r.alpha), r.alpha_bar, rtol=1e-12)
    np.testing.assert_allclose(r.alpha_bar**2 + r.beta_bar**2, 1, rtol=1e-12)
    if n == 20:
        for x, y in zip(r, s):
            np.testing.assert_allclose(x, y, rtol=1e-12)


def test_eps_map_inverse():
    s = dif.ddpm_schedule(10, beta_max=0.2)
    e = jax.random.normal(_key(), (10, 3))
    t = jnp.arange(1, 11)
    np.testing.assert_allclose(dif.eps_from_ho(dif.eps_to_ho(e, s, t), s, t), e, rtol=1e-12)
    np.testing.assert_allclose(dif.eps_to_ho(e, s, t)[:, 0], e[:, 0] * s.beta_bar / s.beta, rtol=1e-12)


# ------------------------------------------------------------------------------------------- noising and losses
def test_noisy_matches_composed_steps():
    """T single demolition steps and the skip formula agree in law: mean ᾱ_T x0, variance β̄_T²."""
    s = dif.ddpm_schedule(30, beta_max=0.1)
    x = jnp.full((40_000, 1), 1.5)
    k = _key(3)
    for t in range(30):
        x = s.alpha[t] * x + s.beta[t] * jax.random.normal(jax.random.fold_in(k, t), x.shape)
    assert abs(float(x.mean()) - 1.5 * s.alpha_bar[-1]) < 5 * s.beta_bar[-1] / 200
    assert abs(float(x.var()) / s.beta_bar[-1] ** 2 - 1) < 5 * np.sqrt(2 / 40_000)
    x0 = jnp.array([[1.0, 2.0]])
    np.testing.assert_allclose(dif.noisy(x0, jnp.array([[0.5, -1.0]]), s, jnp.array([7])),
                               s.alpha_bar[6] * x0 + s.beta_bar[6] * jnp.array([[0.5, -1.0]]), rtol=1e-12)


def test_ddpm_loss_zero_for_the_exact_predictor():
    s = dif.ddpm_schedule(50, beta_max=0.1)
    x0 = jnp.zeros((8, 2))
    t = jnp.arange(1, 9) * 6
    eps = jax.random.normal(_key(1), (8, 2))
    exact = lambda x, tt: x / jnp.asarray(s.beta_bar)[tt - 1][:, None]  # noqa: E731  x_t = β̄_t ε when x0 = 0
    np.testing.assert_allclose(dif.ddpm_loss(exact, x0, t, eps, s), 0.0, atol=1e-20)
    wrong = lambda x, tt: 0 * x  # noqa: E731
    np.testing.assert_allclose(dif.ddpm_loss(wrong, x0, t, eps, s), jnp.sum(eps**2, 1), rtol=1e-12)


def test_two_noise_loss_averages_to_weighted_ddpm_loss():
    """E over the noises of the two-noise loss = (β²/β̄²) E ddpm_loss + d α² β̄_{t-1}² / β̄_t² (at fixed t)."""
    s = dif.ddpm_schedule(40, beta_max=0.1)
    W = jnp.array([[0.3, -0.2], [0.1, 0.5]])
    eps_fn = lambda x, t: x @ W + 0.1  # noqa: E731  any function of x_t will do
    n, t = 200_000, 25
    k1, k2, k3 = jax.random.split(_key(4), 3)
    x0 = jax.random.normal(k1, (n, 2)) + 1.0
    e1, e2 = jax.random.normal(k2, (n, 2)), jax.random.normal(k3, (n, 2))
    tt = jnp.full((n,), t)
    naive = np.asarray(dif.two_noise_loss(eps_fn, x0, tt, e1, e2, s))
    merged = (s.alpha[t - 1] * s.beta_bar[t - 2] * e1 + s.beta[t - 1] * e2) / s.beta_bar[t - 1]
    reduced = np.asarray(dif.ddpm_loss(eps_fn, x0, tt, merged, s))
    w, c = s.beta[t - 1] ** 2 / s.beta_bar[t - 1] ** 2, 2 * s.alpha[t - 1] ** 2 * s.beta_bar[t - 2] ** 2 / s.beta_bar[t - 1] ** 2
    diff = naive - (w * reduced + c)
    assert abs(diff.mean()) < 5 * diff.std() / np.sqrt(n)
    assert naive.var() > (w * reduced).var()   # the merged loss has the smaller variance


def test_two_noise_loss_equals_ddpm_loss_at_t1():
    """At t = 1 there is no ε̄_0: both losses coincide (weight β₁²/β̄₁² = 1, constant 0)."""
    s = dif.ddpm_schedule(10, beta_max=0.1)
    eps_fn = lambda x, t: jnp.tanh(x)  # noqa: E731
    x0, e1, e2 = (jax.random.normal(k, (16, 3)) for k in jax.random.split(_key(5), 3))
    t = jnp.ones(16, jnp.int32)
    np.testing.assert_allclose(dif.two_noise_loss(eps_fn, x0, t, e1, e2, s), dif.ddpm_loss(eps_fn, x0, t, e2, s), rtol=1e-12)


def test_ddpm_loss_sample_is_finite_and_keeps_dtype():
    s = dif.ddpm_schedule(20)
    x0 = jnp.ones((32, 2), jnp.float32)
    v = jax.jit(lambda k: dif.ddpm_loss_sample(lambda x, t: 0 * x, x0, k, s))(_key(6))
    assert v.dtype == jnp.float32 and np.isfinite(float(v))


# ------------------------------------------------------------------------------------------- the sampler
def _point_mass_eps(s, c):
    """The exact noise predictor for data concentrated at c: ε̂ = (x − ᾱ_t c)/β̄_t."""
    abar, bbar = jnp.asarray(s.alpha_bar), jnp.asarray(s.beta_bar)
    return lambda x, t: (x - abar[t - 1] * c) / bbar[t - 1]


@pytest.mark.parametrize("sigma", dif.SIGMAS)
def test_sampler_recovers_a_point_mass(sigma):
    s = dif.ddpm_schedule(30, beta_max=0.2)
    c = jnp.array([1.0, -2.0])
    x_T = jax.random.normal(_key(7), (5, 2))
    out = dif.sample(_point_mass_eps(s, c), s, x_T, _key(8), sigma=sigma)
    np.testing.assert_allclose(out, jnp.broadcast_to(c, (5, 2)), atol=1e-10)


@FAST
@given(hnp.arrays(np.float64, st.integers(2, 15), elements=st.floats(0.3, 0.999)), st.sampled_from(dif.SIGMAS),
       st.integers(0, 2**31 - 1))
def test_both_notations_give_the_same_samples(a, sigma, seed):
    s = dif.schedule_from_alpha(a)
    eps_fn = lambda x, t: jnp.sin(x + 0.1 * t)  # noqa: E731
    x_T = jax.random.normal(_key(seed), (4, 2))
    ours = dif.sample(eps_fn, s, x_T, _key(seed + 1), sigma=sigma)
    ho = dif.sample(eps_fn, dif.to_ho(s), x_T, _key(seed + 1), sigma=sigma)
    np.testing.assert_allclose(ours, ho, rtol=1e-9, atol=1e-9)


def test_sampler_path_and_respaced_times():
    s = dif.ddpm_schedule(12, beta_max=0.3)
    times, r = dif.respace(s, 4)
    seen = []
    eps_fn = lambda x, t: (seen.append(t), 0 * x)[1]  # noqa: E731  traced once by scan
    path = dif.sample(eps_fn, r, jnp.ones((3, 2)), _key(9), times=times, sigma="zero", return_path=True)
    assert path.shape == (5, 3, 2)
    np.testing.assert_allclose(path[-1], np.ones((3, 2)) / r.alpha_bar[-1], rtol=1e-12)  # ε = 0: divide by ᾱ
    assert len(seen) == 1


def test_sampler_under_vmap_and_float32():
    s = dif.ddpm_schedule(8, beta_max=0.3)
    x_T = jnp.ones((3, 4, 2), jnp.float32)
    out = jax.vmap(lambda x: dif.sample(lambda y, t: 0.1 * y, s, x, _key(10)))(x_T)
    assert out.shape == (3, 4, 2) and out.dtype == jnp.float32


# ------------------------------------------------------------------------------------------- time features
@FAST
@given(st.integers(1, 16).map(lambda h: 2 * h), hnp.arrays(np.int64, st.integers(1, 5), elements=st.integers(0, 1000)))
def test_time_embedding(dim, t):
    e = np.asarray(dif.sinusoidal_time_embedding(t, dim, dtype=jnp.float64))
    assert e.shape == (len(t), dim)
    np.testing.assert_allclose(np.sum(e**2, axis=1), dim // 2, rtol=1e-12)   # sin² + cos² per frequency
    np.testing.assert_allclose(e[:, 0], np.sin(t), rtol=1e-9, atol=1e-12)     # ω_0 = 1


def test_time_embedding_at_zero():
    e = dif.sinusoidal_time_embedding(jnp.array(0), 4)
    np.testing.assert_allclose(e, [0, 0, 1, 1])
    assert e.dtype == jnp.float32


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, name", [
    (lambda: dif.ddpm_schedule(0), ValueError, "T"),
    (lambda: dif.ddpm_schedule(2.0), TypeError, "T"),
    (lambda: dif.ddpm_schedule(10, "cosine"), ValueError, "kind"),
    (lambda: dif.ddpm_schedule(10, beta_max=1.0), ValueError, "beta_max"),
    (lambda: dif.ddpm_schedule(10, beta_min=0.5, beta_max=0.1), ValueError, "beta_min"),
    (lambda: dif.schedule_from_alpha([0.5, 1.0]), ValueError, "alpha"),
    (lambda: dif.schedule_from_alpha([[0.5]]), ValueError, "alpha"),
    (lambda: dif.schedule_from_alpha("a"), TypeError, "alpha"),
    (lambda: dif.from_ho([0.0, 0.1]), ValueError, "beta"),
    (lambda: dif.to_ho([0.1]), TypeError, "schedule"),
    (lambda: dif.respace(dif.ddpm_schedule(5), 6), ValueError, "n"),
    (lambda: dif.noisy(jnp.ones((2, 2)), jnp.ones((2, 3)), dif.ddpm_schedule(5), jnp.array([1, 2])), ValueError, "eps"),
    (lambda: dif.noisy(jnp.ones((2, 2)), jnp.ones((2, 2)), dif.ddpm_schedule(5), jnp.array([0, 2])), ValueError, "t"),
    (lambda: dif.noisy(jnp.ones((2, 2)), jnp.ones((2, 2)), dif.ddpm_schedule(5), jnp.array([1.0, 2.0])), TypeError, "t"),
    (lambda: dif.ddpm_loss(None, jnp.ones((2, 2)), jnp.array([1, 2]), jnp.ones((2, 2)), dif.ddpm_schedule(5)),
     TypeError, "eps_fn"),
    (lambda: dif.sample(lambda x, t: x, dif.ddpm_schedule(5), jnp.ones((2, 2)), _key(), sigma="big"), ValueError, "sigma"),
    (lambda: dif.sample(lambda x, t: x, dif.ddpm_schedule(5), jnp.ones((2, 2)), 0), TypeError, "key"),
    (lambda: dif.sample(lambda x, t: x, dif.ddpm_schedule(5), jnp.ones((2, 2), jnp.int32), _key()), TypeError, "x_T"),
    (lambda: dif.sample(lambda x, t: x, dif.ddpm_schedule(5), jnp.ones((2, 2)), _key(), times=[1, 2, 3]),
     ValueError, "times"),
    (lambda: dif.sample(lambda x, t: x, (1, 2), jnp.ones((2, 2)), _key()), TypeError, "schedule"),
    (lambda: dif.sinusoidal_time_embedding(jnp.arange(3), 5), ValueError, "dim"),
    (lambda: dif.sinusoidal_time_embedding(jnp.arange(3), 4, max_period=1.0), ValueError, "max_period"),
])
def test_bad_arguments_name_themselves(call, exc, name):
    with pytest.raises(exc, match=name):
        call()
