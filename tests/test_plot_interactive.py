"""Tests for the interactive figures of kexue.plot (frames, slider_chart, show, live) and kexue._sphinx."""

from __future__ import annotations

import json
import math

import altair as alt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kexue import _sphinx
from kexue import plot as kp

X = np.linspace(-2.0, 2.0, 11)


def gauss(t):
    return {"x": X, "y": np.exp(-X**2 / (2 * t * t)) / t}


def line_layers(base):
    return base.mark_line().encode(x="x:Q", y="y:Q")


def visible_frames(spec, value):
    """Which frame values the chart's filter keeps when the slider sits at ``value`` (evaluated in Python)."""
    expr = spec["transform"][1]["filter"] if "transform" in spec else spec["layer"][0]["transform"][1]["filter"]
    half = float(expr.rsplit("<", 1)[1])
    log = expr.startswith("abs(log(")
    vals = [r["_v"] for r in spec["datasets"]["frames"]]
    pos = [math.log10(v) if log else v for v in vals]
    return [v for v, p in zip(vals, pos) if abs(p - value) < half]


# ---------------------------------------------------------------- frames


def test_frames_keeps_columns_and_values():
    fr = kp.frames(gauss, np.linspace(0.5, 2.0, 4), param="tau", label="τ")
    assert fr.param == "tau" and fr.label == "τ" and fr.columns == ("x", "y") and not fr.log
    assert fr.values == (0.5, 1.0, 1.5, 2.0)
    assert [r["_v"] for r in fr.records] == list(fr.values)
    np.testing.assert_allclose(fr.records[1]["y"], gauss(1.0)["y"], rtol=5e-4)


def test_frames_integer_values_are_passed_as_int():
    seen = []
    fr = kp.frames(lambda k: seen.append(k) or {"k": [k]}, np.arange(1, 5), param="rank")
    assert seen == [1, 2, 3, 4] and all(type(k) is int for k in seen)
    assert fr.records[2]["k"] == [3]


def test_frames_several_tables():
    fr = kp.frames(lambda t: {"curve": gauss(t), "peak": {"x": [0.0], "label": [f"{t:.1f}"]}}, [1.0, 2.0], param="t")
    assert set(fr) == {"curve", "peak"}
    assert fr["peak"].records[1]["label"] == ["2.0"] and fr["curve"].values == (1.0, 2.0)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).filter(lambda v: abs(v) > 1e-12),
       st.integers(min_value=2, max_value=8))
def test_frames_round_to_significant_digits(v, digits):
    kept = kp.frames(lambda t: {"y": [v]}, [1.0], param="t", digits=digits).records[0]["y"][0]
    assert abs(kept - v) <= 0.5 * 10 ** (math.floor(math.log10(abs(v))) - digits + 1) * (1 + 1e-9)


@pytest.mark.parametrize("values, match", [
    ([1.0, 2.0, 4.0], "evenly spaced"),
    ([2.0, 1.0], "increasing"),
    ([1.0, 1.0], "increasing"),
    ([np.nan, 1.0], "NaN"),
])
def test_frames_refuses_values_a_slider_cannot_step(values, match):
    with pytest.raises(ValueError, match=f"^values: .*{match}"):
        kp.frames(gauss, values, param="tau")


def test_frames_log_spacing():
    fr = kp.frames(gauss, np.geomspace(0.25, 4, 5), param="kappa", log=True)
    assert fr.log
    with pytest.raises(ValueError, match="^values: must be positive"):
        kp.frames(gauss, [0.0, 1.0], param="kappa", log=True)
    with pytest.raises(ValueError, match="geometrically"):
        kp.frames(gauss, [1.0, 2.0, 3.0], param="kappa", log=True)


@pytest.mark.parametrize("fn, exc, match", [
    (lambda t: [1, 2], TypeError, r"^fn\(1.0\): expected a non-empty mapping"),
    (lambda t: {}, TypeError, r"^fn\(1.0\): expected a non-empty mapping"),
    (lambda t: {"x": [1.0, 2.0], "y": [1.0]}, ValueError, r"^fn\(1.0\): columns differ in length"),
    (lambda t: {"x": [1.0, np.nan]}, ValueError, r"^fn\(1.0\)\['x'\]: contains 1 NaN/inf value\(s\), e.g. at index 1"),
    (lambda t: {"x": "abc"}, TypeError, r"^fn\(1.0\)\['x'\]: expected a 1-D array"),
    (lambda t: {"x": [1 + 2j]}, TypeError, r"^fn\(1.0\)\['x'\]: expected a"),
    (lambda t: {"bad name": [1.0]}, ValueError, r"^fn\(1.0\): column names must be identifiers"),
    (lambda t: {"x": [1.0]} if t < 1.5 else {"z": [1.0]}, ValueError, r"^fn\(2.0\): returned tables/columns"),
])
def test_frames_names_the_bad_frame(fn, exc, match):
    with pytest.raises(exc, match=match):
        kp.frames(fn, [1.0, 2.0], param="t")


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"param": "1tau"}, ValueError, "^param:"),
    ({"param": "t", "label": 3}, TypeError, "^label:"),
    ({"param": "t", "log": "yes"}, TypeError, "^log:"),
    ({"param": "t", "digits": 1}, ValueError, "^digits:"),
])
def test_frames_checks_its_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        kp.frames(gauss, [1.0, 2.0], **kwargs)
    with pytest.raises(TypeError, match="^fn:"):
        kp.frames(3, [1.0], param="t")


# ---------------------------------------------------------------- slider_chart


@given(st.floats(min_value=-50, max_value=50), st.floats(min_value=1e-3, max_value=10), st.integers(2, 30),
       st.booleans())
def test_every_slider_position_shows_exactly_one_frame(start, span, n, log):
    values = np.geomspace(1e-2 * (1 + abs(start)), 1e-2 * (1 + abs(start)) * (1 + span), n) if log \
        else np.linspace(start, start + span, n)
    fr = kp.frames(lambda t: {"y": [1.0]}, values, param="p", log=log)
    spec = kp.slider_chart(fr, lambda b: b.mark_point().encode(y="y:Q")).to_dict()
    bind = spec["params"][0]["bind"]
    positions = bind["min"] + bind["step"] * np.arange(n)
    for i, p in enumerate(positions):
        assert visible_frames(spec, p) == [fr.values[i]]


def test_slider_chart_initial_value_and_book_config():
    fr = kp.frames(gauss, np.linspace(0.5, 2.0, 4), param="tau", label="τ")
    spec = kp.slider_chart(fr, line_layers, initial=1.5, title="T").to_dict()
    assert spec["params"][0]["value"] == 1.5 and spec["params"][0]["bind"]["name"] == "τ "
    assert spec["title"] == "T" and spec["config"]["range"]["category"]["scheme"] == "tableau10"
    with pytest.raises(ValueError, match="^initial: must be one of"):
        kp.slider_chart(fr, line_layers, initial=0.7)


def test_slider_chart_layers_and_tables():
    fr = kp.frames(lambda t: {"curve": gauss(t), "peak": {"x": [0.0]}}, [1.0, 2.0], param="t")
    spec = kp.slider_chart(fr, lambda b: [b["curve"].mark_line().encode(x="x:Q", y="y:Q"),
                                          b["peak"].mark_rule().encode(x="x:Q")]).to_dict()
    assert len(spec["layer"]) == 2 and spec["params"][0]["name"] == "t"


def test_layers_on_one_table_share_one_copy_of_its_data():
    fr = kp.frames(gauss, np.linspace(0.5, 2.0, 4), param="tau")
    one = json.dumps(kp.slider_chart(fr, line_layers).to_dict())
    two = json.dumps(kp.slider_chart(fr, lambda b: [line_layers(b), b.mark_point().encode(x="x:Q", y="y:Q")]).to_dict())
    assert len(two) - len(one) < 500


def test_panels_side_by_side_share_the_slider():
    fr = kp.frames(gauss, [1.0, 2.0], param="t")
    spec = kp.slider_chart(fr, lambda b: alt.hconcat(line_layers(b).properties(width=200), b.mark_point().encode(
        x="x:Q", y="y:Q").properties(width=200)), title="two").to_dict()
    assert len(spec["hconcat"]) == 2 and spec["params"][0]["name"] == "t" and "width" not in spec
    assert all(p["width"] == 200 for p in spec["hconcat"])


def test_single_frame_is_a_static_chart():
    spec = kp.slider_chart(kp.frames(gauss, [1.0], param="t"), line_layers).to_dict()
    assert "params" not in spec and all("filter" not in t for t in spec["transform"])


@pytest.mark.parametrize("args, kwargs, exc, match", [
    (("not frames", line_layers), {}, TypeError, "^fr:"),
    ((None, lambda b: 3), {}, TypeError, "^layers: must return"),
    ((None, line_layers), {"width": 10}, ValueError, "^width:"),
    ((None, line_layers), {"title": 3}, TypeError, "^title:"),
])
def test_slider_chart_checks_its_arguments(args, kwargs, exc, match):
    fr = kp.frames(gauss, [1.0, 2.0], param="t")
    args = tuple(fr if a is None else a for a in args)
    with pytest.raises(exc, match=match):
        kp.slider_chart(*args, **kwargs)


def test_tables_must_share_the_slider():
    a, b = kp.frames(gauss, [1.0, 2.0], param="t"), kp.frames(gauss, [1.0, 3.0], param="t")
    with pytest.raises(ValueError, match="^fr: the tables must share one slider"):
        kp.slider_chart({"a": a, "b": b}, lambda base: base["a"].mark_line())


# ---------------------------------------------------------------- the output: HTML, spec, comparison


def chart_with_labels(labels):
    fr = kp.frames(lambda t: {"x": np.arange(len(labels), dtype=float), "label": list(labels)}, [1.0, 2.0], param="t")
    return kp.slider_chart(fr, lambda b: b.mark_text().encode(x="x:Q", text="label:N"))


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5))
def test_spec_survives_the_html_round_trip(labels):
    fig = kp.InteractiveFigure(chart_with_labels(labels).to_dict(), "round-trip")
    html = fig.html()
    assert html.count("</script>") == 2  # a label such as "</script>" cannot end the spec element early
    assert kp.spec_from_html(html) == json.loads(json.dumps(fig.spec))
    assert kp.InteractiveFigure(chart_with_labels(labels).to_dict(), "round-trip").html() == html


def test_figure_html_is_stable_and_names_its_element():
    fig = kp.InteractiveFigure(chart_with_labels(["a"]).to_dict(), "my-figure", rtol=0.02)
    html = fig.html()
    assert 'id="kexue-fig-my-figure"' in html and 'data-kexue-figure="my-figure"' in html
    assert fig.spec["usermeta"]["kexue"] == {"name": "my-figure", "rtol": 0.02}
    assert set(fig._repr_mimebundle_()) == {"text/html", "text/plain"}
    assert kp.spec_from_html("<p>not a figure</p>") is None


@pytest.mark.parametrize("name", ["Has Caps", "under_score", "-lead", "", 3])
def test_figure_names_are_slugs(name):
    with pytest.raises(ValueError, match="^name:"):
        kp.InteractiveFigure(chart_with_labels(["a"]).to_dict(), name)


def test_show_refuses_non_charts():
    with pytest.raises(TypeError, match="^chart:"):
        kp.show({"$schema": "x"}, name="a")
    with pytest.raises(ValueError, match="^rtol:"):
        kp.show(chart_with_labels(["a"]), name="a", rtol=0.9)


def test_html_without_spec_keeps_the_script():
    html = kp.InteractiveFigure(chart_with_labels(["a"]).to_dict(), "f").html()
    bare = kp.html_without_spec(html)
    assert "vegaEmbed" in bare and '"$schema"' not in bare and kp.spec_from_html(html) is not None


def test_compare_specs():
    ref = {"data": {"values": [{"y": [1.0, 100.0, -3.0], "s": ["a", "b"]}]}, "width": 400}
    assert kp.compare_specs(ref, json.loads(json.dumps(ref)), 1e-3) == []
    near = {"data": {"values": [{"y": [1.05, 100.0, -3.0], "s": ["a", "b"]}]}, "width": 400}
    assert kp.compare_specs(ref, near, 1e-3) == []  # 0.05 is within 1e-3 of the list's scale 100
    far = {"data": {"values": [{"y": [1.2, 100.0, -3.0], "s": ["a", "b"]}]}, "width": 400}
    assert "beyond" in kp.compare_specs(ref, far, 1e-3)[0]
    for changed in ({"data": {"values": [{"y": [1.0, 100.0], "s": ["a", "b"]}]}, "width": 400},
                    {"data": {"values": [{"y": [1.0, 100.0, -3.0], "s": ["a", "c"]}]}, "width": 400},
                    {"data": {"values": [{"y": [1.0, 100.0, -3.0], "s": ["a", "b"]}]}, "width": 401},
                    {"data": {"values": [{"y": [1.0, 100.0, -3.0], "s": ["a", "b"]}]}}):
        assert kp.compare_specs(ref, changed, 1e-3), changed


# ---------------------------------------------------------------- live


def test_build_live_recomputes_with_the_chapter_function(monkeypatch):
    monkeypatch.delenv(kp.STATIC_ENV, raising=False)
    calls = []

    def fn(t):
        calls.append(t)
        return gauss(t)

    box = kp.build_live(fn, line_layers, param="tau", lo=0.5, hi=2.0, step=0.1, value=1.0, label="τ")
    slider = box.children[0]
    assert calls == [1.0] and slider.min == 0.5 and slider.max == 2.0 and slider.description == "τ"
    slider.value = 1.5
    assert calls == [1.0, 1.5]


def test_build_live_integer_slider_and_errors(monkeypatch):
    monkeypatch.setenv(kp.STATIC_ENV, "1")
    box = kp.build_live(lambda k: {"k": [k]}, lambda b: b.mark_point().encode(x="k:Q"), param="k", lo=1, hi=9, step=1)
    assert type(box.children[0].value) is int
    with pytest.raises(ValueError, match="^lo, hi:"):
        kp.build_live(gauss, line_layers, param="t", lo=2.0, hi=1.0, step=0.1)
    with pytest.raises(ValueError, match="^step:"):
        kp.build_live(gauss, line_layers, param="t", lo=1.0, hi=2.0, step=0.0)
    with pytest.raises(ValueError, match="^value:"):
        kp.build_live(gauss, line_layers, param="t", lo=1.0, hi=2.0, step=0.1, value=3.0)
    with pytest.raises(TypeError, match="^layers:"):
        kp.build_live(gauss, None, param="t", lo=1.0, hi=2.0, step=0.1)


def test_live_shows_nothing_when_executed_for_the_static_book(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a))
    monkeypatch.setenv(kp.STATIC_ENV, "1")
    kp.live(gauss, line_layers, param="t", lo=1.0, hi=2.0, step=0.1)
    assert shown == []
    monkeypatch.delenv(kp.STATIC_ENV)
    kp.live(gauss, line_layers, param="t", lo=1.0, hi=2.0, step=0.1)
    assert len(shown) == 2  # the figure into the widget's output, then the widget


# ---------------------------------------------------------------- the Sphinx extension


def test_mathjax_ships_with_the_package():
    src = _sphinx.mathjax_source()
    assert (src / "tex-chtml.js").stat().st_size > 500_000
    assert any((src / "output/chtml/fonts/woff-v2").glob("MathJax_Main-Regular.woff"))


def test_vega_bundle_is_a_scoped_classic_script():
    js = _sphinx.vega_bundle()
    assert js.startswith("(function () {") and js.rstrip().endswith("})();")
    assert "window.vegaEmbed=" in js.replace(" ", "")
    assert "https://" not in js.split("window.vegaEmbed")[0][:200]


class _App:
    def __init__(self):
        self.added = []

    def add_js_file(self, name, **kw):
        self.added.append(name)


class _JS:
    def __init__(self, filename, **attributes):
        self.filename, self.attributes = filename, attributes


def test_page_scripts_adds_vega_only_where_a_figure_is_and_drops_duplicates():
    app = _App()
    scripts = [_JS("a.js"), _JS(None, body="const X = 1"), _JS("", body="const X = 1"), _JS("a.js")]
    ctx = {"body": "<p>no figure</p>", "script_files": scripts}
    _sphinx._page_scripts(app, "p", "page.html", ctx, None)
    assert app.added == [] and [(s.filename, s.attributes) for s in ctx["script_files"]] == [
        ("a.js", {}), (None, {"body": "const X = 1"})]
    _sphinx._page_scripts(app, "p", "page.html", {"body": '<div data-kexue-figure="f">'}, None)
    assert app.added == [_sphinx.VEGA_PATH]
