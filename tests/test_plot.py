"""Tests for kexue.plot (Agg backend, no display)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
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
    "kwargs, exc, word",
    [
        (dict(xlim=(1, 0)), ValueError, "xlim"),
        (dict(ylim=(0, np.inf)), ValueError, "ylim"),
        (dict(xlim=3), TypeError, "xlim"),
        (dict(kind="arrows"), ValueError, "kind"),
        (dict(grid=1), ValueError, "grid"),
        (dict(trajectories=[np.zeros((5, 3))]), ValueError, "trajectories"),
        (dict(trajectories=[np.zeros((1, 2))]), ValueError, "trajectories"),
        (dict(trajectories=[np.zeros((3, 2))], trajectory_color=["C0", "C1"]), ValueError, "trajectory_color"),
        (dict(f=lambda x, y: (x[0], y)), ValueError, "shape"),
        (dict(f=lambda x, y: (x / 0.0, y)), ValueError, "non-finite"),
    ],
)
def test_vector_field_rejects_bad_input(ax, kwargs, exc, word):
    args = dict(f=rotation, xlim=(-1, 1), ylim=(-1, 1)) | kwargs
    f, xlim, ylim = args.pop("f"), args.pop("xlim"), args.pop("ylim")
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(exc, match=word):
        vector_field(ax, f, xlim, ylim, **args)
