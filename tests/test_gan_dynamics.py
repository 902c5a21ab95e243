"""kexue.gan (dynamics): Dirac-GAN fields and eigenvalues, gradient penalties, hinge and single-loss GAN, EMA."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kexue import gan, train

coord = st.floats(-3, 3)
state4 = st.tuples(coord, coord, coord, coord).map(np.array)


@given(s=state4)
def test_ns_field_is_the_articles_ode(s):
    """φ̇ = -σ(θ·φ) θ, θ̇ = (1 - σ(θ·φ)) φ."""
    phi, th = s[:2], s[2:]
    sig = 1 / (1 + np.exp(-th @ phi))
    np.testing.assert_allclose(gan.dirac_field("ns")(s), np.r_[-sig * th, (1 - sig) * phi], rtol=1e-10, atol=1e-12)


@given(s=state4, lam=st.floats(0.1, 3), c=st.sampled_from([0.0, 1.0]))
def test_gp_field_is_the_articles_ode(s, lam, c):
    """φ̇ = -θ - 2λ(1 - c/‖φ‖) φ, θ̇ = φ."""
    phi, th = s[:2], s[2:]
    if np.linalg.norm(phi) < 1e-3:
        return
    expected = np.r_[-th - 2 * lam * (1 - c / np.linalg.norm(phi)) * phi, phi]
    np.testing.assert_allclose(gan.dirac_field("gp", lam=lam, center=c)(s), expected, rtol=1e-9, atol=1e-10)


@given(s=state4)
def test_conserved_quantity_of_ns_qp_and_unit_speed_of_wgan(s):
    """dJ/dt = 0 for NS and GAN-QP (J = θ₁φ₂ - θ₂φ₁); WGAN keeps ‖φ‖ and moves θ at unit speed."""
    phi, th = s[:2], s[2:]
    if np.linalg.norm(phi) < 1e-2 or np.linalg.norm(th) < 1e-2:
        return
    for variant in ("ns", "qp"):
        v = np.asarray(gan.dirac_field(variant)(s))
        dj = v[2] * phi[1] + th[0] * v[1] - v[3] * phi[0] - th[1] * v[0]
        assert abs(dj) < 1e-9 * (1 + np.abs(s).max() ** 2)
    v = np.asarray(gan.dirac_field("wgan")(s))
    assert abs(phi @ v[:2]) < 1e-10 and np.linalg.norm(v[2:]) == pytest.approx(1, rel=1e-12)


def test_eigenvalues_at_the_equilibrium():
    zero = jnp.zeros(2)
    np.testing.assert_allclose(gan.jacobian_eigenvalues(gan.dirac_field("ns"), zero), [-0.5j, 0.5j], atol=1e-14)
    lam = 0.5  # s² + 2λs + 1 = 0
    roots = np.sort_complex(np.roots([1, 2 * lam, 1]))
    np.testing.assert_allclose(gan.jacobian_eigenvalues(gan.dirac_field("gp", lam=lam), zero), roots, atol=1e-12)
    ev = gan.jacobian_eigenvalues(gan.dirac_field("ns", weight_decay=0.2), jnp.zeros(4))
    np.testing.assert_allclose(ev.real, -0.1, atol=1e-12)
    with pytest.raises(ValueError, match="point"):
        gan.jacobian_eigenvalues(gan.dirac_field("wgan"), zero)


def test_dirac_errors():
    with pytest.raises(ValueError, match="variant"):
        gan.dirac_field("lsgan")
    with pytest.raises(ValueError, match="lam"):
        gan.dirac_losses("gp", lam=0.0)
    with pytest.raises(ValueError, match="s: "):
        gan.dirac_field("ns")(jnp.zeros(3))


@given(phi=st.tuples(coord, coord).map(np.array), c=st.sampled_from([0.0, 1.0]))
def test_gradient_penalty_of_a_linear_critic(phi, c):
    """D(x) = x·φ has ∇ₓD = φ at every x, so the penalty is (‖φ‖ - c)² whatever the points."""
    x = np.random.default_rng(0).normal(size=(7, 2))
    pen = gan.gradient_penalty(lambda xi: xi @ phi, x, center=c)
    np.testing.assert_allclose(pen, (np.linalg.norm(phi) - c) ** 2, rtol=1e-10, atol=1e-12)


def test_gradient_penalty_errors():
    with pytest.raises(ValueError, match="x"):
        gan.gradient_penalty(jnp.sum, jnp.zeros(3))
    with pytest.raises(ValueError, match="center"):
        gan.gradient_penalty(jnp.sum, jnp.zeros((3, 2)), center=-1.0)


def test_hinge_losses():
    real, fake = jnp.array([-2.0, 0.5]), jnp.array([2.0, -1.0])
    assert float(gan.hinge_discriminator_loss(real, fake)) == pytest.approx((0 + 1.5) / 2 + (0 + 2) / 2)
    assert float(gan.hinge_generator_loss(fake)) == pytest.approx(0.5)


def _tiny_nets():
    k = jax.random.split(jax.random.key(3), 4)
    d = {"w": jax.random.normal(k[0], (2, 8)), "v": jax.random.normal(k[1], (8,))}
    g = {"w": jax.random.normal(k[2], (3, 8)), "v": jax.random.normal(k[3], (8, 2))}
    d_apply = lambda p, x: jnp.tanh(x @ p["w"]) @ p["v"]  # noqa: E731
    g_apply = lambda p, z: jnp.tanh(z @ p["w"]) @ p["v"]  # noqa: E731
    x, z = jax.random.normal(jax.random.key(4), (16, 2)), jax.random.normal(jax.random.key(5), (16, 3))
    return d, g, d_apply, g_apply, x, z


@pytest.mark.parametrize("lam", [0.1, 1.0, 10.0])
def test_single_loss_gradient_is_both_players_gradients(lam):
    d, g, d_apply, g_apply, x, z = _tiny_nets()
    gd, gg = jax.grad(gan.single_loss, argnums=2)(d_apply, g_apply, (d, g), x, z, lam)
    ld = lambda d: gan.hinge_discriminator_loss(d_apply(d, x), d_apply(d, g_apply(g, z)))  # noqa: E731
    lg = lambda g: gan.hinge_generator_loss(d_apply(d, g_apply(g, z)))  # noqa: E731
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14), gd, jax.grad(ld)(d))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, lam * b, rtol=1e-12, atol=1e-14), gg, jax.grad(lg)(g))
    value = gan.single_loss(d_apply, g_apply, (d, g), x, z, lam)
    assert float(value) == pytest.approx(float(ld(d)), abs=1e-14)


def test_single_loss_sgd_step_is_a_simultaneous_game_step():
    d, g, d_apply, g_apply, x, z = _tiny_nets()
    lr, lam = 0.1, 2.0
    grads = jax.grad(gan.single_loss, argnums=2)(d_apply, g_apply, (d, g), x, z, lam)
    one = jax.tree.map(lambda p, gr: p - lr * gr, (d, g), grads)
    d_loss = lambda D, G, b, k: gan.hinge_discriminator_loss(d_apply(D, x), d_apply(D, g_apply(G, z)))  # noqa: E731
    g_loss = lambda D, G, b, k: gan.hinge_generator_loss(d_apply(D, g_apply(G, z)))  # noqa: E731
    game = train.init_game(d, optax.sgd(lr), g, optax.sgd(lr * lam))
    for mode, same in (("simultaneous", True), ("alternating", False)):
        step = train.game_step(d_loss, g_loss, optax.sgd(lr), optax.sgd(lr * lam), mode=mode)
        new = step(game, jax.random.key(0))[0]
        diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves((new.d.params, new.g.params)),
                                                                  jax.tree.leaves(one)))
        assert (diff < 1e-12) == same, (mode, diff)


@pytest.mark.parametrize(("beta", "n"), [(0.0, 1), (0.5, 7), (0.99, 30)])
def test_ema_of_a_constant_path(beta, n):
    """Bias-corrected EMA of a constant path is the constant; starting at x₁ gives it too."""
    path = jnp.full((n, 2), 3.0)
    np.testing.assert_allclose(gan.ema(path, beta), path, rtol=1e-10)
    np.testing.assert_allclose(gan.ema(path, beta, bias_correction=False), path, rtol=1e-10)


def test_ema_recursion_and_errors():
    path = jnp.arange(1.0, 5.0)
    m, out = 0.0, []
    for t, x in enumerate(path, 1):
        m = 0.5 * m + 0.5 * x
        out.append(m / (1 - 0.5**t))
    np.testing.assert_allclose(gan.ema(path, 0.5), out, rtol=1e-12)
    with pytest.raises(ValueError, match="beta"):
        gan.ema(path, 1.0)
    with pytest.raises(ValueError, match="path"):
        gan.ema(jnp.zeros(0), 0.5)
