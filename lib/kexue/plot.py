"""The book's figure style and the plots several chapters draw.

* :func:`use_book_style` -- PNG inline figures at a modest dpi, readable fonts (call once per chapter);
* :func:`vector_field` -- a 2-D vector field (stream lines or arrows) with optional trajectories;

Plot functions are pure: they draw on the ``ax`` they are given and return the artists; they never call
``plt.show`` or create figures.  Their arguments are checked (through :mod:`kexue.checks`) before anything is
drawn: wrong types raise ``TypeError``, wrong values ``ValueError``, each message starting with the argument's
name, and a failed call leaves ``ax`` untouched.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like

from kexue import checks

__all__ = ["BOOK_DPI", "VectorFieldArtists", "use_book_style", "vector_field"]

#: dpi of inline figures (the book shows PNGs at this resolution).
BOOK_DPI = 100

#: A planar field: maps arrays ``(x, y)`` of equal shape to arrays ``(u, v)`` of that shape.
Field2D = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

_BOOK_RC: dict[str, Any] = {
    "figure.dpi": BOOK_DPI,
    "savefig.dpi": BOOK_DPI,
    "figure.figsize": (6.4, 4.0),
    "figure.facecolor": "white",
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
    "image.cmap": "viridis",
}


def use_book_style() -> dict[str, Any]:
    """Apply the book's matplotlib style and make IPython show figures as PNG (never SVG).

    PNG matters twice: nbval compares SVG text but not PNG bytes, and a modest dpi keeps notebooks small.
    Outside IPython only the rcParams are set.  Returns the rcParams that were applied.
    """
    mpl.rcParams.update(_BOOK_RC)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: rcParams are all there is to set
        return dict(_BOOK_RC)
    if get_ipython() is not None:
        set_matplotlib_formats("png")
    return dict(_BOOK_RC)


class VectorFieldArtists(NamedTuple):
    """What :func:`vector_field` drew: the field (a StreamplotSet or a Quiver) and one Line2D per trajectory."""

    field: Any
    trajectories: list[Any]


def _limits(lim: Any, name: str, grid: int) -> tuple[float, float]:
    """A pair ``lo < hi`` of finite reals that matplotlib draws as given: ``1e-280 <= max(|lo|, |hi|) <= 1e150``
    (below, it silently widens the limits to ``±0.05``; above, its arrow code squares data coordinates and
    overflows) and ``grid`` evenly spaced points that are distinct floats (streamplot needs them evenly spaced
    to 1e-5)."""
    lo, hi = (float(v) for v in checks.array(lim, name, shape=(2,), kinds="iuf"))
    if not lo < hi:
        raise ValueError(f"{name}: must satisfy lo < hi, got ({lo}, {hi})")
    top = max(abs(lo), abs(hi))
    if not 1e-280 <= top <= 1e150:
        raise ValueError(f"{name}: max(|lo|, |hi|) must lie in [1e-280, 1e150] for matplotlib to draw it, got "
                         f"({lo}, {hi}); rescale the coordinates")
    if (hi - lo) / (grid - 1) < 2.0**20 * np.spacing(top):
        raise ValueError(f"{name}: ({lo}, {hi}) is too narrow for its magnitude: {grid} evenly spaced points "
                         f"cannot be resolved in float64; shift or rescale the coordinates")
    return lo, hi


def _colors(colors: Any, count: int) -> list[Any]:
    """One matplotlib colour for all trajectories (a string or an RGB(A) tuple) or one per trajectory."""
    if isinstance(colors, str) or (is_color_like(colors) and not isinstance(colors, (list, np.ndarray))):
        colors = [colors] * count
    elif colors is None or isinstance(colors, bytes) or not hasattr(colors, "__iter__"):
        raise TypeError(f"trajectory_color: expected a colour or a sequence of colours, got {type(colors).__name__}")
    colors = list(colors)
    if len(colors) != count:
        raise ValueError(f"trajectory_color: has {len(colors)} colours for {count} trajectories")
    for i, c in enumerate(colors):
        if not is_color_like(c):
            raise ValueError(f"trajectory_color[{i}]: not a matplotlib colour: {c!r}")
    return colors


def _trajectories(trajectories: Any) -> list[np.ndarray]:
    """Each path as a finite float array ``(T, 2)``, ``T >= 2``."""
    if trajectories is None or isinstance(trajectories, (str, bytes)) or not hasattr(trajectories, "__iter__"):
        raise TypeError(f"trajectories: expected a sequence of (T, 2) arrays, got {type(trajectories).__name__}")
    if getattr(trajectories, "ndim", None) == 2:
        raise ValueError(f"trajectories: expected a sequence of (T, 2) arrays, got one array of shape "
                         f"{trajectories.shape}; pass [path]")
    paths = []
    for i, p in enumerate(trajectories):
        p = checks.array(p, f"trajectories[{i}]", shape=(None, 2), kinds="iuf").astype(float)
        if p.shape[0] < 2:
            raise ValueError(f"trajectories[{i}]: must have shape (T, 2) with T >= 2, got {p.shape}")
        paths.append(p)
    return paths


def _velocities(f: Field2D, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``f(X, Y)`` as two finite float arrays of the mesh's shape; the first bad grid point is named."""
    out = f(X, Y)
    if isinstance(out, (str, bytes)) or not hasattr(out, "__len__") or len(out) != 2:
        raise ValueError(f"f: must return a pair (u, v) of arrays, got {type(out).__name__}"
                         f"{'' if not hasattr(out, '__len__') else f' of length {len(out)}'}")
    U, V = (checks.array(c, "f", shape=X.shape, kinds="iuf", finite=False).astype(float) for c in out)
    bad = ~(np.isfinite(U) & np.isfinite(V))
    if bad.any():
        i = np.unravel_index(np.argmax(bad), bad.shape)
        raise ValueError(f"f: returned NaN/inf velocities at {int(bad.sum())} grid point(s), e.g. (x, y) = "
                         f"({X[i]:.6g}, {Y[i]:.6g})")
    return U, V


def _unit_arrows(U: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(U, V) / |(U, V)|`` per point (zero vectors stay zero), scaled by a power of two first: no overflow in
    ``hypot`` for huge speeds (``1.5e308`` became a zero arrow), no underflow for tiny ones."""
    e = np.frexp(np.maximum(np.abs(U), np.abs(V)))[1]
    U, V = np.ldexp(U, -e), np.ldexp(V, -e)
    speed = np.hypot(U, V)
    scale = np.where(speed > 0, speed, 1.0)
    return U / scale, V / scale


def _stream_scaled(U: np.ndarray, V: np.ndarray, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """``(U, V)`` times one power of two so that the speed in axes units (``U/width``, ``V/height``) is about 1.

    Stream lines depend only on the direction field (streamplot integrates at unit speed), so this changes no
    line; it keeps streamplot's ``(U/dx)²`` from overflowing for huge speeds or tiny domains.
    """
    top = max(np.max(np.abs(U)), np.max(np.abs(V)))
    if top == 0:
        return U, V
    e = max(int(np.frexp(np.max(np.abs(U)))[1]) - int(np.frexp(width)[1]),
            int(np.frexp(np.max(np.abs(V)))[1]) - int(np.frexp(height)[1]))
    return np.ldexp(U, -e), np.ldexp(V, -e)


def vector_field(
    ax: Axes,
    f: Field2D,
    xlim: Sequence[float],
    ylim: Sequence[float],
    *,
    trajectories: Sequence[np.ndarray] = (),
    kind: str = "stream",
    grid: int = 25,
    color: Any = "0.6",
    trajectory_color: Any = "C0",
    start_marker: bool = True,
    **field_kwargs: Any,
) -> VectorFieldArtists:
    """Draw the planar field ``(u, v) = f(x, y)`` on ``ax`` over ``xlim x ylim``, with optional trajectories.

    Args:
        ax: the matplotlib ``Axes`` to draw on (limits are set to ``xlim``, ``ylim``; the aspect is left to the
            caller).
        f: maps coordinate arrays ``(x, y)`` (a ``grid x grid`` mesh) to a pair of real velocity arrays ``(u, v)``
            of the mesh's shape (NumPy or JAX).
        xlim, ylim: ``(lo, hi)`` pairs of finite reals with ``lo < hi``, wide enough for ``grid`` distinct points.
        trajectories: paths to overlay, each a finite array of shape ``(T, 2)`` with ``T >= 2`` -- e.g. an exact
            flow, :func:`kexue.ode.rk4`, or the iterates of a discrete algorithm (a stacked ``(k, T, 2)`` array
            works too).
        kind: ``"stream"`` (``ax.streamplot``) or ``"quiver"`` (``ax.quiver``, arrows normalised to unit length
            so that direction is readable where speeds differ by orders of magnitude).
        grid: number of mesh points per axis, an int in ``[2, 1000]``.
        color: colour of the field (for ``"stream"`` also an array of the mesh's shape, mapped by the colormap);
            ``trajectory_color`` one colour (a string or an RGB(A) tuple) or one per trajectory.
        start_marker: mark each trajectory's first point with a dot.
        **field_kwargs: passed to ``streamplot`` / ``quiver`` (e.g. ``density``, ``linewidth``).

    Returns:
        :class:`VectorFieldArtists`.

    Raises:
        TypeError: ``ax`` not an Axes, ``f`` not callable, non-real limits, trajectories or velocities, a
            non-int ``grid``, a non-bool ``start_marker``.
        ValueError: limits not ``lo < hi`` or not finite, a bad ``kind``, ``grid`` out of range, an invalid
            colour or the wrong number of colours, a trajectory not ``(T, 2)`` or with NaN/inf, ``f`` returning
            anything but two arrays of the mesh's shape or NaN/inf (the first such grid point is named).

    Everything is checked before anything is drawn: a failed call leaves ``ax`` untouched.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax: expected a matplotlib Axes, got {type(ax).__name__}")
    checks.callable_(f, "f")
    grid = checks.count(grid, "grid", minimum=2, maximum=1000)
    x0, x1 = _limits(xlim, "xlim", grid)
    y0, y1 = _limits(ylim, "ylim", grid)
    checks.one_of(kind, "kind", ("stream", "quiver"))
    checks.flag(start_marker, "start_marker")
    paths = _trajectories(trajectories)
    colors = _colors(trajectory_color, len(paths))
    X, Y = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    if not (is_color_like(color) or (kind == "stream" and np.shape(color) == X.shape)):
        raise ValueError(f"color: not a matplotlib colour{' nor an array of the mesh shape' * (kind == 'stream')}: "
                         f"{color!r}")
    U, V = _velocities(f, X, Y)

    if kind == "stream":
        U, V = _stream_scaled(U, V, x1 - x0, y1 - y0)
        field = ax.streamplot(X, Y, U, V, color=color, **{"density": 0.9, "linewidth": 0.8, **field_kwargs})
    else:
        field = ax.quiver(X, Y, *_unit_arrows(U, V), color=color, **{"angles": "xy", **field_kwargs})
    lines = []
    for p, c in zip(paths, colors):
        (line,) = ax.plot(p[:, 0], p[:, 1], color=c, lw=1.8)
        lines.append(line)
        if start_marker:
            ax.plot(p[0, 0], p[0, 1], "o", color=c, ms=4)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return VectorFieldArtists(field, lines)
