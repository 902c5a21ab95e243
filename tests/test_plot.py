"""Tests for kexue.plot (Agg backend, no display)."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

from kexue.plot import BOOK_DPI, use_book_style, vector_field  # noqa: E402


def rotation(x, y):
    return -y, x


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_book_style_png_and_modest_dpi():
    with matplotlib.rc_context():
        applied = use_book_style()
        assert matplotlib.rcParams["figure.dpi"] == BOOK_DPI <= 110
        assert matplotlib.rcParams["savefig.dpi"] <= 110
        assert applied["font.size"] >= 10


def test_stream_field_with_trajectories(ax):
    t = np.linspace(0, np.pi, 20)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    artists = vector_field(ax, rotation, (-2, 2), (-1.5, 1.5), trajectories=[circle, 0.5 * circle],
                           trajectory_color=["C1", "C2"])
    assert isinstance(artists.field.lines, LineCollection)
    assert len(artists.trajectories) == 2
    np.testing.assert_allclose(artists.trajectories[0].get_xydata(), circle)
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.5, 1.5)


def test_quiver_field_is_unit_length(ax):
    artists = vector_field(ax, lambda x, y: (3 * x, 0.01 * y + 1), (-1, 1), (-1, 1), kind="quiver", grid=7)
    assert isinstance(artists.field, Quiver)
    np.testing.assert_allclose(np.hypot(artists.field.U, artists.field.V), 1.0, rtol=1e-12)
    assert artists.trajectories == []


@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        (dict(xlim=(1, 0)), ValueError, "xlim"),
        (dict(xlim=(1, 1)), ValueError, "xlim"),
        (dict(ylim=(0, np.inf)), ValueError, "ylim"),
        (dict(xlim=(np.nan, 1)), ValueError, "xlim"),
        (dict(xlim=3), ValueError, "xlim"),
        (dict(xlim=(0, 1, 2)), ValueError, "xlim"),
        (dict(xlim=None), TypeError, "xlim"),
        (dict(xlim=("0", "1")), TypeError, "xlim"),  # strings were converted by float()
        (dict(xlim=(False, True)), TypeError, "xlim"),  # bools were read as (0, 1)
        (dict(ylim=(0j, 1)), TypeError, "ylim"),
        (dict(xlim=(-1e308, 1e308)), ValueError, "xlim"),  # hi - lo overflowed: NaN mesh
        (dict(xlim=(-1e200, 1e200)), ValueError, "xlim"),  # matplotlib's arrows square the coordinates
        (dict(xlim=(1e15, 1e15 + 1)), ValueError, "xlim"),  # 25 points not distinct: "'x' must be strictly ..."
        (dict(xlim=(0, 1e-305)), ValueError, "xlim"),  # streamplot's 1/dx overflowed
        (dict(xlim=(0, 1e-290)), ValueError, "xlim"),  # matplotlib silently showed (-0.05, 0.05)
        (dict(kind="arrows"), ValueError, "kind"),
        (dict(kind=None), ValueError, "kind"),
        (dict(grid=1), ValueError, "grid"),
        (dict(grid=10**6), ValueError, "grid"),
        (dict(grid=True), TypeError, "grid"),
        (dict(grid=25.0), TypeError, "grid"),
        (dict(color="notacolor"), ValueError, "color"),
        (dict(color="notacolor", kind="quiver"), ValueError, "color"),
        (dict(trajectories=None), TypeError, "trajectories"),
        (dict(trajectories=np.zeros((5, 2))), ValueError, "trajectories"),  # one path, not a list of paths
        (dict(trajectories=[np.zeros((5, 3))]), ValueError, r"trajectories\[0\]"),
        (dict(trajectories=[np.zeros((1, 2))]), ValueError, r"trajectories\[0\]"),
        (dict(trajectories=[np.zeros((3, 2)), np.array([[0.0, 0.0], [np.nan, 1.0]])]), ValueError, r"trajectories\[1\]"),
        (dict(trajectories=[np.array([[0.0, 0.0], [np.inf, 1.0]])]), ValueError, r"trajectories\[0\]"),
        (dict(trajectories=[np.zeros((3, 2)) + 1j]), TypeError, r"trajectories\[0\]"),
        (dict(trajectories=["ab"]), TypeError, r"trajectories\[0\]"),
        (dict(trajectories=[np.zeros((3, 2))], trajectory_color=["C0", "C1"]), ValueError, "trajectory_color"),
        (dict(trajectories=[np.zeros((3, 2))], trajectory_color="nocolor"), ValueError, r"trajectory_color\[0\]"),
        (dict(trajectories=[np.zeros((3, 2))], trajectory_color=None), TypeError, "trajectory_color"),
        (dict(trajectories=[np.zeros((3, 2))], start_marker="no"), TypeError, "start_marker"),
        (dict(f=lambda x, y: (x[0], y)), ValueError, "f"),
        (dict(f=lambda x, y: (1.0, 0.0)), ValueError, "f"),
        (dict(f=lambda x, y: x), ValueError, "f"),
        (dict(f=lambda x, y: None), ValueError, "f"),
        (dict(f=lambda x, y: (x, y, x)), ValueError, "f"),
        (dict(f=lambda x, y: (x + 1j, y)), TypeError, "f"),  # the imaginary part was dropped with a warning
        (dict(f=lambda x, y: (x > 0, y)), TypeError, "f"),
        (dict(f=lambda x, y: ("a", y)), TypeError, "f"),
        (dict(f=lambda x, y: (x / 0.0, y)), ValueError, "f"),
        (dict(f=None), TypeError, "f"),
        (dict(ax=None), TypeError, "ax"),
        (dict(ax="figure"), TypeError, "ax"),
    ],
)
def test_vector_field_rejects_bad_input_and_leaves_ax_untouched(ax, kwargs, exc, name):
    args = dict(ax=ax, f=rotation, xlim=(-1, 1), ylim=(-1, 1)) | kwargs
    target, f, xlim, ylim = args.pop("ax"), args.pop("f"), args.pop("xlim"), args.pop("ylim")
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(exc, match=f"^{name}:"):
        vector_field(target, f, xlim, ylim, **args)
    assert not ax.lines and not ax.collections and not ax.patches  # nothing drawn before the error


def test_vector_field_names_the_first_bad_grid_point(ax):
    with pytest.raises(ValueError, match=r"^f: returned NaN/inf velocities at 1 grid point\(s\), e.g. \(x, y\) = \(0, 0\)"):
        vector_field(ax, lambda x, y: (np.where((x == 0) & (y == 0), np.nan, -y), x), (-1, 1), (-1, 1), grid=5)


def test_vector_field_trajectory_colour_forms(ax):
    t = np.linspace(0, 1, 5)
    paths = [np.stack([t, k * t], axis=1) for k in (0.5, 1.0, 2.0)]
    artists = vector_field(ax, rotation, (-1, 1), (-1, 1), trajectories=paths, trajectory_color=(0.1, 0.2, 0.3))
    assert [line.get_color() for line in artists.trajectories] == [(0.1, 0.2, 0.3)] * 3  # one RGB colour, not 3
    artists = vector_field(ax, rotation, (-1, 1), (-1, 1), trajectories=np.stack(paths), trajectory_color=["r", "g", "b"])
    assert [line.get_color() for line in artists.trajectories] == ["r", "g", "b"]  # a stacked (k, T, 2) array


def test_stream_colour_by_value_is_still_accepted(ax):
    artists = vector_field(ax, rotation, (-1, 1), (-1, 1), grid=9, color=np.ones((9, 9)))
    assert isinstance(artists.field.lines, LineCollection)


def _segments(artists):
    return [np.asarray(p.vertices) for p in artists.field.lines.get_paths()]


@settings(max_examples=5)
@given(st.integers(-1000, 1000))
def test_stream_lines_do_not_depend_on_the_speed_scale(k):
    """Stream lines depend only on the direction field; streamplot's (U/dx)² overflowed for huge speeds and tiny
    domains.  Scaling by a power of two must leave every line bitwise unchanged."""
    figs = [plt.subplots() for _ in range(2)]
    try:
        base = vector_field(figs[0][1], rotation, (-1, 1), (-1, 1), grid=12, density=0.3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            scaled = vector_field(figs[1][1], lambda x, y: tuple(np.ldexp(c, k) for c in rotation(x, y)), (-1, 1),
                                  (-1, 1), grid=12, density=0.3)
        a, b = _segments(base), _segments(scaled)
        assert len(a) == len(b) > 0 and all(np.array_equal(p, q) for p, q in zip(a, b))
    finally:
        for fig, _ in figs:
            plt.close(fig)


@pytest.mark.parametrize("speed", [1.5e308, 1e-300, 5e-324])
def test_quiver_unit_arrows_at_extreme_speeds(ax, speed):
    """hypot overflowed at 1.5e308 and every arrow became 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        artists = vector_field(ax, lambda x, y: (speed * np.sign(x + 0.5), speed * np.ones_like(y)), (-1, 1), (-1, 1),
                               kind="quiver", grid=4)
    np.testing.assert_allclose(np.hypot(artists.field.U, artists.field.V), 1.0, rtol=1e-12)


def test_small_and_large_domains_draw(ax):
    for lim in ((0.0, 1e-270), (9e149, 1e150), (-1e-3, 1e-3), (1e6, 1e6 + 1e-3)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            vector_field(ax, lambda x, y: (-(y - lim[0]), x - lim[0]), lim, lim, grid=8,
                         trajectories=[np.array([lim, lim])])
            ax.figure.canvas.draw()
        assert ax.get_xlim() == lim
        ax.clear()
