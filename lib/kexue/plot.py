"""The book's figure style and the plots several chapters draw.

* :func:`use_book_style` -- PNG inline figures at a modest dpi, readable fonts (call once per chapter);
* :func:`vector_field` -- a 2-D vector field (stream lines or arrows) with optional trajectories;

Plot functions are pure: they draw on the ``ax`` they are given and return the artists; they never call
``plt.show`` or create figures.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes

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


def _limits(lim: Sequence[float], name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in lim)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair of numbers (lo, hi), got {lim!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must satisfy lo < hi with finite values, got {lim!r}")
    return lo, hi


def vector_field(
    ax: Axes,
    f: Field2D,
    xlim: Sequence[float],
    ylim: Sequence[float],
    *,
    trajectories: Sequence[np.ndarray] = (),
    kind: str = "stream",
    grid: int = 25,
    color: str = "0.6",
    trajectory_color: str | Sequence[str] = "C0",
    start_marker: bool = True,
    **field_kwargs: Any,
) -> VectorFieldArtists:
    """Draw the planar field ``(u, v) = f(x, y)`` on ``ax`` over ``xlim x ylim``, with optional trajectories.

    Args:
        ax: the axes to draw on (limits are set to ``xlim``, ``ylim``; the aspect is left to the caller).
        f: maps coordinate arrays ``(x, y)`` (a ``grid x grid`` mesh) to velocity arrays ``(u, v)``.
        xlim, ylim: ``(lo, hi)`` pairs with ``lo < hi``.
        trajectories: paths to overlay, each an array of shape ``(T, 2)`` with ``T >= 2`` -- e.g. an exact
            flow, :func:`kexue.ode.rk4`, or the iterates of a discrete algorithm.
        kind: ``"stream"`` (``ax.streamplot``) or ``"quiver"`` (``ax.quiver``, arrows normalised to unit length
            so that direction is readable where speeds differ by orders of magnitude).
        grid: number of mesh points per axis (>= 2).
        color: colour of the field; ``trajectory_color`` one colour or one per trajectory.
        start_marker: mark each trajectory's first point with a dot.
        **field_kwargs: passed to ``streamplot`` / ``quiver`` (e.g. ``density``, ``linewidth``).

    Returns:
        :class:`VectorFieldArtists`.  Raises ValueError when ``f`` returns arrays of the wrong shape or
        non-finite values, or when a trajectory is not ``(T, 2)``.
    """
    x0, x1 = _limits(xlim, "xlim")
    y0, y1 = _limits(ylim, "ylim")
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ValueError(f"grid must be an integer >= 2, got {grid!r}")
    if kind not in ("stream", "quiver"):
        raise ValueError(f"kind must be 'stream' or 'quiver', got {kind!r}")
    X, Y = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    U, V = (np.asarray(c, dtype=float) for c in f(X, Y))
    if U.shape != X.shape or V.shape != X.shape:
        raise ValueError(f"f must return arrays of the mesh's shape {X.shape}, got {U.shape} and {V.shape}")
    if not (np.all(np.isfinite(U)) and np.all(np.isfinite(V))):
        raise ValueError("f returned non-finite velocities on the grid")
    if kind == "stream":
        field = ax.streamplot(X, Y, U, V, color=color, **{"density": 0.9, "linewidth": 0.8, **field_kwargs})
    else:
        speed = np.hypot(U, V)
        scale = np.where(speed > 0, speed, 1.0)
        field = ax.quiver(X, Y, U / scale, V / scale, color=color, **{"angles": "xy", **field_kwargs})

    paths = [np.asarray(p, dtype=float) for p in trajectories]
    for i, p in enumerate(paths):
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 2:
            raise ValueError(f"trajectories[{i}] must have shape (T, 2) with T >= 2, got {p.shape}")
    colors = [trajectory_color] * len(paths) if isinstance(trajectory_color, str) else list(trajectory_color)
    if len(colors) != len(paths):
        raise ValueError(f"trajectory_color has {len(colors)} colours for {len(paths)} trajectories")
    lines = []
    for p, c in zip(paths, colors):
        (line,) = ax.plot(p[:, 0], p[:, 1], color=c, lw=1.8)
        lines.append(line)
        if start_marker:
            ax.plot(p[0, 0], p[0, 1], "o", color=c, ms=4)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return VectorFieldArtists(field, lines)

