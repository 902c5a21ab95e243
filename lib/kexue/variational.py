"""Functionals, the Euler--Lagrange equation and discretised minimisation (chapter 2, *variational extrema*).

Symbolic (sympy), for a functional :math:`J[y] = \\int_a^b F(x, y, y', y'', \\dots)\\,dx` written with an
applied function ``y = sympy.Function("y")(x)``:

* :func:`euler_lagrange` -- :math:`F_y - (F_{y'})' + (F_{y''})'' - \\dots`, whose vanishing is the
  Euler--Lagrange equation;
* :func:`beltrami` -- :math:`F - y' F_{y'}`, constant along extremals when :math:`F` has no explicit :math:`x`;
* :func:`substitute_function` and :func:`first_variation` -- put a concrete curve into :math:`F`, and
  :math:`\\frac{d}{d\\varepsilon} J[y_0 + \\varepsilon\\eta]\\big|_{\\varepsilon=0}`.

Numeric (JAX, y measured *downwards* wherever gravity enters):

* :func:`discretize_functional` -- the midpoint-rule functional :math:`J_h` on a uniform grid;
* :func:`polyline_times` -- descent time along a polyline, exact per segment, so the singular start
  (speed 0) costs no accuracy;
* :func:`curve_descent_time` -- descent time along a smooth parametric curve by quadrature after the
  substitution :math:`s = s_0 + u^2` that removes the :math:`(s - s_0)^{-1/2}` singularity;
* :func:`cycloid`, :func:`cycloid_through` -- the brachistochrone through the origin and a given point;
* :func:`catenary`, :func:`catenary_through`, :func:`chain_nodes` -- the hanging chain of given length;
* :func:`weighted_fermat_angles`, :func:`fermat_vertex` -- the weighted Fermat point's angles and the
  case where the minimiser is a vertex.

Arguments are validated eagerly (ValueError/TypeError naming the argument); inside ``jax.jit`` only shapes
can be checked, and values a traced call cannot reach come out as NaN/inf instead of raising.
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from scipy.integrate import quad
from scipy.optimize import brentq
from sympy.calculus.euler import euler_equations

__all__ = [
    "beltrami",
    "catenary",
    "catenary_through",
    "chain_nodes",
    "curve_descent_time",
    "cycloid",
    "cycloid_through",
    "discretize_functional",
    "euler_lagrange",
    "fermat_vertex",
    "first_variation",
    "polyline_times",
    "substitute_function",
    "weighted_fermat_angles",
]

Curve = Callable[[jax.Array], tuple[jax.Array, jax.Array]]
Integrand = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


# -- validation ---------------------------------------------------------------------------------------
def _applied_function(y: object, x: object) -> None:
    """``y`` must be an applied sympy function of the single symbol ``x``, e.g. ``Function("y")(x)``."""
    if not isinstance(x, sp.Symbol):
        raise TypeError(f"x must be a sympy Symbol, got {type(x).__name__}")
    if not (isinstance(y, sp.core.function.AppliedUndef) and y.args == (x,)):
        raise TypeError(f"y must be an applied function of x such as Function('y')(x), got {y!r}")


def _sympy_expr(F: object, name: str) -> sp.Expr:
    try:
        return sp.sympify(F)
    except (sp.SympifyError, TypeError) as exc:
        raise TypeError(f"{name} must be a sympy expression: {exc}") from None


def _finite_float(value: object, name: str, *, positive: bool = False) -> float:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got a bool")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None
    if not math.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"{name} must be finite{' and > 0' if positive else ''}, got {value!r}")
    return v


def _concrete(a: jax.Array) -> bool:
    """True for a concrete array (checks then run in NumPy, which also works while an outer jit traces)."""
    return not isinstance(a, jax.core.Tracer)


def _vector(a: object, name: str, *, min_len: int = 1) -> jax.Array:
    """``a`` as a 1-D floating JAX array of length >= ``min_len`` (finite when concrete)."""
    v = jnp.asarray(a)
    if v.ndim != 1 or v.shape[0] < min_len:
        raise ValueError(f"{name} must be a 1-D array of length >= {min_len}, got shape {v.shape}")
    if v.dtype == jnp.bool_ or not jnp.issubdtype(v.dtype, jnp.number) or jnp.iscomplexobj(v):
        raise TypeError(f"{name} must be real, got dtype {v.dtype}")
    if not jnp.issubdtype(v.dtype, jnp.floating):
        v = v.astype(jnp.result_type(float))
    if _concrete(v) and not np.all(np.isfinite(np.asarray(v))):
        raise ValueError(f"{name} has non-finite entries")
    return v


# -- symbolic -----------------------------------------------------------------------------------------
def euler_lagrange(F: sp.Expr, y: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """The Euler--Lagrange expression of :math:`J[y] = \\int F(x, y, y', \\dots, y^{(m)})\\,dx`.

    .. math::

        E[y] = \\sum_{k=0}^{m} (-1)^k \\frac{d^k}{dx^k} \\frac{\\partial F}{\\partial y^{(k)}}
             = F_y - \\frac{d}{dx} F_{y'} + \\frac{d^2}{dx^2} F_{y''} - \\dots

    A smooth (:math:`C^{2m}`) extremal with fixed end values (and fixed end derivatives up to order
    :math:`m-1`) satisfies :math:`E[y] = 0` -- a *necessary* condition only.  This wraps
    ``sympy.calculus.euler.euler_equations`` and returns the left-hand side (unsimplified).

    Args:
        F: the integrand, written with ``y`` and its derivatives ``y.diff(x)``, ``y.diff(x, 2)``, ...
        y: an applied function of ``x``, e.g. ``sympy.Function("y")(x)``.
        x: the independent variable.
    """
    _applied_function(y, x)
    F = _sympy_expr(F, "F")
    (equation,) = euler_equations(F, y, x)
    return equation.lhs - equation.rhs


def beltrami(F: sp.Expr, y: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Beltrami's first integral :math:`H = F - y' F_{y'}` of a first-order integrand.

    When :math:`F = F(y, y')` does not depend on :math:`x` explicitly,
    :math:`\\frac{dH}{dx} = y'\\,E[y]` (see :func:`euler_lagrange`), so :math:`H` is constant along every
    extremal (and, where :math:`y' \\ne 0`, a constant :math:`H` makes :math:`y` an extremal).

    Raises ValueError when ``F`` depends on ``x`` explicitly or on :math:`y''` or higher derivatives.
    """
    _applied_function(y, x)
    F = _sympy_expr(F, "F")
    yp = y.diff(x)
    higher = [d for d in F.atoms(sp.Derivative) if d.expr == y and d.derivative_count > 1]
    if higher:
        raise ValueError(f"F must contain only y and y', found {higher}")
    p, q = sp.Dummy("p"), sp.Dummy("q")
    if x in F.subs(yp, q).subs(y, p).free_symbols:
        raise ValueError("F depends on x explicitly: the Beltrami identity needs F = F(y, y')")
    return F - yp * sp.diff(F, yp)


def substitute_function(F: sp.Expr, y: sp.Expr, x: sp.Symbol, curve: sp.Expr) -> sp.Expr:
    """``F`` with ``y`` and all its derivatives replaced by ``curve`` (an expression in ``x``) and its derivatives."""
    _applied_function(y, x)
    F, curve = _sympy_expr(F, "F"), _sympy_expr(curve, "curve")
    derivs = sorted(
        (d for d in F.atoms(sp.Derivative) if d.expr == y), key=lambda d: d.derivative_count, reverse=True
    )
    for d in derivs:  # highest order first, so y' is not hit by the y -> curve substitution
        F = F.subs(d, sp.diff(curve, x, d.derivative_count))
    return F.subs(y, curve)


def first_variation(
    F: sp.Expr, y: sp.Expr, x: sp.Symbol, curve: sp.Expr, eta: sp.Expr, a: sp.Expr, b: sp.Expr
) -> sp.Expr:
    """The Gateaux derivative :math:`\\delta J = \\frac{d}{d\\varepsilon} \\int_a^b F[y_0 + \\varepsilon\\eta]\\,dx
    \\big|_{\\varepsilon=0}`.

    Computed as :math:`\\int_a^b \\partial_\\varepsilon F[y_0 + \\varepsilon\\eta]\\big|_0\\,dx` (differentiation
    under the integral sign, valid for the smooth integrands this is meant for) and integrated exactly by
    sympy, so ``curve`` (:math:`y_0`) and ``eta`` (:math:`\\eta`) should be elementary, e.g. polynomials.
    By integration by parts it equals :math:`\\int_a^b E[y_0]\\,\\eta\\,dx + [F_{y'}\\eta]_a^b` for a
    first-order :math:`F`.
    """
    eps = sp.Dummy("epsilon")
    varied = substitute_function(F, y, x, _sympy_expr(curve, "curve") + eps * _sympy_expr(eta, "eta"))
    integrand = sp.diff(varied, eps).subs(eps, 0)
    return sp.integrate(sp.expand(integrand), (x, a, b))


# -- discretised functionals --------------------------------------------------------------------------
def discretize_functional(
    F: Integrand, a: float, b: float, ya: float, yb: float, n: int
) -> tuple[jax.Array, Callable[[jax.Array], jax.Array]]:
    """The midpoint-rule functional on ``n`` equal cells of :math:`[a, b]` with fixed end values.

    With :math:`h = (b-a)/n`, nodes :math:`x_i = a + ih` and :math:`y_0 = y_a`, :math:`y_n = y_b`,

    .. math::

        J_h(y_1, \\dots, y_{n-1}) = h \\sum_{i=0}^{n-1}
            F\\Big(\\frac{x_i + x_{i+1}}{2},\\ \\frac{y_i + y_{i+1}}{2},\\ \\frac{y_{i+1} - y_i}{h}\\Big).

    For smooth :math:`F` and :math:`y`, :math:`J_h \\to J` as :math:`O(h^2)`, and
    :math:`\\frac{1}{h}\\partial J_h / \\partial y_i` tends to the Euler--Lagrange expression
    :math:`F_y - (F_{y'})'` at :math:`x_i` (a central difference, also :math:`O(h^2)`).

    Args:
        F: a JAX-traceable integrand ``F(x, y, yp)`` acting elementwise on arrays.
        a, b: the interval, ``a < b``.  ya, yb: the fixed end values.  n: number of cells, >= 2.

    Returns:
        ``(x, J)``: the ``n + 1`` nodes and the jitted function ``J(y_interior)`` of the ``n - 1`` interior
        values (differentiable with ``jax.grad``).
    """
    if not callable(F):
        raise TypeError(f"F must be a callable F(x, y, yp), got {type(F).__name__}")
    a, b = _finite_float(a, "a"), _finite_float(b, "b")
    ya, yb = _finite_float(ya, "ya"), _finite_float(yb, "yb")
    if not a < b:
        raise ValueError(f"need a < b, got a={a}, b={b}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    x = jnp.linspace(a, b, n + 1)
    h = (b - a) / n
    xm = (x[:-1] + x[1:]) / 2

    def J(y_interior: jax.Array) -> jax.Array:
        yi = jnp.asarray(y_interior)
        if yi.shape != (n - 1,):
            raise ValueError(f"y_interior must have shape ({n - 1},), got {yi.shape}")
        y = jnp.concatenate([jnp.array([ya], yi.dtype), yi, jnp.array([yb], yi.dtype)])
        return h * jnp.sum(F(xm, (y[:-1] + y[1:]) / 2, jnp.diff(y) / h))

    return x, jax.jit(J)


# -- descent times ------------------------------------------------------------------------------------
def polyline_times(x: jax.Array, y: jax.Array, *, g: float = 9.81) -> jax.Array:
    """Arrival times at the nodes of a polyline for a bead released at rest at its first node.

    ``y`` points **down**.  Energy conservation gives the speed :math:`v_i = \\sqrt{2g(y_i - y_0)}` at node
    :math:`i`; on a straight segment the acceleration is constant, so the speed is linear in time and the
    segment takes exactly

    .. math::

        \\Delta t_i = \\frac{2\\,\\Delta s_i}{v_i + v_{i+1}}, \\qquad
        \\Delta s_i = \\sqrt{\\Delta x_i^2 + \\Delta y_i^2}.

    No quadrature of :math:`ds/v` is involved, so the singular start (:math:`v_0 = 0`) costs no accuracy.
    The times are exact *for the polyline*; a smooth curve's time is their limit under refinement.

    Returns the cumulative times :math:`(0, t_1, \\dots, t_{N-1})`.  Raises ValueError for concrete
    input that the bead cannot traverse (a node above the start, or a segment at the release height);
    traced calls return NaN/inf there instead.
    """
    xv, yv = _vector(x, "x", min_len=2), _vector(y, "y", min_len=2)
    if xv.shape != yv.shape:
        raise ValueError(f"x and y must have the same shape, got {xv.shape} and {yv.shape}")
    g = _finite_float(g, "g", positive=True)
    if _concrete(yv):
        drop = np.asarray(yv) - np.asarray(yv)[0]
        if np.any(drop < 0):
            raise ValueError("y: a node lies above the release point (y[i] < y[0]); the bead cannot reach it")
        if np.any((drop[:-1] == 0) & (drop[1:] == 0)):
            raise ValueError("y: a segment lies at the release height, where the bead never moves")
    return _polyline_times(xv, yv, g)


@jax.jit
def _polyline_times(x: jax.Array, y: jax.Array, g: float) -> jax.Array:
    # v_0 = 0 exactly: keeps the gradient finite (sqrt has an infinite slope at 0, and y_0 - y_0 is constant)
    v = jnp.concatenate([jnp.zeros(1, y.dtype), jnp.sqrt(2 * g * (y[1:] - y[0]))])
    dt = 2 * jnp.hypot(jnp.diff(x), jnp.diff(y)) / (v[:-1] + v[1:])
    return jnp.concatenate([jnp.zeros(1, dt.dtype), jnp.cumsum(dt)])


def curve_descent_time(
    curve: Curve, s0: float, s1: float, *, g: float = 9.81, epsrel: float = 1e-11
) -> float:
    """Time to slide along a parametric curve from rest at parameter ``s0`` to ``s1`` (``y`` points down).

    .. math::

        T = \\int_{s_0}^{s_1} \\frac{|r'(s)|\\,ds}{\\sqrt{2g\\,(y(s) - y(s_0))}}
          = \\int_0^{\\sqrt{s_1 - s_0}} \\frac{2u\\,|r'(s_0 + u^2)|\\,du}{\\sqrt{2g\\,(y(s_0+u^2) - y(s_0))}}.

    The integrand on the left blows up like :math:`(s - s_0)^{-1/2}` where the curve leaves the start with
    :math:`y'(s_0) \\ne 0`; after :math:`s = s_0 + u^2` it is bounded (also at a cusp, where
    :math:`y - y(s_0) \\sim (s-s_0)^2`), and adaptive Gauss--Kronrod (``scipy.integrate.quad``)
    converges fast.  Requires :math:`y(s) > y(s_0)` on :math:`(s_0, s_1]`.

    Args:
        curve: JAX-traceable ``s -> (x(s), y(s))`` for a scalar ``s``; :math:`r'` comes from ``jax.jvp``.
        s0, s1: start (at rest) and end parameters, ``s0 < s1``.
        g: gravity (> 0).  epsrel: relative tolerance passed to ``quad``.

    Raises ValueError when the curve rises above its start (the integrand is not real) and RuntimeError
    when ``quad`` reports that it did not reach the tolerance.
    """
    if not callable(curve):
        raise TypeError(f"curve must be a callable s -> (x, y), got {type(curve).__name__}")
    s0, s1 = _finite_float(s0, "s0"), _finite_float(s1, "s1")
    if not s0 < s1:
        raise ValueError(f"need s0 < s1, got s0={s0}, s1={s1}")
    g = _finite_float(g, "g", positive=True)
    dtype = jnp.result_type(float)
    y_start = curve(jnp.asarray(s0, dtype))[1]

    @jax.jit
    def integrand(u: jax.Array) -> jax.Array:
        s = s0 + u * u
        (_, yv), (dx, dy) = jax.jvp(curve, (s,), (jnp.ones_like(s),))
        return 2 * u * jnp.hypot(dx, dy) / jnp.sqrt(2 * g * (yv - y_start))

    def f(u: float) -> float:
        val = float(integrand(jnp.asarray(u, dtype)))
        if not math.isfinite(val):
            raise ValueError(f"curve: the bead cannot reach s = {s0 + u * u:.6g} (y there is not below the start)")
        return val

    value, err, *rest = quad(f, 0.0, math.sqrt(s1 - s0), epsabs=0.0, epsrel=epsrel, limit=200, full_output=1)
    if len(rest) > 1:  # quad appends a warning message when it did not converge
        raise RuntimeError(f"quad did not converge: estimated error {err:.2e} for T = {value:.12g}")
    return value


# -- the cycloid --------------------------------------------------------------------------------------
def cycloid(r: float, phi: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The cycloid :math:`x = r(\\varphi - \\sin\\varphi)`, :math:`y = r(1 - \\cos\\varphi)` (``y`` down).

    The path of a point on a circle of radius :math:`r` rolling under the line :math:`y = 0`; one arch is
    :math:`0 \\le \\varphi \\le 2\\pi`.  It solves the brachistochrone equation :math:`y(1 + y'^2) = 2r`.
    """
    r = _finite_float(r, "r", positive=True)
    phi = jnp.asarray(phi)
    return r * (phi - jnp.sin(phi)), r * (1 - jnp.cos(phi))


def cycloid_through(X: float, Y: float) -> tuple[float, float]:
    """The cycloid from the origin through :math:`(X, Y)`, ``X > 0``, ``Y > 0`` (``y`` down).

    Returns :math:`(r, \\varphi_1)` with :math:`r(\\varphi_1 - \\sin\\varphi_1) = X` and
    :math:`r(1 - \\cos\\varphi_1) = Y`, :math:`0 < \\varphi_1 < 2\\pi`.  The ratio
    :math:`(\\varphi - \\sin\\varphi)/(1 - \\cos\\varphi)` increases from 0 to :math:`\\infty` on
    :math:`(0, 2\\pi)`, so the root is unique (found by Brent's method).  When :math:`X/Y > \\pi/2`,
    :math:`\\varphi_1 > \\pi`: the curve dips below :math:`Y` and climbs back up to the end point.
    """
    X, Y = _finite_float(X, "X", positive=True), _finite_float(Y, "Y", positive=True)
    ratio = X / Y

    def f(phi: float) -> float:  # (phi - sin phi)/(1 - cos phi) - X/Y, without cancellation near 0
        odd = phi**3 / 6 * (1 - phi**2 / 20 * (1 - phi**2 / 42)) if phi < 1e-2 else phi - math.sin(phi)
        return odd / (2 * math.sin(phi / 2) ** 2) - ratio

    phi1 = brentq(f, min(1.0, ratio), 2 * math.pi - 1e-9, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return Y / (1 - math.cos(phi1)), phi1


# -- the hanging chain --------------------------------------------------------------------------------
def catenary(x: jax.Array, a: float, b: float, lam: float) -> jax.Array:
    """The catenary :math:`y = \\lambda + a\\cosh((x - b)/a)` (``y`` up, ``a > 0``)."""
    a = _finite_float(a, "a", positive=True)
    return lam + a * jnp.cosh((jnp.asarray(x) - b) / a)


def catenary_through(p1: tuple[float, float], p2: tuple[float, float], length: float) -> tuple[float, float, float]:
    """The catenary :math:`y = \\lambda + a\\cosh((x-b)/a)` of a given length hung from ``p1`` and ``p2``.

    Three constants for three conditions (two end points, one length): with :math:`h = x_2 - x_1 > 0`,
    :math:`v = y_2 - y_1` and length :math:`L > \\sqrt{h^2 + v^2}`,

    .. math::

        \\sqrt{L^2 - v^2} = 2a \\sinh\\frac{h}{2a}, \\qquad
        b = \\frac{x_1 + x_2}{2} - a \\operatorname{artanh}\\frac{v}{L}, \\qquad
        \\lambda = y_1 - a\\cosh\\frac{x_1 - b}{a}.

    The first equation has exactly one root :math:`a > 0` (solved for :math:`z = h/2a` by Brent's method,
    :math:`\\sinh z / z = \\sqrt{L^2 - v^2}/h > 1`).  Returns ``(a, b, lam)``.
    """
    x1, y1 = (_finite_float(c, "p1") for c in p1)
    x2, y2 = (_finite_float(c, "p2") for c in p2)
    L = _finite_float(length, "length", positive=True)
    h, v = x2 - x1, y2 - y1
    if h <= 0:
        raise ValueError(f"p2 must lie to the right of p1, got x1={x1}, x2={x2}")
    if L <= math.hypot(h, v):
        raise ValueError(f"length {L} must exceed the distance {math.hypot(h, v)} between the end points")
    ratio = math.sqrt(L * L - v * v) / h
    z_hi = 1.0
    while math.sinh(z_hi) / z_hi < ratio:
        z_hi *= 2
    z = brentq(lambda z: math.sinh(z) / z - ratio, 1e-12, z_hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    a = h / (2 * z)
    b = (x1 + x2) / 2 - a * math.atanh(v / L)
    return a, b, y1 - a * math.cosh((x1 - b) / a)


def chain_nodes(angles: jax.Array, start: tuple[float, float], link: float) -> jax.Array:
    """Joint positions of a chain of rigid links: link :math:`i` has length ``link`` and direction ``angles[i]``.

    .. math:: p_0 = \\text{start}, \\qquad p_{i+1} = p_i + \\ell\\,(\\cos\\theta_i, \\sin\\theta_i).

    Parametrising by angles keeps every link's length fixed, so only the far end point remains a
    constraint.  Returns an array of shape ``(len(angles) + 1, 2)``.
    """
    th = _vector(angles, "angles")
    link = _finite_float(link, "link", positive=True)
    p0 = jnp.asarray([_finite_float(c, "start") for c in start], th.dtype)
    steps = link * jnp.stack([jnp.cos(th), jnp.sin(th)], axis=1)
    return jnp.concatenate([p0[None], p0 + jnp.cumsum(steps, axis=0)])


# -- the weighted Fermat point ------------------------------------------------------------------------
def _weights(k: object) -> np.ndarray:
    w = np.asarray(k, dtype=float)
    if w.shape != (3,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"weights must be three finite positive numbers, got {k!r}")
    return w


def weighted_fermat_angles(weights: object) -> np.ndarray:
    """The angles :math:`(\\angle BPC, \\angle CPA, \\angle APB)` at an interior weighted Fermat point.

    Force balance :math:`k_1\\hat u_A + k_2\\hat u_B + k_3\\hat u_C = 0` (unit vectors from :math:`P` to the
    vertices) closes the three forces into a triangle with sides :math:`k_1, k_2, k_3`; e.g.
    :math:`k_3^2 = k_1^2 + k_2^2 + 2k_1k_2\\cos\\angle APB`, and cyclically.  Equal weights give
    :math:`120^\\circ` each.  Raises ValueError unless the weights satisfy the strict triangle
    inequalities (otherwise no interior point balances, see :func:`fermat_vertex`).
    """
    k1, k2, k3 = _weights(weights)
    if not (k1 < k2 + k3 and k2 < k3 + k1 and k3 < k1 + k2):
        raise ValueError(f"weights {k1, k2, k3} violate the triangle inequality: no interior balance point")

    def angle(ka: float, kb: float, kc: float) -> float:  # angle between the forces of weights ka and kb
        return math.acos(max(-1.0, min(1.0, (kc * kc - ka * ka - kb * kb) / (2 * ka * kb))))

    return np.array([angle(k2, k3, k1), angle(k3, k1, k2), angle(k1, k2, k3)])


def fermat_vertex(points: object, weights: object) -> int | None:
    """The vertex that minimises :math:`\\sum_j k_j |P - A_j|`, or ``None`` when the minimiser is interior.

    Vertex :math:`A_i` is optimal iff the pull of the other two weights does not beat its own,
    :math:`\\big|\\sum_{j \\ne i} k_j \\hat u_{ij}\\big| \\le k_i` with :math:`\\hat u_{ij}` the unit vector from
    :math:`A_i` to :math:`A_j` (zero lies in the subdifferential there).  The objective is convex, so this
    is a complete test; at most one vertex passes it for a non-degenerate triangle.

    Args:
        points: the vertices, shape ``(3, 2)``, not collinear.  weights: three positive numbers.
    """
    A = np.asarray(points, dtype=float)
    if A.shape != (3, 2) or not np.all(np.isfinite(A)):
        raise ValueError(f"points must be a finite array of shape (3, 2), got shape {A.shape}")
    area2 = (A[1, 0] - A[0, 0]) * (A[2, 1] - A[0, 1]) - (A[2, 0] - A[0, 0]) * (A[1, 1] - A[0, 1])
    if abs(area2) <= 1e-12 * float(np.max(np.abs(A)) + 1) ** 2:
        raise ValueError("points are collinear: not a triangle")
    k = _weights(weights)
    for i in range(3):
        pull = sum(k[j] * (A[j] - A[i]) / np.linalg.norm(A[j] - A[i]) for j in range(3) if j != i)
        if np.linalg.norm(pull) <= k[i]:
            return i
    return None
