"""kexue.gan (dynamics): Dirac-GAN fields and eigenvalues, gradient penalties, hinge and single-loss GAN, EMA."""

from __future__ import annotations

from fractions import Fraction

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import optax
import pytest
from hypothesis import assume, given
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


@pytest.mark.parametrize(("variant", "kwargs", "exc", "name"), [
    ("lsgan", {}, ValueError, "variant"), (None, {}, ValueError, "variant"), ("NS", {}, ValueError, "variant"),
    ("gp", {"lam": 0.0}, ValueError, "lam"), ("gp", {"lam": -1.0}, ValueError, "lam"), ("gp", {"lam": np.nan}, ValueError, "lam"),
    ("qp", {"lam": np.inf}, ValueError, "lam"), ("gp", {"lam": "1"}, TypeError, "lam"), ("gp", {"lam": True}, TypeError, "lam"),
    ("gp", {"center": -1.0}, ValueError, "center"), ("gp", {"center": np.nan}, ValueError, "center"),
    ("gp", {"center": None}, TypeError, "center"), ("ns", {"weight_decay": -0.1}, ValueError, "weight_decay"),
    ("ns", {"weight_decay": np.inf}, ValueError, "weight_decay"), ("ns", {"weight_decay": np.nan}, ValueError, "weight_decay"),
    # a parameter the variant does not have would be ignored silently (WGAN with lam is not WGAN-GP)
    ("wgan", {"lam": 10.0}, ValueError, "lam"), ("ns", {"lam": 0.5}, ValueError, "lam"), ("ns", {"center": 1.0}, ValueError, "center"),
    ("qp", {"center": 1.0}, ValueError, "center"),
])
def test_dirac_parameter_errors(variant, kwargs, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        gan.dirac_losses(variant, **kwargs)
    with pytest.raises(exc, match=f"^{name}:"):
        gan.dirac_field(variant, **kwargs)


@pytest.mark.parametrize(("s", "exc", "match"), [
    (jnp.zeros(3), ValueError, "even length"), (jnp.zeros(0), ValueError, "at least 1"), (jnp.zeros((2, 4)), ValueError, "dimension"),
    (jnp.array([0.5, np.nan, 1.0, 0.8]), ValueError, "NaN"), (jnp.array([0.5, 0.1, np.inf, 0.8]), ValueError, "NaN/inf"),
    (None, TypeError, "array"), ("abcd", TypeError, "array"), (jnp.ones(4, bool), TypeError, "bool"),
    (jnp.ones(4, complex), TypeError, "complex"),
])
def test_dirac_field_refuses_bad_states(s, exc, match):
    with pytest.raises(exc, match=f"^s: .*{match}"):
        gan.dirac_field("ns")(s)


def test_dirac_losses_name_bad_players():
    loss_d, loss_g = gan.dirac_losses("ns")
    with pytest.raises(ValueError, match=r"^theta: must have the shape of phi \(2,\)"):
        loss_d(jnp.ones(2), jnp.ones(3))
    with pytest.raises(ValueError, match="^phi: expected 1 dimension"):
        loss_g(1.0, 2.0)
    with pytest.raises(ValueError, match="^phi: .*NaN"):
        loss_d(jnp.array([np.nan, 0.0]), jnp.ones(2))
    assert float(loss_d(np.array([1, 0]), np.array([0, 1]))) == pytest.approx(np.log(2))  # ints are numbers


def test_dirac_field_accepts_ints_and_lists():
    f = gan.dirac_field("gp", lam=0.5)
    np.testing.assert_array_equal(f([1, 2, 3, 4]), f(jnp.array([1.0, 2.0, 3.0, 4.0])))


@pytest.mark.parametrize(("variant", "kwargs", "s"), [
    ("wgan", {}, [0.0, 0.0, 1.0, 0.8]), ("qp", {}, [0.5, -0.3, 0.0, 0.0]), ("gp", {"center": 1.0}, [0.0, 0.0, 1.0, 0.8]),
])
def test_singular_points_raise_eagerly_and_give_nan_under_jit(variant, kwargs, s):
    f = gan.dirac_field(variant, **kwargs)
    with pytest.raises(ValueError, match="^s: .*not finite at this state"):
        f(jnp.array(s))
    assert np.isnan(np.asarray(jax.jit(f)(jnp.array(s)))).any()
    with pytest.raises(ValueError, match="^point: the Jacobian is not finite"):
        gan.jacobian_eigenvalues(f, jnp.array(s))


def _mp(v):
    return [mp.mpf(float(x)) for x in v]


def _close(got, exact, scale):
    """Each component to 1e-12 of the size of the terms that make it up (cancellation between them is allowed)."""
    err = max(abs(mp.mpf(float(g)) - e) for g, e in zip(np.asarray(got), exact))
    assert err <= mp.mpf(1e-12) * scale, (np.asarray(got), [float(e) for e in exact])


def _no_subnormals(x: np.ndarray) -> bool:
    """No entry of ``x`` is subnormal (0 < |x| < 2.2e-308): XLA on the CPU flushes subnormal inputs to zero,
    so such a state is not the state the field is asked about (``assume`` skips it)."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    return not np.any((a > 0) & (a < np.finfo(np.float64).tiny))


@given(s=state4, k=st.integers(-1000, 1000))
def test_wgan_field_at_any_scale_of_phi(s, k):
    """φ̇ = -θ/‖φ‖ + aφ/‖φ‖³, θ̇ = φ/‖φ‖ (a = θ·φ) with φ scaled by 2^k, against mpmath: ‖φ‖² no longer under-
    or overflows (the old code gave NaN for ‖φ‖ < 1e-154 or > 1e154, and for ‖φ‖ < 1e-19 in float32)."""
    if np.linalg.norm(s[:2]) < 1e-3:
        return
    assume(_no_subnormals(np.ldexp(s[:2], k)))
    mp.mp.dps = 40
    phi, th = _mp(np.ldexp(s[:2], k)), _mp(s[2:])
    n = mp.sqrt(phi[0] ** 2 + phi[1] ** 2)
    a = th[0] * phi[0] + th[1] * phi[1]
    exact = [-th[i] / n + a * phi[i] / n**3 for i in range(2)] + [phi[i] / n for i in range(2)]
    _close(gan.dirac_field("wgan")(np.r_[np.ldexp(s[:2], k), s[2:]]), exact, max(1, np.abs(s[2:]).max() / float(n)))


@given(s=state4, k=st.integers(-1000, 1000), lam=st.floats(0.1, 3))
def test_qp_field_at_any_scale_of_theta(s, k, lam):
    """φ̇ = -θ - aθ/(λ‖θ‖), θ̇ = φ with θ scaled by 2^k, against mpmath."""
    if np.linalg.norm(s[2:]) < 1e-3:
        return
    assume(_no_subnormals(np.ldexp(s[2:], k)))
    mp.mp.dps = 40
    phi, th = _mp(s[:2]), _mp(np.ldexp(s[2:], k))
    n = mp.sqrt(th[0] ** 2 + th[1] ** 2)
    a = th[0] * phi[0] + th[1] * phi[1]
    exact = [-th[i] - a * th[i] / (lam * n) for i in range(2)] + phi
    scale = max(mp.mpf(1), n * (1 + mp.sqrt(phi[0] ** 2 + phi[1] ** 2) / lam))
    _close(gan.dirac_field("qp", lam=lam)(np.r_[s[:2], np.ldexp(s[2:], k)]), exact, scale)


@given(s=state4, k=st.integers(-1000, 1000), lam=st.floats(0.1, 3), c=st.floats(0.1, 2))
def test_gp_field_at_any_scale_of_phi(s, k, lam, c):
    """φ̇ = -θ - 2λ(1 - c/‖φ‖)φ, θ̇ = φ with φ scaled by 2^k, against mpmath."""
    if np.linalg.norm(s[:2]) < 1e-3:
        return
    assume(_no_subnormals(np.ldexp(s[:2], k)))
    mp.mp.dps = 40
    phi, th = _mp(np.ldexp(s[:2], k)), _mp(s[2:])
    n = mp.sqrt(phi[0] ** 2 + phi[1] ** 2)
    exact = [-th[i] - 2 * lam * (1 - c / n) * phi[i] for i in range(2)] + phi
    _close(gan.dirac_field("gp", lam=lam, center=c)(np.r_[np.ldexp(s[:2], k), s[2:]]), exact,
           max(1, 3 * lam * (n + c) + np.abs(s[2:]).max()))


def test_wgan_and_qp_fields_in_float32_near_their_singular_points():
    """In float32 (JAX's default) ‖φ‖² underflowed for ‖φ‖ < 1e-19 and the WGAN field was NaN; GAN-QP likewise
    near θ = 0, where an L2-damped GAN-QP run converges to."""
    v = np.asarray(gan.dirac_field("wgan")(jnp.array([1e-20, 0.0, 1.0, 0.8], jnp.float32)))
    assert v.dtype == np.float32
    np.testing.assert_allclose(v, [0.0, -8e19, 1.0, 0.0], rtol=1e-6, atol=1e13)
    v = np.asarray(gan.dirac_field("qp", weight_decay=0.1)(jnp.array([0.5, -0.3, 3e-23, 4e-23], jnp.float32)))
    np.testing.assert_allclose(v, [-0.05 - 3e-23 * 1.06, 0.03 - 4e-23 * 1.06, 0.5, -0.3], rtol=1e-6)


@given(phi=st.tuples(coord, coord).map(np.array), c=st.sampled_from([0.0, 1.0]))
def test_gradient_penalty_of_a_linear_critic(phi, c):
    """D(x) = x·φ has ∇ₓD = φ at every x, so the penalty is (‖φ‖ - c)² whatever the points."""
    x = np.random.default_rng(0).normal(size=(7, 2))
    pen = gan.gradient_penalty(lambda xi: xi @ phi, x, center=c)
    np.testing.assert_allclose(pen, (np.linalg.norm(phi) - c) ** 2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("critic", "x", "center", "exc", "name"), [
    (jnp.sum, jnp.zeros(3), 0.0, ValueError, "x"), (jnp.sum, jnp.zeros((0, 2)), 0.0, ValueError, "x"),
    (jnp.sum, jnp.zeros((3, 0)), 0.0, ValueError, "x"), (jnp.sum, jnp.full((3, 2), np.nan), 0.0, ValueError, "x"),
    (jnp.sum, None, 0.0, TypeError, "x"), (jnp.sum, jnp.ones((3, 2), bool), 0.0, TypeError, "x"),
    (jnp.sum, jnp.zeros((3, 2)), -1.0, ValueError, "center"), (jnp.sum, jnp.zeros((3, 2)), np.nan, ValueError, "center"),
    (jnp.sum, jnp.zeros((3, 2)), np.inf, ValueError, "center"), (jnp.sum, jnp.zeros((3, 2)), "1", TypeError, "center"),
    (None, jnp.zeros((3, 2)), 0.0, TypeError, "critic"), (lambda xi: 2 * xi, jnp.zeros((3, 2)), 0.0, ValueError, "critic"),
    (lambda xi: jnp.int32(1), jnp.zeros((3, 2)), 0.0, TypeError, "critic"), (lambda xi: None, jnp.zeros((3, 2)), 0.0, TypeError, "critic"),
])
def test_gradient_penalty_errors(critic, x, center, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        gan.gradient_penalty(critic, x, center=center)


def test_gradient_penalty_under_jit_and_with_integer_points():
    phi = jnp.array([3.0, 4.0])
    f = jax.jit(lambda x: gan.gradient_penalty(lambda xi: xi @ phi, x, 1.0))
    assert float(f(jnp.ones((3, 2)))) == pytest.approx(16.0)
    assert float(gan.gradient_penalty(lambda xi: xi @ phi, np.ones((3, 2), dtype=int))) == pytest.approx(25.0)
    with pytest.raises(ValueError, match="^x: .*at least 1"):
        f(jnp.zeros((0, 2)))


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


@pytest.mark.parametrize(("args", "exc", "match"), [
    ((None, "g", "p", "x", "z"), TypeError, "^d_apply: expected a callable"),
    (("d", None, "p", "x", "z"), TypeError, "^g_apply: expected a callable"),
    (("d", "g", "list", "x", "z"), TypeError, "^params: expected a tuple"),
    (("d", "g", "p", jnp.zeros((0, 2)), "z"), ValueError, "^x: .*at least 1"),
    (("d", "g", "p", "x", jnp.zeros((0, 3))), ValueError, "^z: .*at least 1"),
    (("d", "g", "p", jnp.full((16, 2), np.nan), "z"), ValueError, "^x: .*NaN"),
    (("d", "g", "p", None, "z"), TypeError, "^x: expected an array"),
    (("d", "g", "p", "x", "z", 0.0), ValueError, "^lam: must be > 0"),
    (("d", "g", "p", "x", "z", -1.0), ValueError, "^lam: must be > 0"),
    (("d", "g", "p", "x", "z", np.nan), ValueError, "^lam:"),
    (("d", "g", "p", "x", "z", "1"), TypeError, "^lam:"),
])
def test_single_loss_errors(args, exc, match):
    d, g, d_apply, g_apply, x, z = _tiny_nets()
    named = {"d": d_apply, "g": g_apply, "p": (d, g), "list": [d, g], "x": x, "z": z}
    args = [named.get(a, a) if isinstance(a, str) and a in named else a for a in args]
    with pytest.raises(exc, match=match):
        gan.single_loss(*args)


def test_single_loss_names_bad_discriminator_outputs_and_takes_a_traced_lam():
    d, g, d_apply, g_apply, x, z = _tiny_nets()
    with pytest.raises(ValueError, match=r"^d_apply\(d_params, x\): .*at least 1"):
        gan.single_loss(lambda p, x: jnp.zeros(0), g_apply, (d, g), x, z)
    with pytest.raises(TypeError, match=r"^d_apply\(d_params, x\): .*complex"):
        gan.single_loss(lambda p, x: jnp.ones(3) * 1j, g_apply, (d, g), x, z)
    f = jax.jit(lambda lam: gan.single_loss(d_apply, g_apply, (d, g), x, z, lam))
    assert float(f(2.0)) == pytest.approx(float(gan.single_loss(d_apply, g_apply, (d, g), x, z, 2.0)), rel=1e-14)


@pytest.mark.parametrize(("beta", "n"), [(0.0, 1), (0.5, 7), (0.99, 30)])
def test_ema_of_a_constant_path(beta, n):
    """Bias-corrected EMA of a constant path is the constant; starting at x₁ gives it too."""
    path = jnp.full((n, 2), 3.0)
    np.testing.assert_allclose(gan.ema(path, beta), path, rtol=1e-10)
    np.testing.assert_allclose(gan.ema(path, beta, bias_correction=False), path, rtol=1e-10)


@pytest.mark.parametrize(("f", "point", "exc", "match"), [
    (None, jnp.zeros(2), TypeError, "^field: expected a callable"),
    (lambda s: jnp.sum(s), jnp.zeros(2), ValueError, "^field: must map"),
    (lambda s: jnp.r_[s, s], jnp.zeros(2), ValueError, "^field: must map"),
    (lambda s: s * (1 + 1j), jnp.zeros(2), TypeError, "^field: must return real"),  # its real part was returned
    (gan.dirac_field("ns"), jnp.zeros(0), ValueError, "^point: .*at least 1"),
    (gan.dirac_field("ns"), jnp.array([np.nan, 0.0]), ValueError, "^point: .*NaN"),
    (gan.dirac_field("ns"), None, TypeError, "^point: expected an array"),
    (gan.dirac_field("ns"), jnp.zeros((2, 2)), ValueError, "^point: .*dimension"),
    (gan.dirac_field("ns"), jnp.zeros(3), ValueError, "^s: .*even length"),  # the field's own check
])
def test_jacobian_eigenvalues_errors(f, point, exc, match):
    with pytest.raises(exc, match=match):
        gan.jacobian_eigenvalues(f, point)


def test_jacobian_eigenvalues_of_integer_points_and_float32():
    ev = gan.jacobian_eigenvalues(gan.dirac_field("ns"), [0, 0])
    np.testing.assert_allclose(ev, [-0.5j, 0.5j], atol=1e-14)
    ev32 = gan.jacobian_eigenvalues(gan.dirac_field("gp", lam=0.5), jnp.zeros(2, jnp.float32))
    np.testing.assert_allclose(ev32, np.sort_complex(np.roots([1, 1.0, 1])), atol=1e-6)


def test_ema_in_float32_keeps_a_constant_path():
    """Issue 12: in float32 with β = 0.9999, 1 - β and β did not add up to 1, and the EMA of a constant drifted by 2e-4
    (6e-4 by step 20000); now the average of a constant is the constant, in both modes."""
    path = jnp.full((20_000, 2), 3.0, jnp.float32)
    for bc in (True, False):
        out = gan.ema(path, 0.9999, bias_correction=bc)
        assert out.dtype == jnp.float32
        np.testing.assert_array_equal(out, path)


def test_ema_in_float32_is_the_float64_average_rounded():
    path = np.r_[np.zeros(5000), np.ones(20_000)].astype(np.float32)[:, None]
    for bc in (True, False):
        exact = np.asarray(gan.ema(path.astype(np.float64), 0.9999, bias_correction=bc))
        np.testing.assert_array_equal(gan.ema(path, 0.9999, bias_correction=bc), exact.astype(np.float32))
    t = np.arange(1, 20_001)
    np.testing.assert_allclose(np.asarray(gan.ema(path, 0.9999, bias_correction=False))[5000:, 0], -np.expm1(t * np.log(0.9999)),
                               rtol=1e-6)


@given(x=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=30), beta=st.floats(0, 0.999), bc=st.booleans())
def test_ema_is_the_exact_weighted_average(x, beta, bc):
    """Against exact rational arithmetic: m̂_t = Σ_s β^{t-s} x_s / Σ_s β^{t-s} (bias-corrected), or
    m_t = β^t x_1 + Σ_s (1-β) β^{t-s} x_s (started at x_1)."""
    b, xs = Fraction(beta), [Fraction(v) for v in x]
    exact = []
    for t in range(1, len(x) + 1):
        w = [b ** (t - s) for s in range(1, t + 1)]
        if bc:
            exact.append(sum(wi * xi for wi, xi in zip(w, xs)) / sum(w))
        else:
            exact.append(b**t * xs[0] + sum((1 - b) * wi * xi for wi, xi in zip(w, xs)))
    got = np.asarray(gan.ema(np.array(x), beta, bias_correction=bc))
    np.testing.assert_allclose(got, [float(e) for e in exact], rtol=0, atol=1e-12 * (1 + max(map(abs, x))))


def test_ema_at_the_ends_of_the_floats():
    big = np.array([1.7e308, -1.7e308, 1.7e308])
    out = np.asarray(gan.ema(big, 0.5))
    np.testing.assert_allclose(out, [1.7e308, -1.7e308 / 3, 1.7e308 / 7 * 3], rtol=1e-14)
    tiny = np.array([3e-310, 1e-310])
    np.testing.assert_allclose(np.asarray(gan.ema(tiny, 0.5, bias_correction=False)), [3e-310, 2e-310], rtol=1e-3)
    near_one = np.asarray(gan.ema(np.arange(1.0, 4.0), 1 - 1e-12))  # bias correction keeps the mean of the points
    np.testing.assert_allclose(near_one, [1.0, 1.5, 2.0], rtol=1e-9)
    complex_path = np.array([1 + 1j, 3 - 1j])  # m̂₂ = (β x₁ + x₂)/(β + 1)
    np.testing.assert_allclose(np.asarray(gan.ema(complex_path, 0.5)), [1 + 1j, (3.5 - 0.5j) / 1.5], rtol=1e-15)


@pytest.mark.parametrize(("path", "beta", "kwargs", "exc", "match"), [
    (jnp.zeros(0), 0.5, {}, ValueError, "^path: .*at least 1"), (jnp.zeros((3, 0)), 0.5, {}, ValueError, "^path: .*at least 1"),
    (2.0, 0.5, {}, ValueError, "^path: .*time on axis 0"), (jnp.array([1.0, np.nan]), 0.5, {}, ValueError, "^path: .*NaN"),
    (jnp.array([1.0, np.inf]), 0.5, {}, ValueError, "^path: .*NaN/inf"), (None, 0.5, {}, TypeError, "^path:"),
    (jnp.ones(3, bool), 0.5, {}, TypeError, "^path: .*bool"), (jnp.ones(3), 1.0, {}, ValueError, "^beta: must lie in"),
    (jnp.ones(3), -0.1, {}, ValueError, "^beta: must lie in"), (jnp.ones(3), np.nan, {}, ValueError, "^beta:"),
    (jnp.ones(3), "0.5", {}, TypeError, "^beta:"), (jnp.ones(3), True, {}, TypeError, "^beta:"), (jnp.ones(3), None, {}, TypeError, "^beta:"),
    (jnp.ones(3), 0.5, {"bias_correction": "no"}, TypeError, "^bias_correction:"),
])
def test_ema_errors(path, beta, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        gan.ema(path, beta, **kwargs)


def test_ema_runs_on_the_host_only():
    with pytest.raises(TypeError, match="^path: expected a concrete array"):
        jax.jit(lambda p: gan.ema(p, 0.5))(jnp.ones(3))
    out = gan.ema(np.arange(4), 0.5)  # integers: the default float
    assert out.dtype == jnp.float64 and float(out[0]) == 0.0


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
