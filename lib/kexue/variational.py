"""Functionals, the Euler--Lagrange equation and discretised minimisation (chapter 2, *variational extrema*).

Symbolic (sympy), for a functional :math:`J[y] = \\int_a^b F(x, y, y', y'', \\dots)\\,dx` written with an
applied function ``y = sympy.Function("y")(x)``:

* :func:`euler_lagrange` -- :math:`F_y - (F_{y'})' + (F_{y''})'' - \\dots`, whose vanishing is the
  Euler--Lagrange equation;
* :func:`beltrami` -- :math:`F - y' F_{y'}`, constant along extremals when :math:`F` has no explicit :math:`x`;
* :func:`substitute_function` and :func:`first_variation` -- put a concrete curve into :math:`F`, and
  :math:`\\frac{d}{d\\varepsilon} J[y_0 + \\varepsilon\\eta]\\big|_{\\varepsilon=0}`;
* :func:`jacobi_coefficients` and :func:`conjugate_point` -- the second variation
  :math:`\\int (P h'^2 + Q h^2)\\,dx` and the first zero of Jacobi's equation (sufficiency).

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

Arguments are validated eagerly with :mod:`kexue.checks`: wrong types raise ``TypeError``, wrong values
(shape, sign, NaN/inf, emptiness, an impossible configuration) ``ValueError``, each message starting with the
argument's name; a result that itself leaves the float range raises ``FloatingPointError``.  Inside
``jax.jit`` only shapes and dtypes can be checked, and values a traced call cannot reach come out as NaN/inf
instead of raising.  Where valid input used to lose digits (the cycloid near its cusp, ``cycloid_through``
for small or large ``X/Y``, a nearly taut or very long catenary, nearly flat weight triangles, huge or tiny
weights, gravity or depths), the computation is arranged so that it does not.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq
from sympy.calculus.euler import euler_equations

from kexue import checks

__all__ = [
    "beltrami",
    "catenary",
    "catenary_through",
    "chain_nodes",
    "conjugate_point",
    "curve_descent_time",
    "cycloid",
    "cycloid_through",
    "discretize_functional",
    "euler_lagrange",
    "fermat_vertex",
    "first_variation",
    "jacobi_coefficients",
    "polyline_times",
    "substitute_function",
    "weighted_fermat_angles",
]

Curve = Callable[[jax.Array], tuple[jax.Array, jax.Array]]
Integrand = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


# -- validation ---------------------------------------------------------------------------------------
MAX_CELLS = 10**7
"""The most cells :func:`discretize_functional` accepts."""


def _applied_function(y: object, x: object) -> None:
    """``y`` must be an applied sympy function of the single symbol ``x``, e.g. ``Function("y")(x)``."""
    if not isinstance(x, sp.Symbol):
        raise TypeError(f"x: expected a sympy Symbol, got {type(x).__name__}")
    if not (isinstance(y, sp.core.function.AppliedUndef) and y.args == (x,)):
        raise TypeError(f"y: expected an applied function of x such as Function('y')(x), got {y!r}")


def _sympy_expr(F: object, name: str) -> sp.Expr:
    """A sympy expression (numbers are converted; strings, None, equations and containers are refused)."""
    try:
        expr = sp.sympify(F, strict=True)
    except (sp.SympifyError, TypeError):
        raise TypeError(f"{name}: expected a sympy expression, got {type(F).__name__} {F!r}") from None
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"{name}: expected a sympy expression, got {type(expr).__name__} {expr}")
    return expr


def _as_float(v: jax.Array) -> jax.Array:
    """A checked array with integers turned into the default float (tracers and floats as they are)."""
    return v if checks.is_traced(v) or v.dtype.kind == "f" else jnp.asarray(v, jnp.result_type(float))


def _real_vector(a: object, name: str, *, min_len: int = 1) -> jax.Array:
    """``a`` as a 1-D float array of length >= ``min_len``, finite when concrete (a tracer is returned as is)."""
    return _as_float(checks.array(a, name, ndim=1, kinds="iuf", min_size=min_len))


def _no_overflow(result: jax.Array, what: str) -> jax.Array:
    """``result``, or FloatingPointError when a concrete result is not finite (the true value overflows)."""
    if not checks.is_traced(result) and not np.all(np.isfinite(np.asarray(result))):
        raise FloatingPointError(f"{what}: the result (or an intermediate such as a length) overflows the float range "
                                 "for these arguments")
    return result


def _speed(g: float | jax.Array, root_2g: float | jax.Array, drop: jax.Array) -> jax.Array:
    """``sqrt(2 g drop)``, as ``sqrt(2 g) sqrt(drop)`` where the product leaves the normal floats (huge or
    tiny ``g``/``drop``); ``root_2g`` is computed on the host, where subnormal ``g`` is not flushed to 0."""
    product = 2 * g * drop
    direct = jnp.sqrt(product)
    rescaled = root_2g * jnp.sqrt(drop)
    bad = ~jnp.isfinite(product) | ((product < jnp.finfo(product.dtype).tiny) & (drop > 0))
    return jnp.where(bad, rescaled, direct)


def _a_cosh(a: float, u: jax.Array) -> jax.Array:
    """``a cosh(u)``, finite where ``cosh(u)`` alone overflows but the product does not (``|u| > 700``)."""
    big = jnp.abs(u) > 700
    return jnp.where(big, jnp.exp(math.log(a / 2) + jnp.abs(u)), a * jnp.cosh(jnp.where(big, 0.0, u)))


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
    equations = euler_equations(F, y, x)
    if not equations:  # F does not involve y or its derivatives: every curve is an extremal
        return sp.Integer(0)
    (equation,) = equations
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
        raise ValueError(f"F: must contain only y and y', found {higher}")
    p, q = sp.Dummy("p"), sp.Dummy("q")
    if x in F.subs(yp, q).subs(y, p).free_symbols:
        raise ValueError("F: depends on x explicitly, the Beltrami identity needs F = F(y, y')")
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
    a, b = _sympy_expr(a, "a"), _sympy_expr(b, "b")
    varied = substitute_function(F, y, x, _sympy_expr(curve, "curve") + eps * _sympy_expr(eta, "eta"))
    integrand = sp.diff(varied, eps).subs(eps, 0)
    return sp.integrate(sp.expand(integrand), (x, a, b))


def jacobi_coefficients(F: sp.Expr, y: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """The coefficients :math:`(P, Q)` of the second variation of a first-order functional.

    For :math:`J[y] = \\int_a^b F(x, y, y')\\,dx` and :math:`h(a) = h(b) = 0`,

    .. math::

        \\frac{d^2}{d\\varepsilon^2} J[y + \\varepsilon h]\\Big|_{\\varepsilon=0}
            = \\int_a^b \\big(P\\,h'^2 + Q\\,h^2\\big)\\,dx, \\qquad
        P = F_{y'y'}, \\quad Q = F_{yy} - \\frac{d}{dx} F_{yy'}

    (the cross term :math:`2F_{yy'}hh' = F_{yy'}(h^2)'` is integrated by parts).  Its Euler--Lagrange
    equation is Jacobi's (accessory) equation :math:`(P h')' - Q h = 0`; see :func:`conjugate_point`.
    :math:`P` and :math:`Q` are returned written with ``y`` and its derivatives (``Q`` may contain
    :math:`y''`), ready for :func:`substitute_function`.

    Raises TypeError for a ``y``/``x`` that is not an applied function and its symbol, or an ``F`` that is
    not an expression; ValueError when ``F`` contains :math:`y''` or higher derivatives.
    """
    _applied_function(y, x)
    F = _sympy_expr(F, "F")
    higher = [d for d in F.atoms(sp.Derivative) if d.expr == y and d.derivative_count > 1]
    if higher:
        raise ValueError(f"F: must contain only x, y and y', found {higher}")
    yp = y.diff(x)
    P = sp.diff(F, yp, 2)
    Q = sp.diff(F, y, 2) - sp.diff(sp.diff(F, y, yp), x)
    return P, Q


def conjugate_point(
    F: sp.Expr, y: sp.Expr, x: sp.Symbol, curve: sp.Expr, a: float, b: float, *, rtol: float = 1e-10
) -> float | None:
    """The first point conjugate to ``a`` along the extremal ``curve`` in :math:`(a, b]`, or ``None``.

    With :math:`P, Q` from :func:`jacobi_coefficients` evaluated on :math:`y = y_0(x)` (``curve``), solve
    Jacobi's equation

    .. math::

        \\frac{d}{dx}\\big(P\\,h'\\big) - Q\\,h = 0, \\qquad h(a) = 0, \\quad h'(a) = 1,

    as the first-order system :math:`h' = w/P`, :math:`w' = Q h` (:math:`w = P h'`, so no derivative of
    :math:`P` is needed) with SciPy's ``solve_ivp`` (DOP853) and return the first zero :math:`x^* > a` of
    :math:`h` (located by the solver's event search on its dense output).  Jacobi's theorem: if
    :math:`P > 0` on :math:`[a, b]` and there is no conjugate point in :math:`(a, b]`, the extremal is a
    (weak) local minimum with fixed ends; if a conjugate point lies inside :math:`(a, b)`, it is not a
    minimum -- some nearby curve with the same ends has a smaller :math:`J`.  (With :math:`P < 0`, read
    maximum.)  The test is meaningful only when ``curve`` is an extremal (:math:`E[y_0] = 0`).

    Args:
        F: a first-order integrand :math:`F(x, y, y')` written with ``y`` and ``y.diff(x)``.
        y, x: the applied function and its variable, as in :func:`euler_lagrange`.
        curve: the extremal :math:`y_0`, an expression in ``x`` alone.
        a, b: the interval, ``a < b``, finite.  rtol: the solver's relative tolerance, in ``(0, 1e-3]``.

    Raises:
        TypeError: as :func:`jacobi_coefficients`; non-real ``a``, ``b``, ``rtol``.
        ValueError: ``a >= b``; ``rtol`` out of range; ``curve`` or ``F`` with symbols other than ``x``
            once the curve is substituted; :math:`P` or :math:`Q` not finite and real on ``[a, b]``, or
            :math:`P` vanishing or changing sign there (checked on 1001 points; the strengthened Legendre
            condition, without which Jacobi's test does not apply).
        RuntimeError: the ODE solver fails (e.g. the coefficients blow up between the checked points).
    """
    P, Q = jacobi_coefficients(F, y, x)
    curve = _sympy_expr(curve, "curve")
    if curve.free_symbols - {x}:
        extra = sorted(map(str, curve.free_symbols - {x}))
        raise ValueError(f"curve: must be an expression in {x} alone, found symbols {extra}")
    a, b = checks.real(a, "a"), checks.real(b, "b")
    if not a < b:
        raise ValueError(f"b: must exceed a, got a={a}, b={b}")
    rtol = checks.real(rtol, "rtol", positive=True, hi=1e-3)
    Ps, Qs = (substitute_function(c, y, x, curve) for c in (P, Q))
    extra = (Ps.free_symbols | Qs.free_symbols) - {x}
    if extra:
        raise ValueError(f"F: has symbols other than {x} once the curve is substituted: {sorted(map(str, extra))}")
    P_num, Q_num = (sp.lambdify(x, c, modules="numpy") for c in (Ps, Qs))

    def evaluate(f: Callable[[np.ndarray], np.ndarray], xs: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(np.broadcast_to(f(xs), xs.shape))

    grid = np.linspace(a, b, 1001)
    Pg, Qg = evaluate(P_num, grid), evaluate(Q_num, grid)
    for name, values in (("F_y'y'", Pg), ("F_yy - (F_yy')'", Qg)):
        if values.dtype.kind == "c" or not np.all(np.isfinite(values)):
            raise ValueError(f"curve: {name} is not finite and real along the curve on [{a}, {b}]")
    if not (np.all(Pg > 0) or np.all(Pg < 0)):
        raise ValueError(f"curve: F_y'y' must keep one sign on [{a}, {b}] (strengthened Legendre condition); "
                         f"it ranges over [{Pg.min():.3g}, {Pg.max():.3g}]")

    def rhs(t: float, state: np.ndarray) -> list[float]:
        h, w = state
        return [w / float(P_num(t)), float(Q_num(t)) * h]

    def zero(t: float, state: np.ndarray) -> float:
        return state[0]

    # h starts upwards (h'(a) = 1), so its first zero is a descent
    zero.terminal, zero.direction = True, -1  # type: ignore[attr-defined]
    scale = float(np.max(np.abs(Pg)))
    sol = solve_ivp(rhs, (a, b), [0.0, float(P_num(a))], method="DOP853", events=zero, rtol=rtol,
                    atol=rtol * 1e-3 * np.array([b - a, scale]))
    if sol.status == -1:
        raise RuntimeError(f"solve_ivp failed on Jacobi's equation: {sol.message}")
    hits = sol.t_events[0]
    return float(hits[0]) if len(hits) else None


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
        F: a JAX-traceable integrand ``F(x, y, yp)`` acting elementwise on arrays (a constant or any output
            that broadcasts to one value per cell is accepted).
        a, b: the interval, ``a < b``.  ya, yb: the fixed end values.  n: number of cells, ``2 .. MAX_CELLS``.

    Returns:
        ``(x, J)``: the ``n + 1`` nodes and the function ``J(y_interior)`` of the ``n - 1`` interior values
        (jitted inside; differentiable with ``jax.grad``, usable under ``jax.jit``).  ``J`` returns what ``F``
        gives: NaN/inf where the integrand is undefined (e.g. ``1/sqrt(y)`` at ``y <= 0``).

    Raises:
        TypeError: ``F`` not callable; non-real ``a, b, ya, yb``; ``n`` not an int; when ``J`` is called,
            ``y_interior`` not a real array or ``F`` returning complex values.
        ValueError: non-finite numbers, ``a >= b``, ``b - a`` overflowing or cells below float resolution, ``n``
            out of range; when ``J`` is called, ``y_interior`` of the wrong shape or (concrete) not finite, or ``F``
            returning an output that does not broadcast to one value per cell.
    """
    checks.callable_(F, "F")
    a, b = checks.real(a, "a"), checks.real(b, "b")
    ya, yb = checks.real(ya, "ya"), checks.real(yb, "yb")
    if not a < b:
        raise ValueError(f"b: must exceed a, got a={a}, b={b}")
    if not math.isfinite(b - a):
        raise ValueError(f"b: the interval [{a}, {b}] is wider than the largest float")
    n = checks.count(n, "n", minimum=2, maximum=MAX_CELLS)
    x = jnp.linspace(a, b, n + 1)
    h = (b - a) / n
    if not (h > 0 and bool(jnp.all(jnp.diff(x) > 0))):
        raise ValueError(f"b: {n} cells of [{a}, {b}] are narrower than the float resolution")
    xm = (x[:-1] + x[1:]) / 2

    @jax.jit
    def J_cells(yi: jax.Array) -> jax.Array:
        y = jnp.concatenate([jnp.array([ya], yi.dtype), yi, jnp.array([yb], yi.dtype)])
        values = F(xm, (y[:-1] + y[1:]) / 2, jnp.diff(y) / h)
        if not hasattr(values, "dtype"):
            values = jnp.asarray(values)
        if values.dtype.kind not in "iuf":
            raise TypeError(f"F: must return real values, got dtype {values.dtype}")
        try:
            values = jnp.broadcast_to(values, (n,))
        except ValueError:
            raise ValueError(f"F: must return one value per cell, shape ({n},), got shape {values.shape}") from None
        return h * jnp.sum(values)

    def J(y_interior: jax.Array) -> jax.Array:
        return J_cells(_as_float(checks.array(y_interior, "y_interior", shape=(n - 1,), kinds="iuf")))

    return x, J


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
    The times are exact *for the polyline*; a smooth curve's time is their limit under refinement.  Extreme
    ``g`` or depths are rescaled so that no intermediate overflows (for a traced ``y`` only an extreme ``g``
    is recognised).

    Returns the cumulative times :math:`(0, t_1, \\dots, t_{N-1})`.  Raises TypeError for non-real ``x``,
    ``y``, ``g``; ValueError for arrays that are not 1-D of equal length >= 2, for NaN/inf, ``g <= 0``,
    and for concrete input that the bead cannot traverse (a node above the start, or a segment at the
    release height) -- traced calls return NaN/inf there instead; FloatingPointError when a time itself
    exceeds the float range.
    """
    xv, yv = _real_vector(x, "x", min_len=2), _real_vector(y, "y", min_len=2)
    if xv.shape != yv.shape:
        raise ValueError(f"y: must have the shape of x {tuple(xv.shape)}, got {tuple(yv.shape)}")
    g = checks.real(g, "g", positive=True)
    guarded = not 1e-30 < g < 1e30  # traced y: only the size of g is known
    if not checks.is_traced(yv):
        drop = np.asarray(yv, np.float64) - float(yv[0])
        if np.any(drop < 0):
            raise ValueError("y: a node lies above the release point (y[i] < y[0]); the bead cannot reach it")
        if np.any((drop[:-1] == 0) & (drop[1:] == 0)):
            raise ValueError("y: a segment lies at the release height, where the bead never moves")
        with np.errstate(over="ignore", under="ignore"):
            product, info = 2 * g * drop[drop > 0], np.finfo(yv.dtype)
        guarded = not (info.tiny <= g and info.tiny <= product.min() and product.max() <= info.max)
    return _no_overflow(_polyline_times(xv, yv, g, _root_2g(g), guarded), "polyline_times")


def _root_2g(g: float) -> float:
    return math.sqrt(2.0) * math.sqrt(g)


@partial(jax.jit, static_argnames="guarded")
def _polyline_times(x: jax.Array, y: jax.Array, g: float, root_2g: float, guarded: bool) -> jax.Array:
    # v_0 = 0 exactly: keeps the gradient finite (sqrt has an infinite slope at 0, and y_0 - y_0 is constant);
    # the guard against over/underflow only where needed: XLA compiles the guarded gradient differently
    drop = y[1:] - y[0]
    v = jnp.concatenate([jnp.zeros(1, y.dtype), _speed(g, root_2g, drop) if guarded else jnp.sqrt(2 * g * drop)])
    dt = jnp.hypot(jnp.diff(x), jnp.diff(y)) / (v[:-1] / 2 + v[1:] / 2)  # = 2 ds / (v_i + v_i+1), no overflow
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
        curve: JAX-traceable ``s -> (x(s), y(s))`` for a scalar ``s`` (a pair of real scalars);
            :math:`r'` comes from ``jax.jvp``.
        s0, s1: start (at rest) and end parameters, ``s0 < s1``.
        g: gravity (> 0).  epsrel: relative tolerance passed to ``quad``, in ``[50 eps, 1]``.

    Raises TypeError for a ``curve`` that is not callable or does not return a pair of real scalars and for
    non-real numbers; ValueError for NaN/inf, ``s0 >= s1`` (or ``s1 - s0`` overflowing), ``g <= 0``,
    ``epsrel`` out of range, a non-finite ``y(s0)`` and a curve that rises above its start (the integrand
    is not real); RuntimeError when ``quad`` reports that it did not reach the tolerance.
    """
    checks.callable_(curve, "curve")
    s0, s1 = checks.real(s0, "s0"), checks.real(s1, "s1")
    if not s0 < s1:
        raise ValueError(f"s1: must exceed s0, got s0={s0}, s1={s1}")
    if not math.isfinite(s1 - s0):
        raise ValueError(f"s1: s1 - s0 = {s1} - {s0} overflows")
    g = checks.real(g, "g", positive=True)
    epsrel = checks.real(epsrel, "epsrel", lo=50 * float(np.finfo(float).eps), hi=1.0)
    dtype = jnp.result_type(float)
    shape = jax.eval_shape(curve, jax.ShapeDtypeStruct((), dtype))
    if not (isinstance(shape, (tuple, list)) and len(shape) == 2
            and all(isinstance(c, jax.ShapeDtypeStruct) and c.shape == () and c.dtype.kind in "iuf" for c in shape)):
        raise TypeError(f"curve: must return a pair (x(s), y(s)) of real scalars for a scalar s, got {shape}")
    y_start = curve(jnp.asarray(s0, dtype))[1]
    if not math.isfinite(float(y_start)):
        raise ValueError(f"curve: y(s0) = {float(y_start)} is not finite")
    root_2g = _root_2g(g)

    @jax.jit
    def integrand(u: jax.Array) -> jax.Array:
        s = s0 + u * u
        (_, yv), (dx, dy) = jax.jvp(curve, (s,), (jnp.ones_like(s),))
        return 2 * u * jnp.hypot(dx, dy) / _speed(g, root_2g, yv - y_start)

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
_ODD_SERIES = tuple((-1) ** k * 6 / math.factorial(2 * k + 3) for k in range(10))
"""(phi - sin phi) / (phi^3/6) = sum_k c_k phi^(2k), k = 0..9: below 1 ulp for |phi| <= 1."""


def _odd_ratio(phi2: jax.Array | float) -> jax.Array | float:
    """``(phi - sin phi) / (phi^3 / 6)`` from ``phi^2 <= 1`` by its Taylor series (Horner)."""
    acc = _ODD_SERIES[-1]
    for c in reversed(_ODD_SERIES[:-1]):
        acc = c + phi2 * acc
    return acc


def cycloid(r: float, phi: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The cycloid :math:`x = r(\\varphi - \\sin\\varphi)`, :math:`y = r(1 - \\cos\\varphi)` (``y`` down).

    The path of a point on a circle of radius :math:`r` rolling under the line :math:`y = 0`; one arch is
    :math:`0 \\le \\varphi \\le 2\\pi`.  It solves the brachistochrone equation :math:`y(1 + y'^2) = 2r`.
    Both coordinates are free of cancellation: :math:`\\varphi - \\sin\\varphi` by its Taylor series for
    :math:`|\\varphi| < 1`, and :math:`1 - \\cos\\varphi = 2\\sin^2(\\varphi/2)` where :math:`\\cos\\varphi > 1/2`.

    Raises TypeError/ValueError for an ``r`` that is not a finite number > 0 or a ``phi`` that is not a
    real array (concrete ``phi``: also NaN/inf), FloatingPointError when a coordinate overflows.
    """
    r = checks.real(r, "r", positive=True)
    phi = jnp.asarray(_as_float(checks.array(phi, "phi", kinds="iuf")))
    small = jnp.abs(phi) < 1
    ps = jnp.where(small, phi, 0.0)  # keeps the unused series finite (and its gradient) for large phi
    x = jnp.where(small, r * ps * ps * ps / 6 * _odd_ratio(ps * ps), r * (phi - jnp.sin(phi)))
    c, half_sin = jnp.cos(phi), jnp.sin(phi / 2)
    y = jnp.where(c > 0.5, 2 * (r * half_sin) * half_sin, r * (1 - c))
    return _no_overflow(x, "cycloid"), _no_overflow(y, "cycloid")


def _cycloid_ratio(phi: float) -> float:
    """``(phi - sin phi) / (1 - cos phi)`` for ``0 < phi <= pi``, without cancellation or underflow."""
    if phi < 1:
        return phi / 3 * _odd_ratio(phi * phi) / (math.sin(phi / 2) / (phi / 2)) ** 2
    return (phi - math.sin(phi)) / (2 * math.sin(phi / 2) ** 2)


def _cycloid_ratio_top(eps: float) -> float:
    """The same ratio at ``phi = 2 pi - eps`` (``0 < eps <= pi``), accurate for tiny ``eps``."""
    return (2 * math.pi - eps + math.sin(eps)) / (2 * math.sin(eps / 2) ** 2)


def cycloid_through(X: float, Y: float) -> tuple[float, float]:
    """The cycloid from the origin through :math:`(X, Y)`, ``X > 0``, ``Y > 0`` (``y`` down).

    Returns :math:`(r, \\varphi_1)` with :math:`r(\\varphi_1 - \\sin\\varphi_1) = X` and
    :math:`r(1 - \\cos\\varphi_1) = Y`, :math:`0 < \\varphi_1 < 2\\pi`.  The ratio
    :math:`(\\varphi - \\sin\\varphi)/(1 - \\cos\\varphi)` increases from 0 to :math:`\\infty` on
    :math:`(0, 2\\pi)`, so the root is unique (found by Brent's method on a bracket from the bounds
    :math:`\\varphi/3 \\le` ratio :math:`\\le \\varphi/2` on :math:`(0, \\pi]`).  When :math:`X/Y > \\pi/2`,
    :math:`\\varphi_1 > \\pi`: the curve dips below :math:`Y` and climbs back up to the end point; there the
    root is sought in :math:`\\varepsilon = 2\\pi - \\varphi_1`, and
    :math:`1 - \\cos\\varphi_1 = 2\\sin^2(\\varepsilon/2)`,
    so :math:`r` keeps full precision for any :math:`X/Y` (:math:`\\varphi_1` itself rounds to :math:`2\\pi`
    beyond :math:`X/Y \\approx 10^{31}`).

    Raises TypeError/ValueError unless ``X`` and ``Y`` are finite numbers > 0, and FloatingPointError when
    ``X/Y`` or :math:`r` leaves the float range (:math:`r \\approx 2Y^3/(9X^2)` for small :math:`X/Y`).
    """
    X, Y = checks.real(X, "X", positive=True), checks.real(Y, "Y", positive=True)
    ratio = X / Y
    if not np.finfo(float).tiny <= ratio < math.inf:
        raise FloatingPointError(f"cycloid_through: X/Y = {X}/{Y} leaves the normal floats")
    solve = partial(brentq, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    if ratio <= math.pi / 2:  # phi1 in [2 ratio, 3 ratio]; at ratio ~ pi/2 rounding may put the root at pi
        f = lambda phi: _cycloid_ratio(phi) - ratio  # noqa: E731
        hi = min(3.1 * ratio, math.pi)
        phi1 = math.pi if hi == math.pi and f(hi) <= 0 else solve(f, 1.9 * ratio, hi)
        half_sin = math.sin(phi1 / 2)
    else:  # eps = 2 pi - phi1 in [sqrt(2 pi / ratio), sqrt(pi^3 / ratio)]
        f = lambda e: _cycloid_ratio_top(e) - ratio  # noqa: E731
        hi = min(1.01 * math.sqrt(math.pi**3 / ratio), math.pi)
        eps = math.pi if hi == math.pi and f(hi) >= 0 else solve(f, 0.99 * math.sqrt(2 * math.pi / ratio), hi)
        phi1, half_sin = 2 * math.pi - eps, math.sin(eps / 2)
    r = Y / (2 * half_sin) / half_sin
    if not math.isfinite(r):
        raise FloatingPointError(f"cycloid_through: r overflows for X = {X}, Y = {Y} (r ~ 2 Y^3 / (9 X^2))")
    return r, phi1


# -- the hanging chain --------------------------------------------------------------------------------
def catenary(x: jax.Array, a: float, b: float, lam: float) -> jax.Array:
    """The catenary :math:`y = \\lambda + a\\cosh((x - b)/a)` (``y`` up, ``a > 0``).

    Finite wherever the value is (``a cosh`` is evaluated as ``exp(log(a/2) + |u|)`` where ``cosh`` alone
    overflows).  Raises TypeError/ValueError for a non-real ``x`` (concrete: NaN/inf), non-finite ``b``,
    ``lam``, or an ``a`` that is not > 0; FloatingPointError when the value itself overflows.
    """
    a = checks.real(a, "a", positive=True)
    b, lam = checks.real(b, "b"), checks.real(lam, "lam")
    x = checks.array(x, "x", kinds="iuf")
    return _no_overflow(lam + _a_cosh(a, (jnp.asarray(x) - b) / a), "catenary")


def _log_sinhc(z: float) -> float:
    """``log(sinh(z) / z)`` for ``z > 0``, accurate for tiny ``z`` and finite for huge ``z``."""
    if z < 1:
        z2, term, total = z * z, 1.0, 0.0
        for k in range(1, 10):  # sinh(z)/z - 1 = sum_k z^(2k) / (2k+1)!
            term *= z2 / ((2 * k) * (2 * k + 1))
            total += term
        return math.log1p(total)
    return z + math.log1p(-math.exp(-2 * z)) - math.log(2 * z)


def catenary_through(p1: tuple[float, float], p2: tuple[float, float], length: float) -> tuple[float, float, float]:
    """The catenary :math:`y = \\lambda + a\\cosh((x-b)/a)` of a given length hung from ``p1`` and ``p2``.

    Three constants for three conditions (two end points, one length): with :math:`h = x_2 - x_1 > 0`,
    :math:`v = y_2 - y_1`, :math:`d = \\sqrt{h^2 + v^2}` and length :math:`L > d`,

    .. math::

        \\sqrt{L^2 - v^2} = 2a \\sinh\\frac{h}{2a}, \\qquad
        b = \\frac{x_1 + x_2}{2} - a \\operatorname{artanh}\\frac{v}{L}, \\qquad
        \\lambda = y_1 - a\\cosh\\frac{x_1 - b}{a}.

    The first equation has exactly one root :math:`a > 0`: with :math:`z = h/2a` it reads
    :math:`\\ln(\\sinh z / z) = \\ln(1 + m)` with
    :math:`m = \\sqrt{L^2 - v^2}/h - 1 = (L^2 - h^2 - v^2) / (h(\\sqrt{L^2 - v^2} + h))`, solved by Brent's
    method.  The differences :math:`h, v, L^2 - h^2 - v^2, L - |v|` are formed exactly (rational arithmetic
    on the given floats), so a chain barely longer than the distance between its ends keeps every digit,
    and nothing overflows for a very long one.  Returns ``(a, b, lam)``.

    Raises TypeError for non-real coordinates or length; ValueError unless ``p1``, ``p2`` are pairs of
    finite numbers with ``x2 > x1`` (and ``x2 - x1``, ``y2 - y1`` finite floats) and ``length`` is finite
    and exceeds their distance; FloatingPointError when a constant leaves the float range.
    """
    x1, y1 = (float(c) for c in checks.array(p1, "p1", shape=(2,), kinds="iuf"))
    x2, y2 = (float(c) for c in checks.array(p2, "p2", shape=(2,), kinds="iuf"))
    L = checks.real(length, "length", positive=True)
    H, V, LL = Fraction(x2) - Fraction(x1), Fraction(y2) - Fraction(y1), Fraction(L)
    if H <= 0:
        raise ValueError(f"p2: must lie to the right of p1, got x1={x1}, x2={x2}")
    h, v = x2 - x1, y2 - y1
    if not (math.isfinite(h) and math.isfinite(v)):
        raise ValueError(f"p2: too far from p1 for float arithmetic, got p1={p1}, p2={p2}")
    slack = LL * LL - H * H - V * V  # L^2 - d^2, exactly
    if slack <= 0:
        raise ValueError(f"length: must exceed the distance {math.hypot(h, v)} between the end points, got {L}")
    e = math.frexp(L)[1]  # sqrt(L^2 - v^2) in units of 2^e ~ L (exact scaling, no overflow)
    w = math.ldexp(math.sqrt(float((LL * LL - V * V) / Fraction(4) ** e)), e)
    m = slack / (H * (Fraction(w) + H))
    target = math.log1p(float(m)) if m < Fraction(np.finfo(float).max) else _log_fraction(m)
    lo = 0.999 * math.sqrt(6 * target)  # log(sinh z / z) <= z^2 / 6
    hi = max(2 * lo, 1.0)
    while _log_sinhc(hi) < target:
        hi *= 2
    z = brentq(lambda z: _log_sinhc(z) - target, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    a = h / (2 * z)
    q = 2 * abs(V) / (LL - abs(V))  # artanh(v/L) = sign(v) log1p(q) / 2, without forming v/L
    artanh = math.copysign(0.5 * (math.log1p(float(q)) if q < 1e300 else _log_fraction(1 + q)), v)
    b = x1 / 2 + x2 / 2 - a * artanh
    u = (x1 - b) / a
    try:
        lam = y1 - (a * math.cosh(u) if abs(u) <= 700 else math.exp(math.log(a / 2) + abs(u)))
    except OverflowError:
        lam = math.inf
    if not all(math.isfinite(c) for c in (a, b, lam)):
        raise FloatingPointError(f"catenary_through: the constants overflow for p1={p1}, p2={p2}, length={L}")
    return a, b, lam


def _log_fraction(q: Fraction) -> float:
    """``log(q)`` for a positive rational of any size (``math.log`` takes big integers exactly)."""
    return math.log(q.numerator) - math.log(q.denominator)


def chain_nodes(angles: jax.Array, start: tuple[float, float], link: float) -> jax.Array:
    """Joint positions of a chain of rigid links: link :math:`i` has length ``link`` and direction ``angles[i]``.

    .. math:: p_0 = \\text{start}, \\qquad p_{i+1} = p_i + \\ell\\,(\\cos\\theta_i, \\sin\\theta_i).

    Parametrising by angles keeps every link's length fixed, so only the far end point remains a
    constraint.  Returns an array of shape ``(len(angles) + 1, 2)``.  Raises TypeError/ValueError for
    ``angles`` that are not a non-empty 1-D real array (concrete: also NaN/inf), a ``start`` that is not a
    pair of finite numbers, a ``link`` that is not a finite number > 0; FloatingPointError when a position
    overflows.
    """
    th = _real_vector(angles, "angles")
    link = checks.real(link, "link", positive=True)
    p0 = jnp.asarray(checks.array(start, "start", shape=(2,), kinds="iuf"), th.dtype)
    steps = link * jnp.stack([jnp.cos(th), jnp.sin(th)], axis=1)
    return _no_overflow(jnp.concatenate([p0[None], p0 + jnp.cumsum(steps, axis=0)]), "chain_nodes")


# -- the weighted Fermat point ------------------------------------------------------------------------
def _weights(k: object) -> np.ndarray:
    """Three finite positive weights, scaled by a power of two (exactly) so that the largest is in [1/2, 1)."""
    w = checks.array(k, "weights", shape=(3,), kinds="iuf").astype(float)
    if np.any(w <= 0):
        raise ValueError(f"weights: must be three positive numbers, got {w.tolist()}")
    return np.ldexp(w, -math.frexp(float(w.max()))[1])


def _opposite_angle(a: float, b: float, c: float) -> float:
    """The angle opposite side ``c`` of the triangle with sides ``a, b, c`` (Kahan's formula, accurate for
    needle-like triangles; W. Kahan, *Miscalculating area and angles of a needle-like triangle*, 2014)."""
    a, b = max(a, b), min(a, b)
    mu = c - (a - b) if b >= c else b - (a - c)
    return 2 * math.atan(math.sqrt(((a - b) + c) * mu / ((a + (b + c)) * ((a - c) + b))))


def weighted_fermat_angles(weights: object) -> np.ndarray:
    """The angles :math:`(\\angle BPC, \\angle CPA, \\angle APB)` at an interior weighted Fermat point.

    Force balance :math:`k_1\\hat u_A + k_2\\hat u_B + k_3\\hat u_C = 0` (unit vectors from :math:`P` to the
    vertices) closes the three forces into a triangle with sides :math:`k_1, k_2, k_3`; e.g.
    :math:`k_3^2 = k_1^2 + k_2^2 + 2k_1k_2\\cos\\angle APB`, and cyclically.  So
    :math:`\\angle APB = \\pi - \\alpha_3 = \\alpha_1 + \\alpha_2` with :math:`\\alpha_i` the angle of that
    triangle opposite :math:`k_i`, computed by Kahan's formula (no squares: exact for any scale, accurate
    when the triangle is nearly flat).  Equal weights give :math:`120^\\circ` each.

    Raises TypeError/ValueError unless ``weights`` are three finite positive numbers that satisfy the strict
    triangle inequalities (otherwise no interior point balances, see :func:`fermat_vertex`).
    """
    k1, k2, k3 = _weights(weights)
    if not (k1 < k2 + k3 and k2 < k3 + k1 and k3 < k1 + k2):
        raise ValueError(f"weights: {np.asarray(weights).tolist()} violate the triangle inequality, "
                         "no interior balance point")
    al1, al2, al3 = _opposite_angle(k2, k3, k1), _opposite_angle(k3, k1, k2), _opposite_angle(k1, k2, k3)
    return np.array([al2 + al3, al3 + al1, al1 + al2])


def fermat_vertex(points: object, weights: object) -> int | None:
    """The vertex that minimises :math:`\\sum_j k_j |P - A_j|`, or ``None`` when the minimiser is interior.

    Vertex :math:`A_i` is optimal iff the pull of the other two weights does not beat its own,
    :math:`\\big|\\sum_{j \\ne i} k_j \\hat u_{ij}\\big| \\le k_i` with :math:`\\hat u_{ij}` the unit vector from
    :math:`A_i` to :math:`A_j` (zero lies in the subdifferential there).  The objective is convex, so this
    is a complete test; at most one vertex passes it for a non-degenerate triangle.  Points and weights are
    scaled by powers of two (exactly), so any magnitude works.

    Args:
        points: the vertices, shape ``(3, 2)``, finite, not collinear (the sine of the angle at the first
            vertex must exceed 1e-12).  weights: three finite positive numbers.

    Raises TypeError for non-real input, ValueError for a wrong shape, NaN/inf, collinear or coincident
    points and non-positive weights.
    """
    A = checks.array(points, "points", shape=(3, 2), kinds="iuf").astype(float)
    A = np.ldexp(A, -math.frexp(float(np.abs(A).max()))[1])
    u, w = A[1] - A[0], A[2] - A[0]
    if abs(u[0] * w[1] - u[1] * w[0]) <= 1e-12 * np.linalg.norm(u) * np.linalg.norm(w):
        raise ValueError("points: collinear or coincident, not a triangle")
    k = _weights(weights)
    for i in range(3):
        pull = sum(k[j] * (A[j] - A[i]) / np.linalg.norm(A[j] - A[i]) for j in range(3) if j != i)
        if np.linalg.norm(pull) <= k[i]:
            return i
    return None
