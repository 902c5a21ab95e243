"""kexue.gan: the non-saturating losses, the MLP, mode coverage, and a GAN trained by kexue.train."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import optax
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kexue import data, gan, train

logits = arrays(np.float64, st.integers(1, 20), elements=st.floats(-15, 15))


@given(real=logits, fake=logits)
def test_losses_are_the_log_sigmoid_formulas(real, fake):
    sigma = lambda u: 1 / (1 + np.exp(-u))  # noqa: E731
    expected_d = -np.mean(np.log(sigma(real))) - np.mean(np.log1p(-sigma(fake)))
    np.testing.assert_allclose(gan.ns_discriminator_loss(real, fake), expected_d, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(gan.ns_generator_loss(fake), -np.mean(np.log(sigma(fake))), rtol=1e-8, atol=1e-12)


LOSSES = {
    "ns_discriminator_loss": lambda u: gan.ns_discriminator_loss(u, jnp.zeros(3)),
    "ns_discriminator_loss(fake)": lambda u: gan.ns_discriminator_loss(jnp.zeros(3), u),
    "ns_generator_loss": gan.ns_generator_loss,
    "hinge_discriminator_loss": lambda u: gan.hinge_discriminator_loss(u, jnp.zeros(3)),
    "hinge_discriminator_loss(fake)": lambda u: gan.hinge_discriminator_loss(jnp.zeros(3), u),
    "hinge_generator_loss": gan.hinge_generator_loss,
}
ARG = {"ns_discriminator_loss": "real_logits", "hinge_discriminator_loss": "real_logits"}


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize(("u", "exc", "match"), [
    (np.zeros(0), ValueError, "at least 1"),  # an empty batch has no mean (it was NaN)
    (np.array([0.0, np.nan]), ValueError, "NaN"), (np.array([np.inf]), ValueError, "NaN/inf"),
    (np.array([-np.inf, 0.0]), ValueError, "NaN/inf"), (None, TypeError, "array"), ("ab", TypeError, "array"),
    (np.array([True, False]), TypeError, "dtype bool"), (np.array([1 + 1j]), TypeError, "dtype complex"),
])
def test_losses_refuse_bad_logits(loss, u, exc, match):
    with pytest.raises(exc, match=f"^{ARG.get(loss, 'fake_logits')}: .*{match}"):
        LOSSES[loss](u)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses_under_jit_check_shapes_not_values(loss):
    """Under jit an empty batch is still refused (shapes are static); values are not seen (train.run checks them)."""
    f = jax.jit(LOSSES[loss])
    with pytest.raises(ValueError, match="at least 1"):
        f(jnp.zeros(0))
    assert np.isnan(f(jnp.array([np.nan, 0.0])))
    np.testing.assert_allclose(f(jnp.array([1.0, -2.0, 0.5])), LOSSES[loss](np.array([1.0, -2.0, 0.5])), rtol=1e-15)


def test_losses_accept_ints_lists_and_bfloat16():
    assert float(gan.ns_generator_loss([0, 0])) == pytest.approx(np.log(2))
    assert float(gan.hinge_generator_loss(np.array([1, 2]))) == 1.5
    assert float(gan.ns_generator_loss(jnp.zeros(4, jnp.bfloat16))) == pytest.approx(np.log(2), rel=1e-2)
    with pytest.raises(ValueError, match="^fake_logits: .*NaN"):
        gan.ns_generator_loss(jnp.array([np.nan], jnp.bfloat16))


@given(u=arrays(np.float64, st.integers(1, 8), elements=st.floats(-700, 700)))
def test_softplus_losses_to_the_last_digits(u):
    """-log σ(u) = log(1 + e^{-u}) against mpmath at 30 digits, for logits where e^{±u} overflows a naive form."""
    mp.mp.dps = 30
    exact = lambda v: float(sum(mp.log1p(mp.exp(-mp.mpf(float(x)))) for x in v) / len(v))  # noqa: E731
    np.testing.assert_allclose(float(gan.ns_generator_loss(u)), exact(u), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(float(gan.ns_discriminator_loss(u, -u)), 2 * exact(u), rtol=1e-13, atol=1e-300)


def test_losses_at_an_undecided_discriminator():
    """D(x) = 0 everywhere (σ = 1/2): L_D = 2 log 2, L_G = log 2."""
    zeros = jnp.zeros(5)
    assert float(gan.ns_discriminator_loss(zeros, zeros)) == pytest.approx(2 * np.log(2))
    assert float(gan.ns_generator_loss(zeros)) == pytest.approx(np.log(2))


def test_non_saturating_gradient_survives_a_confident_discriminator():
    """∂L_G/∂u = -(1 - σ(u))/n → -1/n as D calls the fake fake (u → -∞); the saturating loss's → 0."""
    u = jnp.full(4, -30.0)
    np.testing.assert_allclose(jax.grad(gan.ns_generator_loss)(u), -0.25, rtol=1e-12)
    saturating = lambda u: -jnp.mean(jax.nn.softplus(u))  # E log(1 - σ(u))  # noqa: E731
    assert np.abs(jax.grad(saturating)(u)).max() < 1e-13


def test_mlp_shapes_and_depth():
    net = gan.mlp([2, 16, 16, 1], rngs=nnx.Rngs(0))
    assert net(jnp.ones((5, 2))).shape == (5, 1)
    assert sum(isinstance(layer, nnx.Linear) for layer in net.layers) == 3
    assert gan.mlp(np.array([2, 3]), rngs=nnx.Rngs(0))(jnp.ones((1, 2))).shape == (1, 3)  # NumPy ints are ints


@pytest.mark.parametrize(("sizes", "exc", "name"), [
    ([3], ValueError, "sizes"), ([], ValueError, "sizes"), ([2, 0], ValueError, r"sizes\[1\]"),
    ([2, -1], ValueError, r"sizes\[1\]"), ([2, 2.0], TypeError, r"sizes\[1\]"), ([2, True], TypeError, r"sizes\[1\]"),
    ([None, 2], TypeError, r"sizes\[0\]"), (None, TypeError, "sizes"), ("23", TypeError, "sizes"), (4, TypeError, "sizes"),
])
def test_mlp_refuses_bad_sizes(sizes, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        gan.mlp(sizes, rngs=nnx.Rngs(0))


@pytest.mark.parametrize("rngs", [None, 0, jax.random.key(0)])
def test_mlp_refuses_bad_rngs(rngs):
    with pytest.raises(TypeError, match="^rngs:"):
        gan.mlp([2, 3], rngs=rngs)


def test_mode_coverage_counts_modes_and_quality():
    modes = data.ring_modes()
    x = np.asarray(data.eight_gaussians(jax.random.key(0), 4000))
    full = gan.mode_coverage(x, modes)
    assert full.covered == 8 and full.quality == 1.0
    np.testing.assert_allclose(full.fractions, 1 / 8, atol=0.03)
    three = x[np.argmin(np.linalg.norm(x[:, None] - np.asarray(modes)[None], axis=-1), axis=1) < 3]
    assert gan.mode_coverage(three, modes).covered == 3
    junk = np.zeros((1000, 2))  # the centre of the ring is 2 away from every mode
    assert gan.mode_coverage(junk, modes).covered == 0


def test_mode_coverage_threshold_is_inclusive():
    """A mode counts when at least min_frac of the samples lie within the radius of it."""
    modes = np.array([[0.0, 0.0], [10.0, 0.0]])
    x = np.vstack([np.zeros((99, 2)), [[10.05, 0.0]]])  # 1 % of samples near the second mode
    assert gan.mode_coverage(x, modes, radius=0.1, min_frac=0.01).covered == 2
    assert gan.mode_coverage(x, modes, radius=0.1, min_frac=0.011).covered == 1
    assert gan.mode_coverage(x, modes, radius=0.04).covered == 1


@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"samples": np.zeros((5, 3))}, ValueError, "modes"),  # the samples' d = 3, the ring's d = 2
    ({"samples": np.full((5, 2), np.nan)}, ValueError, "samples"),  # NaN is near no mode: not "0 modes covered"
    ({"samples": np.array([[0.0, np.inf]])}, ValueError, "samples"),
    ({"modes": np.array([[np.nan, 0.0]])}, ValueError, "modes"),
    ({"samples": np.zeros((0, 2))}, ValueError, "samples"),
    ({"modes": np.zeros((0, 2))}, ValueError, "modes"),
    ({"samples": np.zeros((3, 0)), "modes": np.zeros((2, 0))}, ValueError, "samples"),
    ({"samples": np.zeros(4)}, ValueError, "samples"),
    ({"samples": None}, TypeError, "samples"),
    ({"samples": "ab"}, TypeError, "samples"),
    ({"samples": np.zeros((5, 2), bool)}, TypeError, "samples"),
    ({"samples": np.zeros((5, 2), complex)}, TypeError, "samples"),
    ({"radius": 0.0}, ValueError, "radius"),
    ({"radius": -1.0}, ValueError, "radius"),
    ({"radius": np.nan}, ValueError, "radius"),
    ({"radius": np.inf}, ValueError, "radius"),
    ({"radius": "0.1"}, TypeError, "radius"),
    ({"radius": True}, TypeError, "radius"),
    ({"min_frac": 0.0}, ValueError, "min_frac"),
    ({"min_frac": 1.5}, ValueError, "min_frac"),
    ({"min_frac": np.nan}, ValueError, "min_frac"),
    ({"min_frac": None}, TypeError, "min_frac"),
])
def test_mode_coverage_errors(kwargs, exc, name):
    args = {"samples": np.zeros((5, 2)), "modes": data.ring_modes()} | kwargs
    with pytest.raises(exc, match=f"^{name}:"):
        gan.mode_coverage(**args)


@given(k=st.integers(-1000, 1000), seed=st.integers(0, 2**32 - 1))
def test_mode_coverage_is_scale_free(k, seed):
    """Scaling samples, modes and radius by 2^k (exact in floats) changes nothing, down to 1e-301 and up to 1e301:
    no square under- or overflows (before, 1e-200 samples counted as within 1e-250 of 0)."""
    rng = np.random.default_rng(seed)
    x, mu = rng.normal(size=(50, 2)), rng.normal(size=(3, 2))
    ref = gan.mode_coverage(x, mu, radius=0.5, min_frac=0.05)
    s = np.ldexp(1.0, k)
    got = gan.mode_coverage(x * s, mu * s, radius=0.5 * s, min_frac=0.05)
    assert got.covered == ref.covered and got.quality == ref.quality
    np.testing.assert_array_equal(got.fractions, ref.fractions)


def test_mode_coverage_far_beyond_the_radius_at_extreme_scales():
    assert gan.mode_coverage(np.full((5, 2), 1e-200), np.zeros((1, 2)), radius=1e-250).covered == 0
    assert gan.mode_coverage(np.array([[1.7e308, 0.0]]), np.array([[-1.7e308, 0.0]]), radius=1e308).covered == 0
    assert gan.mode_coverage(np.array([[1.7e308, 0.0]]), np.array([[1.6e308, 0.0]]), radius=1e307).covered == 1
    assert gan.mode_coverage(np.ones((3, 2), dtype=int), np.ones((1, 2)), radius=1e-300).covered == 1


def test_gan_trained_by_run_learns_the_ring():
    """Eight seeds of the chapter's 8-Gaussian GAN (width 32, batch 128, Adam 1e-3 with β1 = 0.5, alternating
    updates, zero-centred penalty), vmapped through kexue.train.run, cover 7 or more of the 8 modes on average
    after 2500 steps (every seed covered all 8 with AVX-512, AVX and SSE4.2 code). GAN training is chaotic: which
    seed ends where depends on the CPU's rounding, so only the average over seeds is asserted, with a margin of
    about one mode per seed."""
    latent, batch, width, n_seeds, steps = 2, 128, 32, 8, 2500
    adam = optax.adam(1e-3, b1=0.5)

    def noise(key):
        return jax.random.normal(key, (batch, latent), dtype=jnp.float32)

    def d_loss(D, G, x, key):
        penalty = gan.gradient_penalty(lambda xi: D(xi[None])[0, 0], x)
        return gan.ns_discriminator_loss(D(x)[:, 0], D(G(noise(key)))[:, 0]) + penalty

    def g_loss(D, G, x, key):
        return gan.ns_generator_loss(D(G(noise(key)))[:, 0])

    def init(seed):
        rngs = nnx.Rngs(seed)
        G, D = gan.mlp([latent, width, width, 2], rngs=rngs), gan.mlp([2, width, width, 1], rngs=rngs)
        return train.init_game(D, adam, G, adam)

    sample = lambda key: data.eight_gaussians(key, batch).astype(jnp.float32)  # noqa: E731
    step = train.game_step(d_loss, g_loss, adam, adam, sample, mode="alternating")

    def all_seeds(games, key):
        games, metrics = jax.vmap(step)(games, jax.random.split(key, n_seeds))
        return games, {name: jnp.mean(value) for name, value in metrics.items()}

    games = jax.tree.map(lambda *leaves: jnp.stack(leaves), *map(init, range(n_seeds)))
    games, history = train.run(all_seeds, games, steps=steps, key=jax.random.key(0), chunk=500, progress=False)
    assert np.isfinite(history["d_loss"]).all() and len(history["g_loss"]) == steps
    z = jax.random.normal(jax.random.key(1), (4000, latent), dtype=jnp.float32)
    samples = np.asarray(jax.vmap(lambda g: train.merge(g)(z))(games.g))
    coverage = [gan.mode_coverage(x, data.ring_modes()) for x in samples]
    assert np.mean([c.covered for c in coverage]) >= 7, coverage
    assert np.mean([c.quality for c in coverage]) > 0.3, coverage
