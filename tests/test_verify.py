"""kexue.verify: true claims are recorded, false claims of every kind raise ClaimError, bad input is rejected."""

import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from kexue.verify import CLAIMS_MIME, ClaimError, Ledger, format_error

x, y = sp.symbols("x y")


@pytest.fixture
def claims() -> Ledger:
    return Ledger("t")


# ---- symbolic -----------------------------------------------------------------------------
def test_symbolic_true_identity(claims):
    c = claims.symbolic("a", sp.sin(x) ** 2 + sp.cos(x) ** 2, 1, statement="Pythagoras")
    assert c.method == "sympy simplify" and c.error == "0 (exact)"


def test_symbolic_records_fallback(claims):
    c = claims.symbolic("log", sp.log(x * y), sp.log(x) + sp.log(y), statement="log of a product")
    assert c.method == "sympy logcombine(force)"


def test_symbolic_matrices(claims):
    a, b = sp.symbols("a b")
    M = sp.Matrix([[a, b], [0, a]])
    claims.symbolic("m", M * M, sp.Matrix([[a**2, 2 * a * b], [0, a**2]]), statement="square of a Jordan-like block")
    claims.symbolic("m0", M - M, statement="M - M = 0 (rhs defaults to 0)")


def test_symbolic_false_raises(claims):
    with pytest.raises(ClaimError, match=r"'bad'.*sympy.*simplifies to"):
        claims.symbolic("bad", (x + 1) ** 2, x**2 + 1, statement="a false binomial")
    assert len(claims) == 0


def test_symbolic_false_matrix_raises(claims):
    with pytest.raises(ClaimError):
        claims.symbolic("bad", sp.Matrix([[x, 0]]), sp.Matrix([[0, x]]), statement="swap")


def test_symbolic_rejects_non_sympy(claims):
    with pytest.raises(TypeError, match="'s'"):
        claims.symbolic("s", object(), 1, statement="nonsense")


# ---- close ---------------------------------------------------------------------------------
def test_close_scalar_and_error_report(claims):
    c = claims.close("e", np.exp(1.0), 2.718281828459045, rtol=1e-14, statement="e")
    assert c.error.startswith("abs ")


def test_close_arrays_complex(claims):
    a = np.array([1 + 1j, 2.0])
    claims.close("c", a * (1 + 1e-13), a, rtol=1e-12, statement="complex arrays")


def test_close_false_raises_with_discrepancy(claims):
    with pytest.raises(ClaimError, match=r"'v'.*numeric.*max \|actual - expected\| = 1\.000e-03"):
        claims.close("v", [1.0, 2.001], [1.0, 2.0], rtol=1e-6, statement="off by 1e-3")


def test_close_nan_raises(claims):
    with pytest.raises(ClaimError, match="non-finite"):
        claims.close("n", np.nan, 1.0, atol=1.0, statement="nan")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(actual=[1.0, 2.0], expected=[1.0]), ValueError, "shape"),
        (dict(actual=1.0, expected=1.0, rtol=0.0, atol=0.0), ValueError, "rtol"),
        (dict(actual=1.0, expected=1.0, rtol=-1.0), ValueError, "rtol"),
        (dict(actual="a", expected="a"), TypeError, "numeric"),
        (dict(actual=[], expected=[]), ValueError, "empty"),
    ],
)
def test_close_bad_input(claims, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        claims.close("b", statement="bad input", **kwargs)


@given(st.floats(-1e6, 1e6), st.floats(1e-12, 1e-3))
def test_close_matches_allclose(value, rtol):
    """close passes exactly when numpy.allclose(atol=0) does."""
    perturbed = value * (1 + 2 * rtol)
    ledger = Ledger("p")
    if np.allclose(perturbed, value, rtol=rtol, atol=0):
        ledger.close("x", perturbed, value, rtol=rtol, statement="s")
    else:
        with pytest.raises(ClaimError):
            ledger.close("x", perturbed, value, rtol=rtol, statement="s")


# ---- holds / pvalue / within -----------------------------------------------------------------
def test_holds(claims):
    claims.holds("t", np.array(3) > 2, statement="numpy bool", detail="3 > 2")
    claims.holds("s", sp.Integer(2) > 1, statement="sympy true")
    with pytest.raises(ClaimError, match=r"'f'.*holds.*because"):
        claims.holds("f", 1 > 2, statement="false", detail="because")
    with pytest.raises(TypeError, match="bool"):
        claims.holds("arr", np.array([True, True]), statement="an array is not a bool")


def test_pvalue(claims):
    c = claims.pvalue("ok", 0.42, statement="fair coin", alpha=1e-3)
    assert c.error == "p = 0.42"
    with pytest.raises(ClaimError, match="reject"):
        claims.pvalue("rej", 1e-5, statement="biased coin")
    with pytest.raises(ValueError, match="probability"):
        claims.pvalue("p", 1.5, statement="not a p")
    with pytest.raises(ValueError, match="alpha"):
        claims.pvalue("a", 0.5, statement="bad alpha", alpha=0)


def test_within(claims):
    claims.within("in", 1.0, 0.5, 1.5, statement="inside")
    with pytest.raises(ClaimError, match=r"outside \[0\.5, 1\.5\] by 5\.000e-01"):
        claims.within("out", 2.0, 0.5, 1.5, statement="outside")
    with pytest.raises(ValueError, match="empty"):
        claims.within("e", 1.0, 2.0, 1.0, statement="empty interval")


# ---- ids, table ------------------------------------------------------------------------------
def test_ids_unique_and_statements_required(claims):
    claims.holds("dup", True, statement="first")
    with pytest.raises(ValueError, match="already used"):
        claims.holds("dup", True, statement="second")
    with pytest.raises(ValueError, match="statement"):
        claims.holds("nostmt", True, statement=" ")
    with pytest.raises(ValueError, match="id"):
        claims.holds("", True, statement="s")
    with pytest.raises(ValueError, match="chapter"):
        Ledger("")


def test_table_bundle_roundtrips(claims):
    claims.holds("a", True, statement="x < y & z", detail="d")
    claims.close("b", 1.0, 1.0, rtol=1e-9, statement="one")
    bundle = claims.table()._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", CLAIMS_MIME}
    data = json.loads(bundle[CLAIMS_MIME])
    assert data["chapter"] == "t" and [c["id"] for c in data["claims"]] == ["a", "b"]
    assert "x &lt; y &amp; z" in bundle["text/html"] and "2 claims" in bundle["text/plain"]


def test_empty_table_raises(claims):
    with pytest.raises(ValueError, match="no checked claims"):
        claims.table()


def test_format_error():
    assert format_error(0.0) == "0" and format_error(1.234e-9) == "1.2e-09" and format_error(float("inf")) == "inf"
