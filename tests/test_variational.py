"""Tests of kexue.variational: Euler--Lagrange via sympy, discretised functionals, descent times, cycloid,
catenary and the weighted Fermat point."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
import mpmath
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize

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
    with pytest.raises(TypeError, match="^y:"):
        V.euler_lagrange(x**2, x, x)
    with pytest.raises(TypeError, match="^x:"):
        V.euler_lagrange(yp**2, y, 3)


@pytest.mark.parametrize("bad", [None, [yp**2], "y(x)**2", "((", sp.Eq(yp, 1), {1: 2}])
def test_symbolic_functions_refuse_what_is_not_an_expression(bad):
    for call, name in ((lambda: V.euler_lagrange(bad, y, x), "F"), (lambda: V.beltrami(bad, y, x), "F"),
                       (lambda: V.substitute_function(yp**2, y, x, bad), "curve"),
                       (lambda: V.first_variation(yp**2, y, x, x, bad, 0, 1), "eta"),
                       (lambda: V.first_variation(yp**2, y, x, x, x, bad, 1), "a"),
                       (lambda: V.first_variation(yp**2, y, x, x, x, 0, bad), "b")):
        with pytest.raises(TypeError, match=f"^{name}:"):
            call()


def test_euler_lagrange_of_an_integrand_without_y_is_zero():
    assert V.euler_lagrange(x**2, y, x) == 0
    assert V.euler_lagrange(sp.Integer(3), y, x) == 0
    assert V.first_variation(yp**2 / 2, y, x, x, x, 0, 1) == 1  # plain numbers are expressions


def test_beltrami_is_constant_along_extremals():
    v = sp.Function("v")
    F = sp.sqrt(1 + yp**2) / v(y)
    H = V.beltrami(F, y, x)
    assert sp.simplify(H - 1 / (v(y) * sp.sqrt(1 + yp**2))) == 0
    # dH/dx = y' E[y] for F without explicit x
    assert sp.simplify(H.diff(x) - yp * V.euler_lagrange(F, y, x)) == 0


def test_beltrami_rejects_explicit_x_and_higher_derivatives():
    with pytest.raises(ValueError, match="^F: depends on x explicitly"):
        V.beltrami(x * yp**2, y, x)
    with pytest.raises(ValueError, match="^F: must contain only y and y'"):
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



# -- second variation and conjugate points ------------------------------------------------------------
def test_jacobi_coefficients_known_forms():
    assert V.jacobi_coefficients(yp**2 - y**2, y, x) == (2, -2)
    P, Q = V.jacobi_coefficients(y * sp.sqrt(1 + yp**2), y, x)  # the catenary / catenoid integrand
    assert sp.simplify(P - y / (1 + yp**2) ** sp.Rational(3, 2)) == 0
    assert sp.simplify(Q + ypp / (1 + yp**2) ** sp.Rational(3, 2)) == 0


@pytest.mark.parametrize("F", [yp**2 / 2 + x * y**2 * yp, sp.sqrt(1 + yp**2) * (1 + y**2), sp.exp(x) * (yp**2 - y**3)])
def test_second_variation_is_the_quadratic_form_of_jacobi_coefficients(F):
    eps = sp.Symbol("epsilon")
    y0, h = 1 + x**2 / 2, x * (1 - x)  # any curve; h vanishes at both ends
    varied = V.substitute_function(F, y, x, y0 + eps * h)
    d2 = sp.Integral(sp.diff(varied, eps, 2).subs(eps, 0), (x, 0, 1)).evalf(30)
    P, Q = (V.substitute_function(c, y, x, y0) for c in V.jacobi_coefficients(F, y, x))
    form = sp.Integral(P * h.diff(x) ** 2 + Q * h**2, (x, 0, 1)).evalf(30)
    assert abs(d2 - form) < 1e-20


@given(st.floats(-3.0, 3.0), st.floats(0.3, 3.0), st.floats(1.05, 3.0))
def test_conjugate_point_of_the_oscillator_is_half_a_period_away(a, omega, stretch):
    F = yp**2 - omega**2 * y**2  # Jacobi: h'' + omega^2 h = 0, h = sin(omega (x - a)) / omega
    b = a + stretch * math.pi / omega
    assert V.conjugate_point(F, y, x, 0, a, b) == pytest.approx(a + math.pi / omega, abs=1e-8)
    assert V.conjugate_point(F, y, x, 0, a, a + math.pi / omega / stretch) is None
    assert V.conjugate_point(-F, y, x, 0, a, b) == pytest.approx(a + math.pi / omega, abs=1e-8)  # P < 0: maxima


@given(st.floats(1.0, 3.0))
def test_conjugate_point_of_a_catenoid_matches_the_family_of_catenaries(k):
    """y = cosh(kx)/k through (-1, cosh k / k): the Jacobi field vanishing at -1 is a combination of the family's
    derivatives d/da and d/db of a cosh((x - b)/a); its next zero is the conjugate point (beyond 1 iff k tanh k < 1)."""
    def field(u):
        return math.sinh(k) * (math.cosh(u) - u * math.sinh(u)) + (math.cosh(k) - k * math.sinh(k)) * math.sinh(u)
    found = V.conjugate_point(y * sp.sqrt(1 + yp**2), y, x, sp.cosh(k * x) / k, -1.0, 3.0)
    if k * math.tanh(k) > 1:
        assert found is not None and found < 1
    if found is not None and found < 3.0 - 1e-6:
        assert abs(field(k * found)) < 1e-7 * (1 + math.cosh(k * found) * k)
        assert found == pytest.approx(brentq(field, -k + 1e-9, k * found + 0.1) / k, abs=1e-7)


def test_conjugate_point_validates():
    F = yp**2 - y**2
    a_ = sp.Symbol("a")
    cases = [((ypp**2, y, x, 0, 0, 1), ValueError, "F"), ((F, y, x, 0, 1, 1), ValueError, "b"),
             ((F, y, x, a_ * x, 0, 1), ValueError, "curve"), ((F + a_ * y**2, y, x, 0, 0, 1), ValueError, "F"),
             ((y * yp, y, x, 0, 0, 1), ValueError, "curve"),  # F_y'y' = 0: no Jacobi test
             ((y * sp.sqrt(1 + yp**2), y, x, x, -1, 1), ValueError, "curve"),  # F_y'y' = y changes sign
             ((sp.sqrt(y) * yp**2, y, x, x - 1, 0, 2), ValueError, "curve"),  # not real for x < 1
             ((F, y, x, 0, "0", 1), TypeError, "a"), ((F, y, x, None, 0, 1), TypeError, "curve"),
             ((F, x, x, 0, 0, 1), TypeError, "y")]
    for args, exc, name in cases:
        with pytest.raises(exc, match=f"^{name}:"):
            V.conjugate_point(*args)
    for rtol in (0.0, 0.1, float("nan")):
        with pytest.raises(ValueError, match="^rtol:"):
            V.conjugate_point(F, y, x, 0, 0, 1, rtol=rtol)
    with pytest.raises(ValueError, match="^F: must contain only"):
        V.jacobi_coefficients(ypp**2, y, x)

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


def square(x, y, p):
    return p**2


@pytest.mark.parametrize(("args", "exc", "name"), [
    ((3, 0, 1, 0, 1, 4), TypeError, "F"),
    ((None, 0, 1, 0, 1, 4), TypeError, "F"),
    ((square, 1, 0, 0, 1, 4), ValueError, "b"),
    ((square, 0, 0, 0, 1, 4), ValueError, "b"),
    ((square, None, 1, 0, 1, 4), TypeError, "a"),
    ((square, np.nan, 1, 0, 1, 4), ValueError, "a"),
    ((square, 0, "1", 0, 1, 4), TypeError, "b"),
    ((square, 0, 1, np.inf, 1, 4), ValueError, "ya"),
    ((square, 0, 1, 0, True, 4), TypeError, "yb"),
    ((square, -1e308, 1e308, 0, 1, 4), ValueError, "b"),  # b - a overflows
    ((square, 1.0, 1.0 + 1e-15, 0, 1, 100), ValueError, "b"),  # cells below float resolution
    ((square, 0, 1, 0, 1, 1), ValueError, "n"),
    ((square, 0, 1, 0, 1, 4.0), TypeError, "n"),
    ((square, 0, 1, 0, 1, V.MAX_CELLS + 1), ValueError, "n"),
])
def test_discretize_functional_validates(args, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        V.discretize_functional(*args)


@pytest.mark.parametrize(("F", "y_interior", "exc", "name"), [
    (square, jnp.zeros(4), ValueError, "y_interior"),
    (square, jnp.array([0.0, np.nan, 0.0]), ValueError, "y_interior"),
    (square, None, TypeError, "y_interior"),
    (square, "abc", TypeError, "y_interior"),
    (square, jnp.array([True, False, True]), TypeError, "y_interior"),
    (lambda x, y, p: jnp.ones((4, 2)), jnp.zeros(3), ValueError, "F"),
    (lambda x, y, p: jnp.ones(3), jnp.zeros(3), ValueError, "F"),
    (lambda x, y, p: 1j * p, jnp.zeros(3), TypeError, "F"),
])
def test_discretized_functional_validates_its_argument_and_F(F, y_interior, exc, name):
    _, J = V.discretize_functional(F, 0, 3, 0, 1, 4)
    with pytest.raises(exc, match=f"^{name}:"):
        J(y_interior)


def test_discretized_functional_takes_constants_integers_and_tracers():
    _, J = V.discretize_functional(lambda x, y, p: 2.0, 0, 3, 0, 1, 4)  # a constant integrand: 2 (b - a)
    assert float(J(jnp.zeros(3))) == pytest.approx(6.0, rel=1e-15)
    _, J = V.discretize_functional(square, 0, 3, 0.5, 1, 4)
    assert float(J(jnp.array([1, 2, 3]))) == float(J(jnp.array([1.0, 2.0, 3.0])))  # ints keep ya = 0.5
    g = jax.jit(jax.grad(J))(jnp.array([1.0, 2.0, 3.0]))
    assert g.shape == (3,) and bool(jnp.all(jnp.isfinite(g)))


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
    with pytest.raises(ValueError, match="^y: a node lies above the release"):
        V.polyline_times(jnp.array([0.0, 1.0, 2.0]), jnp.array([0.0, 1.0, -0.5]))
    with pytest.raises(ValueError, match="^y: a segment lies at the release height"):
        V.polyline_times(jnp.array([0.0, 1.0, 2.0]), jnp.array([0.0, 0.0, 1.0]))


@pytest.mark.parametrize(("x", "y", "g", "exc", "name"), [
    (jnp.zeros(3), jnp.arange(4.0), 9.81, ValueError, "y"),
    ([0.0, np.nan], [0.0, 1.0], 9.81, ValueError, "x"),
    ([0.0, 1.0], [0.0, np.inf], 9.81, ValueError, "y"),
    (None, [0.0, 1.0], 9.81, TypeError, "x"),
    ("ab", [0.0, 1.0], 9.81, TypeError, "x"),
    ([True, False], [0.0, 1.0], 9.81, TypeError, "x"),
    ([0.0], [0.0], 9.81, ValueError, "x"),
    (np.zeros((2, 2)), np.zeros((2, 2)), 9.81, ValueError, "x"),
    ([0.0, 1.0], [0.0, 1.0], 0.0, ValueError, "g"),
    ([0.0, 1.0], [0.0, 1.0], -9.81, ValueError, "g"),
    ([0.0, 1.0], [0.0, 1.0], None, TypeError, "g"),
    ([0.0, 1.0], [0.0, 1.0], "9.81", TypeError, "g"),
])
def test_polyline_times_validates(x, y, g, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        V.polyline_times(x, y, g=g)


@pytest.mark.parametrize("g", [1e-320, 1e-300, 9.81, 1e300, 1.7e308])
def test_polyline_time_is_right_for_extreme_gravity(g):
    X, Y = 3.0, 2.0  # straight incline: T = sqrt(2 (X^2 + Y^2) / (g Y))
    T = float(V.polyline_times(jnp.array([0.0, X]), jnp.array([0.0, Y]), g=g)[-1])
    assert T == pytest.approx(math.sqrt(2 * (X * X + Y * Y) / Y) / math.sqrt(g), rel=1e-14)
    T_deep = float(V.polyline_times(jnp.array([0.0, 1.0]), jnp.array([0.0, 1e307]), g=9.81)[-1])
    assert T_deep == pytest.approx(math.sqrt(2e307 / 9.81), rel=1e-14)


@jax.jit
def segment_formula(x_, y_, g):
    v = jnp.concatenate([jnp.zeros(1), jnp.sqrt(2 * g * (y_[1:] - y_[0]))])
    return jnp.concatenate([jnp.zeros(1), jnp.cumsum(2 * jnp.hypot(jnp.diff(x_), jnp.diff(y_)) / (v[:-1] + v[1:]))])


@given(st.lists(st.floats(0.01, 10.0), min_size=5, max_size=5), st.lists(st.floats(0.0, 10.0), min_size=5, max_size=5),
       st.floats(0.1, 100.0))
def test_polyline_times_and_gradients_are_bit_for_bit_the_segment_formula(dx, dy, g):
    # ordinary input gives exactly 2 ds / (v_i + v_{i+1}) with v = sqrt(2 g drop), and the same gradient under
    # jit: the chapters' stored outputs rely on it
    x_ = jnp.asarray(np.concatenate([[0.0], np.cumsum(dx)]))
    y_ = jnp.asarray(np.concatenate([[0.0], 0.01 + np.cumsum(dy)]))
    np.testing.assert_array_equal(V.polyline_times(x_, y_, g=g), segment_formula(x_, y_, g))
    grad_new = jax.grad(lambda y: V.polyline_times(x_, y, g=g)[-1])(y_)
    np.testing.assert_array_equal(grad_new, jax.grad(lambda y: segment_formula(x_, y, g)[-1])(y_))


def test_polyline_times_is_differentiable_under_jit():
    xs = jnp.linspace(0, 1, 5)
    T = jax.jit(lambda yi: V.polyline_times(xs, jnp.concatenate([jnp.zeros(1), yi, jnp.ones(1)]))[-1])
    assert jnp.all(jnp.isfinite(jax.grad(T)(jnp.array([0.3, 0.6, 0.8]))))


def test_curve_descent_time_cycloid_and_tautochrone():
    g, r = 9.81, 0.7
    for phi0 in (0.0, 0.5, 2.0):
        T = V.curve_descent_time(lambda s: V.cycloid(r, s), phi0, math.pi, g=g)
        assert T == pytest.approx(math.pi * math.sqrt(r / g), rel=1e-9)


def diagonal(s):
    return s, s


@pytest.mark.parametrize(("args", "kwargs", "exc", "name"), [
    ((3, 0, 1), {}, TypeError, "curve"),
    ((lambda s: s, 0, 1), {}, TypeError, "curve"),
    ((lambda s: (s, s, s), 0, 1), {}, TypeError, "curve"),
    ((lambda s: (s, 1j * s), 0, 1), {}, TypeError, "curve"),
    ((lambda s: (jnp.ones(2) * s, s), 0, 1), {}, TypeError, "curve"),
    ((lambda s: (s, s * jnp.nan), 0, 1), {}, ValueError, "curve"),
    ((lambda s: (s, jnp.sin(s)), 0.0, 4.0), {}, ValueError, "curve"),  # a hump: rises above the start
    ((diagonal, 1, 0), {}, ValueError, "s1"),
    ((diagonal, -1e308, 1e308), {}, ValueError, "s1"),
    ((diagonal, None, 1), {}, TypeError, "s0"),
    ((diagonal, 0, np.nan), {}, ValueError, "s1"),
    ((diagonal, 0, 1), {"g": 0.0}, ValueError, "g"),
    ((diagonal, 0, 1), {"epsrel": -1.0}, ValueError, "epsrel"),
    ((diagonal, 0, 1), {"epsrel": 1e-20}, ValueError, "epsrel"),
    ((diagonal, 0, 1), {"epsrel": "a"}, TypeError, "epsrel"),
])
def test_curve_descent_time_validates(args, kwargs, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        V.curve_descent_time(*args, **kwargs)


@pytest.mark.parametrize("g", [1e-300, 9.81, 1e300])
def test_curve_descent_time_for_extreme_gravity(g):
    # the straight diagonal from rest: T = sqrt(2 L / (g sin 45deg)) with L = sqrt 2, i.e. sqrt(4 / g)
    assert V.curve_descent_time(diagonal, 0.0, 1.0, g=g) == pytest.approx(2 / math.sqrt(g), rel=1e-10)


# -- cycloid ------------------------------------------------------------------------------------------
@given(st.floats(0.05, 20.0), st.floats(0.05, 20.0))
def test_cycloid_through_hits_the_end_point(X, Y):
    r, phi1 = V.cycloid_through(X, Y)
    x1, y1 = V.cycloid(r, phi1)
    assert 0 < phi1 < 2 * math.pi
    assert float(x1) == pytest.approx(X, rel=1e-9) and float(y1) == pytest.approx(Y, rel=1e-9)
    assert (phi1 > math.pi) == (X / Y > math.pi / 2) or abs(X / Y - math.pi / 2) < 1e-9


def test_cycloid_validates():
    with pytest.raises(ValueError, match="^X:"):
        V.cycloid_through(-1.0, 1.0)
    with pytest.raises(TypeError, match="^Y:"):
        V.cycloid_through(1.0, "a")
    with pytest.raises(TypeError, match="^X:"):
        V.cycloid_through(None, 1.0)
    with pytest.raises(ValueError, match="^Y:"):
        V.cycloid_through(1.0, np.inf)
    with pytest.raises(ValueError, match="^r:"):
        V.cycloid(0.0, 1.0)
    with pytest.raises(TypeError, match="^phi:"):
        V.cycloid(1.0, None)
    with pytest.raises(ValueError, match="^phi:"):
        V.cycloid(1.0, np.nan)
    with pytest.raises(FloatingPointError, match="r overflows"):
        V.cycloid_through(1e-300, 1.0)  # r ~ 2 Y^3 / (9 X^2) = 2e599
    with pytest.raises(FloatingPointError, match="X/Y"):
        V.cycloid_through(1e300, 1e-300)


def cycloid_root(ratio: float, start: float) -> tuple[mpmath.mpf, bool]:
    """The root of (phi - sin phi)/(1 - cos phi) = ratio at 400 digits (in eps = 2 pi - phi above pi/2)."""
    with mpmath.workdps(400):
        q = mpmath.mpf(ratio)
        if ratio <= math.pi / 2:
            f = lambda p: mpmath.log(p - mpmath.sin(p)) - mpmath.log(1 - mpmath.cos(p)) - mpmath.log(q)  # noqa: E731
            return log_root(f, start), False
        f = lambda e: (mpmath.log(2 * mpmath.pi - e + mpmath.sin(e)) - mpmath.log(1 - mpmath.cos(e))  # noqa: E731
                       - mpmath.log(q))
        return log_root(f, start), True


def log_root(f, start: float) -> mpmath.mpf:
    """The positive root of f near ``start``, by the secant method in log(x) (roots from 1e-300 to 1e300)."""
    t = mpmath.log(mpmath.mpf(start))
    t_root = mpmath.findroot(lambda t: f(mpmath.exp(t)), (t, t + mpmath.mpf(10) ** -6), tol=mpmath.mpf(10) ** -60)
    return mpmath.exp(t_root)


@given(st.floats(-150.0, 150.0))
def test_cycloid_through_keeps_full_precision_for_any_ratio(log10_ratio):
    X = 10.0**log10_ratio
    r, phi1 = V.cycloid_through(X, 1.0)
    top = X > math.pi / 2
    eps = 2 * math.pi - phi1
    root, _ = cycloid_root(X, (eps if X < 1e6 else math.sqrt(4 * math.pi / X)) if top else phi1)
    with mpmath.workdps(400):
        r_ref = 1 / (1 - mpmath.cos(root))
    assert r == pytest.approx(float(r_ref), rel=1e-13)
    if not top:
        assert phi1 == pytest.approx(float(root), rel=1e-14)
    else:
        assert phi1 == pytest.approx(float(2 * mpmath.pi - root), rel=1e-15)


@pytest.mark.parametrize("ratio", [1e-8, 1e-12])
def test_cycloid_through_small_ratio_from_the_issue(ratio):
    # phi1 ~ 3 X/Y and r ~ 2 Y^3 / (9 X^2) for small X/Y (1.3 % off at 1e-8, a division by zero at 1e-12 before)
    r, phi1 = V.cycloid_through(ratio, 1.0)
    assert phi1 == pytest.approx(3 * ratio, rel=1e-6) and r == pytest.approx(2 / (9 * ratio**2), rel=1e-6)
    x1, y1 = V.cycloid(r, phi1)
    assert float(x1) == pytest.approx(ratio, rel=1e-13) and float(y1) == pytest.approx(1.0, rel=1e-13)


@given(st.floats(-300.0, 300.0), st.floats(-1.0, 1.0))
def test_cycloid_is_accurate_near_the_cusp(log10_r, log10_phi_over_1e):
    phi = 10.0 ** (log10_phi_over_1e * 100 - 50) * 0.9  # 1e-150 .. 1e50-ish: tiny and large angles
    r = 10.0 ** (log10_r / 10)
    x1, y1 = (float(c) for c in V.cycloid(r, phi))
    with mpmath.workdps(400):
        p = mpmath.mpf(phi)
        x_ref, y_ref = r * (p - mpmath.sin(p)), r * (1 - mpmath.cos(p))
    for got, ref in ((x1, x_ref), (y1, y_ref)):
        if abs(ref) > 1e-290:
            assert got == pytest.approx(float(ref), rel=1e-13)


def test_cycloid_is_bit_for_bit_the_formula_away_from_the_cusp():
    # where 1 - cos phi and phi - sin phi do not cancel, the old expressions are kept exactly (chapter outputs)
    phi = jnp.linspace(1.1, 5.1, 501)
    x1, y1 = V.cycloid(0.7, phi)
    np.testing.assert_array_equal(x1, 0.7 * (phi - jnp.sin(phi)))
    np.testing.assert_array_equal(y1, 0.7 * (1 - jnp.cos(phi)))
    grad = jax.grad(lambda p: V.cycloid(1.0, p)[0] + V.cycloid(1.0, p)[1])
    assert all(math.isfinite(float(grad(p))) for p in (0.0, 1e-8, 0.5, 2.0))


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


@pytest.mark.parametrize(("args", "exc", "name"), [
    (((0, 0), (1, 0), 1.0), ValueError, "length"),
    (((0, 0), (1, 0), 0.5), ValueError, "length"),
    (((0, 0), (1, 0), np.inf), ValueError, "length"),
    (((0, 0), (1, 0), "3"), TypeError, "length"),
    (((1, 0), (0, 0), 3.0), ValueError, "p2"),
    (((0, 0), (0, 1), 3.0), ValueError, "p2"),
    ((None, (1, 0), 3.0), TypeError, "p1"),
    (((0, 0, 0), (1, 0), 3.0), ValueError, "p1"),
    (("ab", (1, 0), 3.0), TypeError, "p1"),
    (((0, np.nan), (1, 0), 3.0), ValueError, "p1"),
    (((0, 0), (True, False), 3.0), TypeError, "p2"),
    (((-1e308, 0), (1e308, 0), 1.7e308), ValueError, "p2"),
])
def test_catenary_through_validates(args, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        V.catenary_through(*args)


@pytest.mark.parametrize(("args", "exc", "name"), [
    ((0.0, -1.0, 0.0, 0.0), ValueError, "a"),
    ((0.0, 1.0, None, 0.0), TypeError, "b"),
    ((0.0, 1.0, 0.0, "a"), TypeError, "lam"),
    ((None, 1.0, 0.0, 0.0), TypeError, "x"),
    ((np.nan, 1.0, 0.0, 0.0), ValueError, "x"),
])
def test_catenary_validates(args, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        V.catenary(*args)


def test_catenary_is_finite_where_only_cosh_overflows():
    u = 720.0  # cosh(720) overflows, 1e-5 cosh(720) ~ 2.5e307 does not
    with mpmath.workdps(30):
        ref = float(mpmath.mpf(1e-5) * mpmath.cosh(mpmath.mpf(0.0072) / mpmath.mpf(1e-5)))
    assert float(V.catenary(0.0072, 1e-5, 0.0, 0.0)) == pytest.approx(ref, rel=1e-12)
    assert u == 720.0
    with pytest.raises(FloatingPointError, match="^catenary:"):
        V.catenary(800.0, 1e-300, 0.0, 0.0)


def catenary_reference(x1, y1, x2, y2, L, a_start):
    """(a, b, lam) at 60 digits from the defining equations (findroot started at the tested a)."""
    with mpmath.workdps(60):
        x1, y1, x2, y2, L = (mpmath.mpf(q) for q in (x1, y1, x2, y2, L))
        h, v = x2 - x1, y2 - y1
        a = log_root(lambda a: mpmath.log(2 * a * mpmath.sinh(h / (2 * a))) - mpmath.log(L**2 - v**2) / 2, a_start)
        b = (x1 + x2) / 2 - a * mpmath.atanh(v / L)
        return a, b, y1 - a * mpmath.cosh((x1 - b) / a)


@given(st.floats(-3, 3), st.floats(0.1, 5), st.floats(-3, 3), st.floats(-13.0, 2.0))
def test_catenary_through_keeps_its_digits_for_nearly_taut_chains(y1, h, y2, log10_slack):
    L = math.hypot(h, y2 - y1) * (1 + 10.0**log10_slack)
    a, b, lam = V.catenary_through((0.0, y1), (h, y2), L)
    a_ref, b_ref, lam_ref = catenary_reference(0.0, y1, h, y2, L, a)
    scale = abs(float(a_ref)) + abs(float(b_ref))  # lam = y1 - a cosh(...): b and lam inherit a's error
    assert a == pytest.approx(float(a_ref), rel=1e-12)
    assert b == pytest.approx(float(b_ref), abs=1e-12 * scale)
    assert lam == pytest.approx(float(lam_ref), abs=1e-12 * (scale + abs(float(lam_ref))))


def test_catenary_through_very_long_and_nearly_taut_chains():
    # a chain 1e300 times longer than the gap (the old solver overflowed) and one 1e-13 longer than taut
    a, b, lam = V.catenary_through((0.0, 0.0), (1e-300, 0.0), 1.0)
    a_ref, b_ref, lam_ref = catenary_reference(0.0, 0.0, 1e-300, 0.0, 1.0, a)
    assert a == pytest.approx(float(a_ref), rel=1e-12) and lam == pytest.approx(float(lam_ref), rel=1e-12)
    a, b, lam = V.catenary_through((0, 0), (1, 0), 1 + 1e-13)
    assert a == pytest.approx(float(catenary_reference(0, 0, 1, 0, 1 + 1e-13, a)[0]), rel=1e-12)


def test_chain_nodes_keeps_link_lengths():
    th = jnp.array([-0.5, 0.1, 0.7])
    p = V.chain_nodes(th, (1.0, 2.0), 0.5)
    assert p.shape == (4, 2)
    np.testing.assert_allclose(jnp.linalg.norm(jnp.diff(p, axis=0), axis=1), 0.5, rtol=1e-14)
    np.testing.assert_allclose(p[0], [1.0, 2.0])
    ends = jax.grad(lambda t: V.chain_nodes(t, (0.0, 0.0), 0.5)[-1, 0])(th)  # differentiable, traced angles
    np.testing.assert_allclose(ends, -0.5 * np.sin(th), rtol=1e-14)


@pytest.mark.parametrize(("args", "exc", "name"), [
    ((jnp.array([0.1]), (0, 0), -1.0), ValueError, "link"),
    ((jnp.array([0.1]), (0, 0), None), TypeError, "link"),
    ((jnp.array([0.1]), None, 1.0), TypeError, "start"),
    ((jnp.array([0.1]), (0, 0, 0), 1.0), ValueError, "start"),
    ((jnp.array([0.1]), (0, np.inf), 1.0), ValueError, "start"),
    ((np.zeros((2, 2)), (0, 0), 1.0), ValueError, "angles"),
    (([], (0, 0), 1.0), ValueError, "angles"),
    (([np.nan], (0, 0), 1.0), ValueError, "angles"),
    ((None, (0, 0), 1.0), TypeError, "angles"),
])
def test_chain_nodes_validates(args, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        V.chain_nodes(*args)
    with pytest.raises(FloatingPointError, match="^chain_nodes:"):
        V.chain_nodes([0.0, 0.0], (0.0, 0.0), 1e308)


# -- weighted Fermat point ----------------------------------------------------------------------------
def test_weighted_fermat_angles_equal_weights_and_sum():
    np.testing.assert_allclose(V.weighted_fermat_angles([1, 1, 1]), [2 * math.pi / 3] * 3, rtol=1e-14)
    ang = V.weighted_fermat_angles([3, 4, 5])
    assert ang.sum() == pytest.approx(2 * math.pi) and ang[2] == pytest.approx(math.pi / 2)
    with pytest.raises(ValueError, match="^weights: .* triangle inequality"):
        V.weighted_fermat_angles([1, 1, 2])
    for bad, exc in (([1, -1, 1], ValueError), ([1, 0, 1], ValueError), ([1, np.nan, 1], ValueError),
                     ([1, 1], ValueError), (None, TypeError), ("abc", TypeError), ([True] * 3, TypeError)):
        with pytest.raises(exc, match="^weights:"):
            V.weighted_fermat_angles(bad)


def fermat_angles_reference(k):
    with mpmath.workdps(60):
        k1, k2, k3 = (mpmath.mpf(float(q)) for q in k)
        return [mpmath.acos((ka**2 - kb**2 - kc**2) / (2 * kb * kc))
                for ka, kb, kc in ((k1, k2, k3), (k2, k3, k1), (k3, k1, k2))]


@given(st.floats(-300.0, 300.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(-14.0, -0.5))
def test_weighted_fermat_angles_any_scale_and_nearly_flat(log10_scale, s, t, log10_gap):
    # sides k1 <= k2 and k3 = k1 + k2 - gap: near the flat triangle the old arccos formula lost half its digits
    k1 = 0.2 + 0.8 * s
    k2 = k1 + (1 - k1) * t
    k3 = (k1 + k2) * (1 - 10.0**log10_gap)
    if not (k3 < k1 + k2 and k1 < k2 + k3 and k2 < k1 + k3):
        return
    scale = 10.0**log10_scale
    k = np.array([k1, k2, k3]) * scale
    ang = V.weighted_fermat_angles(k)
    ref = fermat_angles_reference(k)
    np.testing.assert_allclose(ang, [float(q) for q in ref], rtol=1e-12, atol=1e-15)
    assert ang.sum() == pytest.approx(2 * math.pi, rel=1e-15)


def test_weighted_fermat_angles_of_huge_and_tiny_equal_weights():
    for w in (1e-300, 1e200, 1.7e308):
        np.testing.assert_allclose(V.weighted_fermat_angles([w] * 3), [2 * math.pi / 3] * 3, rtol=1e-15)


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
    with pytest.raises(ValueError, match="^points: collinear"):
        V.fermat_vertex([[0, 0], [1, 1], [2, 2]], [1, 1, 1])
    with pytest.raises(ValueError, match="^points: collinear or coincident"):
        V.fermat_vertex([[0, 0], [1, 1], [1, 1]], [1, 1, 1])
    with pytest.raises(ValueError, match=r"^points: expected shape \(3, 2\)"):
        V.fermat_vertex([[0, 0], [1, 1]], [1, 1, 1])
    for bad, exc in ((None, TypeError), ("abc", TypeError), ([[0, 0], [1, 0], [0, np.nan]], ValueError)):
        with pytest.raises(exc, match="^points:"):
            V.fermat_vertex(bad, [1, 1, 1])
    for bad, exc in ((None, TypeError), ([True] * 3, TypeError), ([1, 0, 1], ValueError), ([1, 1], ValueError)):
        with pytest.raises(exc, match="^weights:"):
            V.fermat_vertex([[0, 0], [1, 0], [0, 1]], bad)


@given(st.floats(-300.0, 300.0), st.floats(0.5, 3.0))
def test_fermat_vertex_does_not_depend_on_the_scale(log10_scale, k1):
    tri, k = np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 3.0]]), [k1, 1.0, 1.0]
    expected = V.fermat_vertex(tri, k)
    assert V.fermat_vertex(tri * 10.0**log10_scale, np.array(k) * 10.0 ** (log10_scale / 2)) == expected


def test_polyline_times_gradient_is_finite_when_the_start_moves_with_the_parameters():
    σ = jnp.linspace(0, 1, 101)
    bx, by = V.cycloid(1.0, jnp.pi * σ)
    dT = jax.grad(lambda e: V.polyline_times(bx, by + e * σ**2 * (1 - σ))[-1])(0.0)
    assert jnp.isfinite(dT)
