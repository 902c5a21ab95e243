"""Tests of kexue.variational: Euler--Lagrange via sympy, discretised functionals, descent times, cycloid,
catenary and the weighted Fermat point."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

from kexue import variational as V

x = sp.Symbol("x")
y = sp.Function("y")(x)
yp, ypp = y.diff(x), y.diff(x, 2)


# -- symbolic -----------------------------------------------------------------------------------------
def test_euler_lagrange_known_forms():
    assert sp.simplify(V.euler_lagrange(sp.sqrt(1 + yp**2), y, x) * (1 + yp**2) ** sp.Rational(3, 2) + ypp) == 0
    q = sp.Symbol("q")
    assert sp.simplify(V.euler_lagrange(ypp**2 / 2 - q * y, y, x) - (y.diff(x, 4) - q)) == 0
    # harmonic oscillator: F = y'^2/2 - y^2/2  ->  -y - y''
    assert sp.simplify(V.euler_lagrange(yp**2 / 2 - y**2 / 2, y, x) + y + ypp) == 0


def test_euler_lagrange_rejects_bad_arguments():
    with pytest.raises(TypeError, match="y must be"):
        V.euler_lagrange(x**2, x, x)
    with pytest.raises(TypeError, match="x must be"):
        V.euler_lagrange(yp**2, y, 3)


def test_beltrami_is_constant_along_extremals():
    v = sp.Function("v")
    F = sp.sqrt(1 + yp**2) / v(y)
    H = V.beltrami(F, y, x)
    assert sp.simplify(H - 1 / (v(y) * sp.sqrt(1 + yp**2))) == 0
    # dH/dx = y' E[y] for F without explicit x
    assert sp.simplify(H.diff(x) - yp * V.euler_lagrange(F, y, x)) == 0


def test_beltrami_rejects_explicit_x_and_higher_derivatives():
    with pytest.raises(ValueError, match="explicitly"):
        V.beltrami(x * yp**2, y, x)
    with pytest.raises(ValueError, match="only y and y'"):
        V.beltrami(ypp**2, y, x)


def test_first_variation_is_integral_of_euler_lagrange_plus_boundary_term():
    F = yp**2 / 2 + x * y
    y0, E = x**3, V.euler_lagrange(F, y, x)
    E0 = V.substitute_function(E, y, x, x**3)
    for eta, boundary in ((x * (1 - x), 0), (x, sp.diff(y0, x).subs(x, 1) * 1)):
        dJ = V.first_variation(F, y, x, y0, eta, 0, 1)
        assert sp.simplify(dJ - sp.integrate(E0 * eta, (x, 0, 1)) - boundary) == 0


def test_substitute_function_replaces_derivatives_first():
    assert sp.simplify(V.substitute_function(y * yp + ypp, y, x, sp.sin(x)) - (sp.sin(x) * sp.cos(x) - sp.sin(x))) == 0


# -- discretised functional ---------------------------------------------------------------------------
def test_discretize_functional_arc_length_of_a_line_is_exact():
    xs, J = V.discretize_functional(lambda x, y, p: jnp.sqrt(1 + p**2), 0.0, 3.0, 1.0, 5.0, 7)
    assert xs.shape == (8,)
    assert float(J(1 + 4 * xs[1:-1] / 3)) == pytest.approx(5.0, rel=1e-14)


def test_discretize_functional_gradient_tends_to_euler_lagrange_at_second_order():
    F = lambda x, y, p: p**2 / 2 + x * y  # E[y] = x - y''
    errs = []
    for n in (20, 40, 80):
        xs, J = V.discretize_functional(F, 0.0, 1.0, 0.0, math.sin(2.0), n)
        xi = xs[1:-1]
        g = jax.grad(J)(jnp.sin(2 * xi)) / (1.0 / n)
        errs.append(float(jnp.max(jnp.abs(g - (xi + 4 * jnp.sin(2 * xi))))))
    assert all(3.5 < e1 / e2 < 4.5 for e1, e2 in zip(errs, errs[1:])), errs


def test_discretize_functional_validates():
    with pytest.raises(TypeError, match="F must be"):
        V.discretize_functional(3, 0, 1, 0, 1, 4)
    with pytest.raises(ValueError, match="a < b"):
        V.discretize_functional(lambda x, y, p: p, 1, 0, 0, 1, 4)
    with pytest.raises(ValueError, match="n must be"):
        V.discretize_functional(lambda x, y, p: p, 0, 1, 0, 1, 1)
    _, J = V.discretize_functional(lambda x, y, p: p, 0, 1, 0, 1, 4)
    with pytest.raises(ValueError, match="y_interior"):
        J(jnp.zeros(4))


# -- descent times ------------------------------------------------------------------------------------
def test_polyline_time_of_a_straight_incline_is_exact():
    # straight chute from rest: T = sqrt(2 L / (g sin a)) = sqrt(2 (X^2 + Y^2) / (g Y))
    X, Y, g = 3.0, 2.0, 9.81
    for n in (1, 7):
        s = jnp.linspace(0, 1, n + 1)
        T = V.polyline_times(X * s, Y * s, g=g)
        assert T.shape == (n + 1,) and float(T[0]) == 0
        assert float(T[-1]) == pytest.approx(math.sqrt(2 * (X * X + Y * Y) / (g * Y)), rel=1e-14)


def test_polyline_time_converges_to_cycloid_time():
    phi = jnp.linspace(0, math.pi, 20001)
    xs, ys = V.cycloid(1.0, phi)
    assert float(V.polyline_times(xs, ys, g=9.81)[-1]) == pytest.approx(math.pi / math.sqrt(9.81), rel=1e-8)


def test_polyline_times_rejects_unreachable_paths():
    with pytest.raises(ValueError, match="above the release"):
        V.polyline_times(jnp.array([0.0, 1.0, 2.0]), jnp.array([0.0, 1.0, -0.5]))
    with pytest.raises(ValueError, match="release height"):
        V.polyline_times(jnp.array([0.0, 1.0, 2.0]), jnp.array([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="same shape"):
        V.polyline_times(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError, match="non-finite"):
        V.polyline_times(jnp.array([0.0, jnp.nan]), jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="g must be"):
        V.polyline_times(jnp.array([0.0, 1.0]), jnp.array([0.0, 1.0]), g=0.0)


def test_polyline_times_is_differentiable_under_jit():
    xs = jnp.linspace(0, 1, 5)
    T = jax.jit(lambda yi: V.polyline_times(xs, jnp.concatenate([jnp.zeros(1), yi, jnp.ones(1)]))[-1])
    assert jnp.all(jnp.isfinite(jax.grad(T)(jnp.array([0.3, 0.6, 0.8]))))


def test_curve_descent_time_cycloid_and_tautochrone():
    g, r = 9.81, 0.7
    for phi0 in (0.0, 0.5, 2.0):
        T = V.curve_descent_time(lambda s: V.cycloid(r, s), phi0, math.pi, g=g)
        assert T == pytest.approx(math.pi * math.sqrt(r / g), rel=1e-9)


def test_curve_descent_time_validates():
    with pytest.raises(TypeError, match="curve"):
        V.curve_descent_time(3, 0, 1)
    with pytest.raises(ValueError, match="s0 < s1"):
        V.curve_descent_time(lambda s: (s, s), 1, 0)
    with pytest.raises(ValueError, match="cannot reach"):  # a hump: rises above the start
        V.curve_descent_time(lambda s: (s, jnp.sin(s)), 0.0, 4.0)


# -- cycloid ------------------------------------------------------------------------------------------
@given(st.floats(0.05, 20.0), st.floats(0.05, 20.0))
def test_cycloid_through_hits_the_end_point(X, Y):
    r, phi1 = V.cycloid_through(X, Y)
    x1, y1 = V.cycloid(r, phi1)
    assert 0 < phi1 < 2 * math.pi
    assert float(x1) == pytest.approx(X, rel=1e-9) and float(y1) == pytest.approx(Y, rel=1e-9)
    assert (phi1 > math.pi) == (X / Y > math.pi / 2) or abs(X / Y - math.pi / 2) < 1e-9


def test_cycloid_validates():
    with pytest.raises(ValueError, match="X must be"):
        V.cycloid_through(-1.0, 1.0)
    with pytest.raises(TypeError, match="Y must be"):
        V.cycloid_through(1.0, "a")
    with pytest.raises(ValueError, match="r must be"):
        V.cycloid(0.0, 1.0)


# -- catenary -----------------------------------------------------------------------------------------
@given(
    st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 5), st.floats(-3, 3), st.floats(1.0001, 4.0)
)
def test_catenary_through_fits_ends_and_length(x1, y1, h, y2, stretch):
    x2 = x1 + h
    L = stretch * math.hypot(h, y2 - y1)
    a, b, lam = V.catenary_through((x1, y1), (x2, y2), L)
    ends = V.catenary(jnp.array([x1, x2]), a, b, lam)
    assert float(ends[0]) == pytest.approx(y1, abs=1e-7 * (1 + L)) and float(ends[1]) == pytest.approx(y2, abs=1e-7 * (1 + L))
    length = a * (math.sinh((x2 - b) / a) - math.sinh((x1 - b) / a))
    assert length == pytest.approx(L, rel=1e-8)


def test_catenary_through_validates():
    with pytest.raises(ValueError, match="exceed the distance"):
        V.catenary_through((0, 0), (1, 0), 1.0)
    with pytest.raises(ValueError, match="right of p1"):
        V.catenary_through((1, 0), (0, 0), 3.0)
    with pytest.raises(ValueError, match="a must be"):
        V.catenary(0.0, -1.0, 0.0, 0.0)


def test_chain_nodes_keeps_link_lengths():
    th = jnp.array([-0.5, 0.1, 0.7])
    p = V.chain_nodes(th, (1.0, 2.0), 0.5)
    assert p.shape == (4, 2)
    np.testing.assert_allclose(jnp.linalg.norm(jnp.diff(p, axis=0), axis=1), 0.5, rtol=1e-14)
    np.testing.assert_allclose(p[0], [1.0, 2.0])
    with pytest.raises(ValueError, match="link must be"):
        V.chain_nodes(th, (0, 0), -1.0)


# -- weighted Fermat point ----------------------------------------------------------------------------
def test_weighted_fermat_angles_equal_weights_and_sum():
    np.testing.assert_allclose(V.weighted_fermat_angles([1, 1, 1]), [2 * math.pi / 3] * 3, rtol=1e-14)
    ang = V.weighted_fermat_angles([3, 4, 5])
    assert ang.sum() == pytest.approx(2 * math.pi) and ang[2] == pytest.approx(math.pi / 2)
    with pytest.raises(ValueError, match="triangle inequality"):
        V.weighted_fermat_angles([1, 1, 2])
    with pytest.raises(ValueError, match="three finite positive"):
        V.weighted_fermat_angles([1, -1, 1])


@given(st.lists(st.floats(-2, 2), min_size=6, max_size=6), st.lists(st.floats(0.5, 2), min_size=3, max_size=3))
def test_fermat_vertex_agrees_with_a_numerical_minimiser(coords, k):
    A = np.array(coords).reshape(3, 2)
    (u1, u2), (w1, w2) = A[1] - A[0], A[2] - A[0]
    area2 = abs(u1 * w2 - u2 * w1)
    sides = [np.linalg.norm(A[i] - A[j]) for i, j in ((0, 1), (1, 2), (2, 0))]
    if area2 < 0.2 or min(sides) < 0.3:
        return
    k = np.array(k)
    f = lambda P: float(np.sum(k * np.linalg.norm(A - P, axis=1)))
    vertex = V.fermat_vertex(A, k)
    best = min(minimize(f, A.mean(0) + d, method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-13)).fun
               for d in (np.zeros(2), np.array([0.1, -0.05])))
    if vertex is not None:
        assert f(A[vertex]) <= best + 1e-8
    else:  # interior: strictly better than every vertex
        assert best < min(f(A[i]) for i in range(3)) - 1e-9


def test_fermat_vertex_validates():
    with pytest.raises(ValueError, match="collinear"):
        V.fermat_vertex([[0, 0], [1, 1], [2, 2]], [1, 1, 1])
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        V.fermat_vertex([[0, 0], [1, 1]], [1, 1, 1])


def test_polyline_times_gradient_is_finite_when_the_start_moves_with_the_parameters():
    σ = jnp.linspace(0, 1, 101)
    bx, by = V.cycloid(1.0, jnp.pi * σ)
    dT = jax.grad(lambda e: V.polyline_times(bx, by + e * σ**2 * (1 - σ))[-1])(0.0)
    assert jnp.isfinite(dT)
