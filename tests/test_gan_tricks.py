"""kexue.gan's O-GAN and IMLE pieces (chapter 10) and kexue.gan_arch (CBN, AdaIN, SELF-MOD, strided convolutions)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kexue import gan, gan_arch

vec = arrays(np.float64, st.integers(3, 12), elements=st.floats(-10, 10))


def _spread(v):
    return np.std(v) > 1e-3 * (1 + np.abs(v).max())


@given(z=vec, a=st.floats(0.1, 10), b=st.floats(-5, 5))
def test_rho_is_cos_of_standardized_and_affine_invariant(z, a, b):
    rng = np.random.default_rng(len(z))
    zh = z + rng.normal(size=z.shape)
    if not (_spread(z) and _spread(zh)):
        return
    n = len(z)
    nz, nh = np.asarray(gan.standardize(z)), np.asarray(gan.standardize(zh))
    cos = nz @ nh / (np.linalg.norm(nz) * np.linalg.norm(nh))
    rho = float(gan.pearson_rho(z, zh))
    np.testing.assert_allclose(rho, cos, atol=1e-10)
    np.testing.assert_allclose(rho, np.corrcoef(z, zh)[0, 1], atol=1e-9)
    np.testing.assert_allclose(float(gan.pearson_rho(z, a * zh + b)), rho, atol=1e-9)
    np.testing.assert_allclose(np.sum((nz - nh) ** 2), 2 * n * (1 - rho), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose([nz.mean(), nz.std()], [0, 1], atol=1e-9)


def test_rho_rows_and_errors():
    z = np.arange(12.0).reshape(3, 4) ** 2
    np.testing.assert_allclose(gan.pearson_rho(z, z), np.ones(3), atol=1e-12)
    with pytest.raises(ValueError, match="^zh"):
        gan.pearson_rho(z, z[:2])
    with pytest.raises(ValueError, match="^z"):
        gan.standardize(np.ones((3, 1)))
    with pytest.raises(TypeError, match="^z"):
        gan.standardize("abc")


def _nets():
    kd, kg, kx, kz = jax.random.split(jax.random.key(0), 4)
    e = {"w": jax.random.normal(kd, (2, 4))}
    g = {"w": jax.random.normal(kg, (4, 2))}
    return (lambda p, x: jnp.tanh(x @ p["w"])), (lambda p, z: jnp.tanh(z @ p["w"])), (e, g), \
        jax.random.normal(kx, (16, 2)), jax.random.normal(kz, (16, 4))


def test_ogan_loss_gradients_are_each_players():
    e_apply, g_apply, (e, g), x, z = _nets()
    lam = 0.5
    ge, gg = jax.grad(lambda p: gan.ogan_loss(e_apply, g_apply, p, x, z, lam)[0])((e, g))
    d = lambda pe, y: jnp.mean(e_apply(pe, y), -1)  # noqa: E731
    rho = lambda pe, pg: jnp.mean(gan.pearson_rho(z, e_apply(pe, g_apply(pg, z))))  # noqa: E731
    fake = g_apply(g, z)
    le = lambda pe: gan.hinge_discriminator_loss(d(pe, x), d(pe, fake)) - lam * rho(pe, g)  # noqa: E731
    lg = lambda pg: jnp.mean(d(e, g_apply(pg, z))) - lam * rho(e, pg)  # noqa: E731
    np.testing.assert_allclose(ge["w"], jax.grad(le)(e)["w"], atol=1e-6)
    np.testing.assert_allclose(gg["w"], jax.grad(lg)(g)["w"], atol=1e-6)
    loss, m = gan.ogan_loss(e_apply, g_apply, (e, g), x, z, lam)
    np.testing.assert_allclose(loss, m["d_loss"] - lam * m["rho"], atol=1e-6)
    with pytest.raises(ValueError, match="^lam"):
        gan.ogan_loss(e_apply, g_apply, (e, g), x, z, -1.0)
    with pytest.raises(TypeError, match="^params"):
        gan.ogan_loss(e_apply, g_apply, e, x, z)


@given(d=arrays(np.float64, st.integers(1, 10), elements=st.floats(0, 50)), sigma=st.floats(0.01, 3))
def test_kernel_nll_is_squeezed_onto_the_min(d, sigma):
    v = float(gan.kernel_nll(d, sigma))
    assert d.min() - 2 * sigma**2 * np.log(len(d)) - 1e-9 <= v <= d.min() + 1e-9


def test_imle_losses_match_brute_force():
    rng = np.random.default_rng(1)
    x, f, f2 = rng.normal(size=(5, 2)), rng.normal(size=(7, 2)), rng.normal(size=(6, 2))
    dist = lambda a, b: np.array([[np.sum((p - q) ** 2) for q in b] for p in a])  # noqa: E731
    np.testing.assert_allclose(gan.imle_loss(x, f), dist(x, f).min(1).mean(), rtol=1e-12)
    rev = dist(f, x).min(1) - dist(f, f2).min(1)
    np.testing.assert_allclose(gan.reverse_imle_loss(f, x, f2), rev.mean(), rtol=1e-12)
    m = 0.3
    rev_m = dist(f, x).min(1) + np.maximum(m - dist(f, f2).min(1), 0)
    np.testing.assert_allclose(gan.reverse_imle_loss(f, x, f2, margin=m), rev_m.mean(), rtol=1e-12)
    with pytest.raises(ValueError, match="^fake"):
        gan.imle_loss(x, f[:, :1])
    with pytest.raises(ValueError, match="^margin"):
        gan.reverse_imle_loss(f, x, f2, margin=-1.0)
    with pytest.raises(ValueError, match="^sigma"):
        gan.kernel_nll(np.ones(3), 0.0)


# -- gan_arch -------------------------------------------------------------------------------------------------
def test_cbn_with_constant_scale_is_batch_norm():
    x = (np.random.default_rng(2).normal(size=(8, 3, 3, 4)) * 3 + 1).astype(np.float32)
    bn = nnx.BatchNorm(4, use_running_average=False, epsilon=1e-5, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(gan_arch.conditional_batch_norm(x, np.ones(4), np.zeros(4)), bn(jnp.asarray(x)),
                               atol=1e-5)
    y = np.asarray(gan_arch.conditional_batch_norm(x, 2.0, 0.5, eps=0.0))
    np.testing.assert_allclose(y.mean((0, 1, 2)), 0.5, atol=1e-5)
    np.testing.assert_allclose(y.std((0, 1, 2)), 2.0, atol=1e-5)


def test_adain_normalises_each_sample_and_ignores_the_batch():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 6, 6, 3)) * rng.uniform(1, 4, size=(5, 1, 1, 3)) + rng.normal(size=(5, 1, 1, 3))
    y = np.asarray(gan_arch.adain(x, np.ones((5, 3)), np.zeros((5, 3)), eps=0.0))
    np.testing.assert_allclose(y.mean((1, 2)), 0, atol=1e-9)
    np.testing.assert_allclose(y.std((1, 2)), 1, atol=1e-9)
    g, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    full = np.asarray(gan_arch.adain(x, g, b))
    np.testing.assert_allclose(gan_arch.adain(x[:2], g[:2], b[:2]), full[:2], atol=1e-12)
    with pytest.raises(ValueError, match="^x"):
        gan_arch.adain(x[:, 0, 0], g, b)
    with pytest.raises(ValueError, match="^gamma"):
        gan_arch.adain(x, np.ones((4, 3)), b)


def test_selfmod_starts_as_bn_and_depends_on_z():
    layer = gan_arch.SelfModBN(4, 3, hidden=8, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (16, 4))
    z = jax.random.normal(jax.random.key(2), (16, 3))
    np.testing.assert_allclose(layer(x, z), gan_arch.conditional_batch_norm(x, 1.0, 0.0), atol=1e-6)
    layer.gamma.kernel[...] = jax.random.normal(jax.random.key(3), (8, 4), dtype=jnp.float32)
    assert float(jnp.max(jnp.abs(layer(x, z) - layer(x, -z)))) > 1e-2
    with pytest.raises(ValueError, match="^features"):
        gan_arch.SelfModBN(0, 3, rngs=nnx.Rngs(0))


@settings(max_examples=12)
@given(k=st.integers(1, 7), s=st.integers(1, 4), n=st.integers(6, 12))
def test_checkerboard_profile_is_the_transposed_conv_and_periodic(k, s, n):
    prof = gan_arch.checkerboard_profile(k, s, n)
    out = jax.lax.conv_transpose(jnp.ones((1, n, 1)), jnp.ones((k, 1, 1)), (s,), "VALID",
                                 dimension_numbers=("NWC", "WIO", "NWC"))
    out = np.asarray(out)[0, :, 0]  # lax pads the end to n·s when K < s: zeros there
    np.testing.assert_array_equal(prof, out[: len(prof)])
    np.testing.assert_array_equal(out[len(prof):], 0)
    interior = prof[k: len(prof) - k]
    expected = np.array([sum(1 for t in range(k) if t % s == i % s) for i in range(k, len(prof) - k)])
    np.testing.assert_array_equal(interior, expected)
    if len(interior) >= s:
        assert (interior.min() == interior.max()) == (k % s == 0)


@settings(max_examples=12)
@given(rate=st.integers(1, 4), m=st.integers(3, 8), k=st.integers(1, 3))
def test_dilated_conv_is_conv_on_phases(rate, m, k):
    rng = np.random.default_rng(rate * 100 + m * 10 + k)
    x = rng.integers(-5, 6, size=rate * m).astype(np.float64)
    w = rng.integers(-3, 4, size=k).astype(np.float64)
    dil = jax.lax.conv_general_dilated(x[None, :, None], w[:, None, None], (1,), "VALID", rhs_dilation=(rate,),
                                       dimension_numbers=("NWC", "WIO", "NWC"))[0, :, 0]
    phases = gan_arch.space_to_batch_1d(x, rate)
    plain = jax.lax.conv_general_dilated(phases[:, :, None], w[:, None, None], (1,), "VALID",
                                         dimension_numbers=("NWC", "WIO", "NWC"))[:, :, 0]
    np.testing.assert_array_equal(np.asarray(dil), np.asarray(gan_arch.batch_to_space_1d(plain))[: len(dil)])
    np.testing.assert_array_equal(gan_arch.batch_to_space_1d(phases), x)


def test_space_to_batch_errors():
    with pytest.raises(ValueError, match="^x"):
        gan_arch.space_to_batch_1d(np.arange(5.0), 2)
    with pytest.raises(ValueError, match="^rate"):
        gan_arch.space_to_batch_1d(np.arange(4.0), 0)
    with pytest.raises(TypeError, match="^kernel"):
        gan_arch.checkerboard_profile(2.0, 1, 3)
