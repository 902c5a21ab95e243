"""The book's figure style and the plots several chapters draw.

* :func:`use_book_style` -- inline figures as PNGs sharp on high-DPI screens (:func:`book_png`), readable fonts
  (call once per chapter);
* :func:`vector_field` -- a 2-D vector field (stream lines or arrows) with optional trajectories;
* :func:`frames`, :func:`slider_chart`, :func:`show` -- an interactive figure: the chapter's function evaluated
  at each slider value, drawn by Vega-Lite in the reader's browser (no kernel); :func:`live` -- the same figure
  recomputed at any value by an ipywidgets slider when the notebook runs in Jupyter or Colab;

Plot functions are pure: they draw on the ``ax`` they are given and return the artists; they never call
``plt.show`` or create figures.  Their arguments are checked (through :mod:`kexue.checks`) before anything is
drawn: wrong types raise ``TypeError``, wrong values ``ValueError``, each message starting with the argument's
name, and a failed call leaves ``ax`` untouched.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like

from kexue import _optional, checks

__all__ = ["BOOK_DPI", "BOOK_PIXEL_RATIO", "BOOK_PNG_COLORS", "STATIC_ENV", "VEGA_CONFIG", "Frames", "InteractiveFigure", "VectorFieldArtists", "book_png",
           "build_live", "compare_specs", "frames", "html_without_spec", "live", "show", "slider_chart", "spec_from_html", "use_book_style", "vector_field"]

#: Inline figures are shown at this many CSS pixels per inch (a figure ``w`` inches wide is ``w * BOOK_DPI`` CSS
#: pixels wide).
BOOK_DPI = 100
#: Device pixels per CSS pixel of the inline PNGs (:func:`book_png`); 2 is sharp on high-DPI ("retina") screens.
BOOK_PIXEL_RATIO = 2
#: The inline PNGs are quantized to a palette of this many colours (:func:`book_png`); a plot's anti-aliased lines
#: and colour maps need no more, and the palette keeps a 2x PNG smaller than an unquantized 1x one.
BOOK_PNG_COLORS = 256

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


def book_png(fig: Any, *, ratio: int = BOOK_PIXEL_RATIO, colors: int | None = BOOK_PNG_COLORS
             ) -> tuple[str, dict[str, int]] | None:
    """The PNG of ``fig`` as the book shows it: ``(base64 text, {"width": w})`` in IPython's (data, metadata)
    form, or ``None`` for a figure with nothing drawn (as IPython's own formatter).

    The figure is rendered at ``ratio * BOOK_DPI`` dpi with a tight bounding box; ``width`` is its width in CSS
    pixels (the pixel width divided by ``ratio``), which Jupyter, Colab and myst-nb use to show it at
    ``BOOK_DPI``, so each CSS pixel gets ``ratio**2`` device pixels.  No height is given: a page narrower than
    the figure scales it down with its aspect ratio (a fixed height would squash it).  With ``colors``, the image
    is quantized to a palette of that many colours (Pillow's median cut, no dithering; transparent figures use
    Pillow's fast octree, which keeps alpha); ``None`` keeps full RGBA.
    """
    from matplotlib.figure import Figure
    from PIL import Image

    if not isinstance(fig, Figure):
        raise TypeError(f"fig: expected a matplotlib Figure, got {type(fig).__name__}")
    ratio = checks.count(ratio, "ratio", minimum=1, maximum=4)
    colors = None if colors is None else checks.count(colors, "colors", minimum=2, maximum=256)
    if not fig.axes and not fig.lines:
        return None
    raw = io.BytesIO()
    fig.canvas.print_figure(raw, format="png", dpi=BOOK_DPI * ratio, bbox_inches="tight",
                            facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor())
    with Image.open(io.BytesIO(raw.getvalue())) as im:
        width = im.size[0]
        if colors is None:
            png = raw.getvalue()
        else:
            opaque = im.mode != "RGBA" or im.getchannel("A").getextrema()[0] == 255
            method = Image.Quantize.MEDIANCUT if opaque else Image.Quantize.FASTOCTREE
            paletted = (im.convert("RGB") if opaque else im.convert("RGBA")).quantize(
                colors, method=method, dither=Image.Dither.NONE)
            out = io.BytesIO()
            paletted.save(out, format="PNG", optimize=True)
            png = out.getvalue()
    return base64.b64encode(png).decode("ascii"), {"width": max(1, round(width / ratio))}


def use_book_style() -> dict[str, Any]:
    """Apply the book's matplotlib style and make IPython show figures as :func:`book_png` PNGs (never SVG).

    PNG matters twice: nbval compares SVG text but not PNG bytes, and a palette PNG keeps notebooks and pages
    small while :data:`BOOK_PIXEL_RATIO` keeps them sharp on high-DPI screens.  Outside IPython only the
    rcParams are set.  Returns the rcParams that were applied.
    """
    mpl.rcParams.update(_BOOK_RC)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: rcParams are all there is to set
        return dict(_BOOK_RC)
    shell = get_ipython()
    if shell is not None:
        from matplotlib.figure import Figure

        set_matplotlib_formats("png")  # drops every other figure format (SVG, PDF, JPEG)
        shell.display_formatter.formatters["image/png"].for_type(Figure, book_png)
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


# ---------------------------------------------------------------------------------------------------------
# Interactive figures: a slider over frames the chapter computed, drawn by Vega-Lite (through Altair) in the
# reader's browser with no kernel; in Jupyter or Colab the same figure can be recomputed live (ipywidgets).
# ---------------------------------------------------------------------------------------------------------

#: The Vega-Lite ``config`` of the book's interactive figures (matplotlib's tab10 colours, the PNGs' font sizes).
VEGA_CONFIG: dict[str, Any] = {
    "font": "sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridOpacity": 0.3, "domainColor": "#444"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11},
    "title": {"fontSize": 13, "fontWeight": "normal", "anchor": "start"},
    "range": {"category": {"scheme": "tableau10"}},
    "line": {"strokeWidth": 1.8},
}

#: Set to ``"1"`` while notebooks are executed to store or test their outputs (the Makefile exports it):
#: :func:`live` then builds its widget (so its code runs) but does not display it.
STATIC_ENV = "KEXUE_STATIC"

_FRAME_KEY = "_v"
_NAME_RE = r"[a-z0-9]+(-[a-z0-9]+)*"
_PARAM_RE = r"[A-Za-z][A-Za-z0-9_]*"
_VEGA_CDN = ("https://cdn.jsdelivr.net/npm/vega@{vega}", "https://cdn.jsdelivr.net/npm/vega-lite@{vegalite}",
             "https://cdn.jsdelivr.net/npm/vega-embed@{embed}")


class Frames(NamedTuple):
    """What :func:`frames` computed: one record per slider value, the columns as lists.

    ``records[i]`` is ``{"_v": values[i], column: [...], ...}``; every column of a record has the same length.
    ``log`` says that the values are geometrically spaced (the slider then moves over ``log10`` of them).
    """

    param: str
    label: str
    values: tuple[float, ...]
    columns: tuple[str, ...]
    records: tuple[dict[str, Any], ...]
    log: bool


def _slider_values(values: Any, log: bool) -> tuple[float, ...]:
    """Strictly increasing, evenly spaced (in ``log10`` when ``log``) finite reals; a single value is allowed."""
    arr = checks.array(values, "values", ndim=1, kinds="iuf").astype(float)
    if log and np.any(arr <= 0):
        raise ValueError(f"values: must be positive for log=True, got min {arr.min():.6g}")
    pos = np.log10(arr) if log else arr
    if arr.size > 1:
        steps = np.diff(pos)
        if np.any(steps <= 0):
            raise ValueError("values: must be strictly increasing")
        if np.ptp(steps) > 1e-6 * steps.mean():
            kind = "geometrically" if log else "evenly"
            hint = "" if log else " (pass log=True for geometric spacing)"
            raise ValueError(f"values: must be {kind} spaced for a slider, steps range over "
                             f"[{steps.min():.6g}, {steps.max():.6g}]{hint}")
    ints = np.asarray(values).dtype.kind in "iu"
    return tuple(int(v) if ints else float(v) for v in np.asarray(values).tolist())


def _column(x: Any, where: str, digits: int) -> list[Any]:
    """One frame column as a JSON list: numbers rounded to ``digits`` significant digits, or strings."""
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError(f"{where}: expected a 1-D array or a list of strings, got {type(x).__name__}")
    if len(x) and all(isinstance(v, str) for v in x):
        return list(x)
    arr = checks.array(x, where, ndim=1, kinds="iuf", finite=False)
    if arr.dtype.kind in "iu":
        return [int(v) for v in arr.tolist()]
    bad = ~np.isfinite(np.asarray(arr, dtype=float))
    if bad.any():
        raise ValueError(f"{where}: contains {int(bad.sum())} NaN/inf value(s), e.g. at index {int(np.argmax(bad))}")
    return [float(f"{v:.{digits}g}") for v in np.asarray(arr, dtype=float).tolist()]


def _frame_table(out: Any, v: Any, where: str, digits: int) -> dict[str, Any]:
    """One table of one frame: ``{column: list}``, every column of the same length."""
    if not isinstance(out, Mapping) or not out:
        raise TypeError(f"{where}: expected a non-empty mapping {{column: array}}, got {type(out).__name__}")
    names = tuple(out)
    if any(not isinstance(c, str) or re.fullmatch(_PARAM_RE, c) is None for c in names):
        raise ValueError(f"{where}: column names must be identifiers, got {names}")
    rec: dict[str, Any] = {_FRAME_KEY: v}
    for c in names:
        rec[c] = _column(out[c], f"{where}[{c!r}]", digits)
    lengths = {c: len(rec[c]) for c in names}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{where}: columns differ in length: {lengths}")
    return rec


def frames(fn: Callable[[Any], Any], values: Any, *, param: str, label: str | None = None, log: bool = False,
           digits: int = 4) -> Frames | dict[str, Frames]:
    r"""Evaluate a chapter's ``fn(v)`` at each slider value ``v`` and keep the columns it returns.

    ``fn`` maps one parameter value to a table ``{column: 1-D array (or list of strings)}``, all columns of a
    frame of equal length (frames may differ in length); or to several tables ``{table: {column: array}}``
    (a curve and a marker, say), which gives a dict of :class:`Frames`.  Numbers are kept to ``digits``
    significant digits: a figure needs no more, and the notebook stays small.  ``values`` must be evenly spaced
    (geometrically with ``log=True``) so that a slider can step through them; integer ``values`` are passed to
    ``fn`` as ``int``.

    Raises:
        TypeError: ``fn`` is not callable, returns no mapping, or a column is neither numbers nor strings.
        ValueError: ``param``/``values``/``digits`` are malformed, frames disagree on their tables or column
            names, a frame's columns differ in length, or a column holds NaN/inf (the frame's value is named).
    """
    checks.callable_(fn, "fn")
    if not isinstance(param, str) or re.fullmatch(_PARAM_RE, param) is None:
        raise ValueError(f"param: must be an identifier such as 'tau' (letters, digits, _), got {param!r}")
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label: expected a str, got {type(label).__name__}")
    log = checks.flag(log, "log")
    digits = checks.count(digits, "digits", minimum=2, maximum=17)
    vals = _slider_values(values, log)
    tables: dict[str | None, list[dict[str, Any]]] = {}
    layout: tuple[Any, ...] | None = None
    for v in vals:
        out = fn(v)
        multi = isinstance(out, Mapping) and bool(out) and all(isinstance(t, Mapping) for t in out.values())
        parts = {k: out[k] for k in out} if multi else {None: out}
        shape = tuple((k, tuple(t) if isinstance(t, Mapping) else None) for k, t in parts.items())
        if layout is not None and shape != layout:
            raise ValueError(f"fn({v!r}): returned tables/columns {shape}, the first frame returned {layout}")
        layout = shape
        for k, t in parts.items():
            where = f"fn({v!r})" if k is None else f"fn({v!r})[{k!r}]"
            tables.setdefault(k, []).append(_frame_table(t, v, where, digits))
    lab = param if label is None else label
    made = {k: Frames(param, lab, vals, tuple(c for c in recs[0] if c != _FRAME_KEY), tuple(recs), log)
            for k, recs in tables.items()}
    return made[None] if None in made else made  # type: ignore[return-value,index]


def slider_chart(fr: Frames | Mapping[str, Frames], layers: Callable[[Any], Any], *, title: str | None = None,
                 width: int = 420, height: int = 280, initial: Any = None) -> Any:
    r"""A Vega-Lite chart with one slider stepping through ``fr``'s frames (no kernel needed to move it).

    ``layers(base)`` receives an Altair chart whose rows are the current frame's rows (the columns of
    :func:`frames`, flattened and filtered by the slider) -- for several tables, a dict of such charts -- and
    returns one chart or a list of charts built on it (``base.mark_line().encode(x="x:Q", y="y:Q")``), layered;
    or side-by-side panels (``alt.hconcat(...)``, each panel given its own ``width``/``height``).  The
    slider moves over the frame values (over their ``log10`` for ``log`` frames) and selects the frame within
    half a step, so no float equality is needed.  A single frame gives a static chart.

    Raises:
        TypeError: ``fr`` is not a :class:`Frames` (or a dict of them), or ``layers`` is not callable or
            returns no chart.
        ValueError: tables disagree on the slider, ``width``/``height`` are out of range, or ``initial`` is not
            one of the frame values.
    """
    import altair as alt

    many = isinstance(fr, Mapping)
    tables = dict(fr) if many else {"": fr}
    if not tables or not all(isinstance(t, Frames) for t in tables.values()):
        raise TypeError(f"fr: expected kexue.plot.Frames (from kexue.plot.frames) or a dict of them, got "
                        f"{type(fr).__name__}")
    first = next(iter(tables.values()))
    if any((t.param, t.values, t.log) != (first.param, first.values, first.log) for t in tables.values()):
        raise ValueError("fr: the tables must share one slider (the same param, values and spacing)")
    checks.callable_(layers, "layers")
    width = checks.count(width, "width", minimum=50, maximum=2000)
    height = checks.count(height, "height", minimum=50, maximum=2000)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title: expected a str, got {type(title).__name__}")
    start = first.values[0] if initial is None else initial
    if start not in first.values:
        raise ValueError(f"initial: must be one of the frame values {first.values}, got {initial!r}")
    param, where = None, None
    if len(first.values) > 1:
        pos = np.log10(first.values) if first.log else np.asarray(first.values, dtype=float)
        step = float((pos[-1] - pos[0]) / (len(pos) - 1))
        at = float(pos[list(first.values).index(start)])
        name = f"log10 {first.label}" if first.log else first.label
        param = alt.param(name=first.param, value=at, bind=alt.binding_range(
            min=float(pos[0]), max=float(pos[-1]), step=step, name=f"{name} "))
        here = f"log(datum.{_FRAME_KEY}) / LN10" if first.log else f"datum.{_FRAME_KEY}"
        where = f"abs({here} - {first.param}) < {step / 2!r}"
    bases, datasets = {}, {}
    for k, t in tables.items():  # named datasets: layers on one table share one copy of its data
        name = f"frames_{k}" if k else "frames"
        datasets[name] = [dict(r) for r in t.records]
        b = alt.Chart(alt.NamedData(name=name)).transform_flatten(list(t.columns))
        bases[k] = b if where is None else b.transform_filter(where)
    charts = layers(bases if many else bases[""])
    charts = list(charts) if isinstance(charts, (list, tuple)) else [charts]
    if not charts or not all(isinstance(c, alt.TopLevelMixin) for c in charts):
        raise TypeError("layers: must return an Altair chart or a non-empty list of charts built on base")
    chart = alt.layer(*charts) if len(charts) > 1 else charts[0]
    if param is not None:
        chart = chart.add_params(param)
    panels = isinstance(chart, (alt.HConcatChart, alt.VConcatChart, alt.ConcatChart))
    props: dict[str, Any] = {"datasets": datasets}
    if param is not None:  # read by the figure's script: show the value itself (not its log10), 3 digits
        props["usermeta"] = {"kexueSlider": {"param": first.param, "label": first.label, "log": first.log}}
    if not panels:  # panels size themselves
        props.update(width=width, height=height)
    if title:
        props["title"] = title
    return chart.properties(**props).configure(**VEGA_CONFIG)


class InteractiveFigure:
    """A Vega-Lite figure as a notebook output: HTML that draws it with ``vegaEmbed`` (the book serves Vega from
    its own ``_static``; elsewhere it is loaded from a CDN once) and the spec in a JSON script element, where
    nbval's comparison (``chapters/conftest.py``) reads it back.  ``name`` makes the element ids stable.
    """

    def __init__(self, spec: dict[str, Any], name: str, rtol: float = 1e-3) -> None:
        if not isinstance(spec, dict) or "$schema" not in spec:
            raise TypeError("spec: expected a Vega-Lite spec dict (chart.to_dict())")
        if not isinstance(name, str) or re.fullmatch(_NAME_RE, name) is None:
            raise ValueError(f"name: must be lower-case words joined by '-', e.g. 'simplex-tau', got {name!r}")
        rtol = checks.real(rtol, "rtol", nonnegative=True, hi=0.5)
        self.name, self.rtol = name, rtol
        self.spec = {**spec, "usermeta": {**spec.get("usermeta", {}), "kexue": {"name": name, "rtol": rtol}}}

    def html(self) -> str:
        """The output HTML: a div, the spec (``</`` escaped) and the script that draws it."""
        import altair as alt

        fid = f"kexue-fig-{self.name}"
        spec = json.dumps(self.spec, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
        cdn = json.dumps([u.format(vega=alt.VEGA_VERSION.lstrip("v"), vegalite=alt.VEGALITE_VERSION.lstrip("v"),
                                   embed=alt.VEGAEMBED_VERSION.lstrip("v")) for u in _VEGA_CDN])
        return _FIGURE_HTML.format(id=fid, name=self.name, spec=spec, cdn=cdn)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html(), "text/plain": f"<interactive figure {self.name!r}>"}


_FIGURE_HTML = """<div class="kexue-figure" id="{id}" data-kexue-figure="{name}"></div>
<script type="application/json" id="{id}-spec">{spec}</script>
<script>
(function () {{
  var id = "{id}";
  function draw(embed) {{
    var el = document.getElementById(id);
    var spec = JSON.parse(document.getElementById(id + "-spec").textContent);
    embed(el, spec, {{actions: false, renderer: "svg"}})
      .then(function () {{ label(el, (spec.usermeta || {{}}).kexueSlider); el.setAttribute("data-kexue-rendered", "1"); }})
      .catch(function (err) {{ el.textContent = "This figure could not be drawn: " + err; console.error(err); }});
  }}
  function label(el, slider) {{  /* the slider's value as the parameter itself, 3 significant digits */
    var input = el.querySelector("input[type=range]");
    var value = input && input.nextElementSibling && input.nextElementSibling.tagName === "SPAN" ? input.nextElementSibling : null;
    var name = el.querySelector(".vega-bind-name");
    if (!slider || !input || !value) return;
    if (name) name.textContent = slider.label;
    function show() {{
      var v = Number(input.value);
      value.textContent = String(Number((slider.log ? Math.pow(10, v) : v).toPrecision(3)));
    }}
    input.addEventListener("input", show);
    show();
  }}
  if (window.vegaEmbed) {{ draw(window.vegaEmbed); return; }}
  var urls = {cdn};  /* outside the book (Jupyter, Colab): Vega from the CDN */
  if (typeof window.define === "function" && window.define.amd && window.require) {{
    window.require.config({{paths: {{"vega": urls[0] + "?noext", "vega-lite": urls[1] + "?noext",
                                    "vega-embed": urls[2] + "?noext"}}}});
    window.require(["vega-embed"], draw);
    return;
  }}
  (function load(i) {{
    if (i === urls.length) {{ draw(window.vegaEmbed); return; }}
    var s = document.createElement("script");
    s.src = urls[i];
    s.onload = function () {{ load(i + 1); }};
    s.onerror = function () {{ document.getElementById(id).textContent = "Vega could not be loaded from " + urls[i]; }};
    document.head.appendChild(s);
  }})(0);
}})();
</script>"""


def show(chart: Any, *, name: str, rtol: float = 1e-3) -> InteractiveFigure:
    """Display an Altair chart as the book's interactive figure ``name`` and return it.

    ``rtol`` is how far the figure's numbers may move on another machine, relative to the largest magnitude in
    their array, before nbval calls the stored output stale (1e-3: rounding; larger for float32 training).

    Raises:
        TypeError: ``chart`` is not an Altair chart.
        ValueError: ``name`` is not lower-case words joined by '-', or ``rtol`` is outside ``[0, 0.5]``.
    """
    import altair as alt

    if not isinstance(chart, alt.TopLevelMixin):
        raise TypeError(f"chart: expected an Altair chart, got {type(chart).__name__}")
    fig = InteractiveFigure(chart.to_dict(), name, rtol)
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return fig
    display(fig)
    return fig


def build_live(fn: Callable[[Any], Any], layers: Callable[[Any], Any], *, param: str, lo: float, hi: float,
               step: float, value: float | None = None, label: str | None = None, name: str = "live",
               title: str | None = None, width: int = 420, height: int = 280) -> Any:
    """An ipywidgets slider that recomputes ``fn`` at the slider's value and redraws the figure below it.

    This is the live twin of a :func:`slider_chart` figure: the same chapter function ``fn``, the same
    ``layers`` (and ``title``/``width``/``height``), but any value in ``[lo, hi]`` rather than the stored
    frames.  ``fn`` runs once here, at ``value`` (default ``lo``), so a broken explorer fails when the notebook
    is executed (under ``KEXUE_STATIC=1`` the figure is computed but not drawn into the widget: executed for
    the static book there is no frontend to route it).  Integer ``lo``/``hi``/``step`` give an integer slider.

    Raises:
        ModuleNotFoundError: ipywidgets is not installed (it comes with kexue's ``data`` and ``live`` extras).
        TypeError: ``fn`` or ``layers`` is not callable.
        ValueError: ``lo < hi`` fails, ``step`` is not positive, or ``value`` lies outside ``[lo, hi]``.
    """
    widgets = _optional.require("ipywidgets", "ipywidgets", "kexue.plot.live", "live")
    from IPython.display import display

    checks.callable_(fn, "fn")
    checks.callable_(layers, "layers")
    ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (lo, hi, step))
    lo_, hi_ = checks.real(lo, "lo"), checks.real(hi, "hi")
    if not lo_ < hi_:
        raise ValueError(f"lo, hi: must satisfy lo < hi, got ({lo_}, {hi_})")
    step_ = checks.real(step, "step", positive=True)
    start = lo_ if value is None else checks.real(value, "value", lo=lo_, hi=hi_)
    Slider = widgets.IntSlider if ints else widgets.FloatSlider
    cast = int if ints else float
    slider = Slider(value=cast(start), min=cast(lo_), max=cast(hi_), step=cast(step_),
                    description=label or param, continuous_update=False)
    out = widgets.Output()

    def redraw(v: Any) -> None:
        chart = slider_chart(frames(fn, [v], param=param, label=label), layers, title=title, width=width,
                             height=height)
        fig = InteractiveFigure(chart.to_dict(), f"{name}-live")
        if os.environ.get(STATIC_ENV) == "1":  # no frontend would route the output into the widget
            return
        out.clear_output(wait=True)
        with out:
            display(fig)

    redraw(cast(start))
    slider.observe(lambda change: redraw(change["new"]), names="value")
    return widgets.VBox([slider, out])


def live(fn: Callable[[Any], Any], layers: Callable[[Any], Any], **kwargs: Any) -> Any:
    """Build :func:`build_live`'s explorer and display it, unless notebooks are being executed for the static
    book (``KEXUE_STATIC=1``), where the widget is built (its code runs) but not shown.  Returns the widget."""
    box = build_live(fn, layers, **kwargs)
    if os.environ.get(STATIC_ENV) != "1":
        from IPython.display import display

        display(box)
    return box


def spec_from_html(html: str) -> dict[str, Any] | None:
    """The Vega-Lite spec inside an :class:`InteractiveFigure`'s HTML, or ``None`` for any other HTML."""
    if not isinstance(html, str) or "data-kexue-figure" not in html:
        return None
    m = re.search(r'<script type="application/json" id="kexue-fig-[a-z0-9-]+-spec">(.*?)</script>', html, re.S)
    if m is None:
        raise ValueError("html: an interactive figure without its spec element")
    return json.loads(m.group(1).replace("<\\/", "</"))


def html_without_spec(html: str) -> str:
    """An :class:`InteractiveFigure`'s HTML with the spec's JSON taken out: the part that must match exactly."""
    return re.sub(r'(<script type="application/json" id="kexue-fig-[a-z0-9-]+-spec">).*?(</script>)', r"\1\2", html,
                  flags=re.S)


def compare_specs(ref: Any, test: Any, rtol: float, path: str = "spec") -> list[str]:
    """How ``test`` differs from the stored spec ``ref``: keys, strings and lengths exactly; numbers to ``rtol``
    of the largest magnitude in their list (a lone number: of itself).  Returns readable problems (none: same).
    """
    if isinstance(ref, dict):
        if not isinstance(test, dict) or set(ref) != set(test):
            return [f"{path}: keys {sorted(ref) if isinstance(ref, dict) else ref} != "
                    f"{sorted(test) if isinstance(test, dict) else test}"]
        return [p for k in sorted(ref) for p in compare_specs(ref[k], test[k], rtol, f"{path}.{k}")]
    if isinstance(ref, list):
        if not isinstance(test, list) or len(ref) != len(test):
            return [f"{path}: length {len(ref)} != {len(test) if isinstance(test, list) else type(test).__name__}"]
        nums = [abs(v) for v in ref if _is_number(v)]
        scale = max(nums, default=0.0)
        probs: list[str] = []
        for i, (r, t) in enumerate(zip(ref, test)):
            if _is_number(r) and _is_number(t):
                if abs(r - t) > rtol * scale:
                    probs.append(f"{path}[{i}]: {t!r} != {r!r} (beyond {rtol:g} x {scale:.4g})")
            else:
                probs.extend(compare_specs(r, t, rtol, f"{path}[{i}]"))
        return probs[:5] + ([f"{path}: ... {len(probs) - 5} more"] if len(probs) > 5 else [])
    if _is_number(ref) and _is_number(test):
        return [] if abs(ref - test) <= rtol * abs(ref) else [f"{path}: {test!r} != {ref!r}"]
    return [] if ref == test and type(ref) is type(test) else [f"{path}: {test!r} != {ref!r}"]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
