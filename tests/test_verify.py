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
    assert c.method == "sympy simplify; equal at 8 random points" and c.error == "0 (exact)"


def test_symbolic_log_of_product_needs_positive_symbols(claims):
    p, q = sp.symbols("p q", positive=True)
    c = claims.symbolic("log", sp.log(p * q), sp.log(p) + sp.log(q), statement="log of a product")
    assert c.method.startswith("sympy ") and "8 random points" in c.method


def test_symbolic_matrices(claims):
    a, b = sp.symbols("a b")
    M = sp.Matrix([[a, b], [0, a]])
    claims.symbolic("m", M * M, sp.Matrix([[a**2, 2 * a * b], [0, a**2]]), statement="square of a Jordan-like block")
    claims.symbolic("m0", M - M, statement="M - M = 0 (rhs defaults to 0)")


def test_symbolic_false_raises(claims):
    with pytest.raises(ClaimError, match=r"'bad'.*numeric route.*lhs - rhs = "):
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


# ---- adversarial: false claims must not pass ------------------------------------------------------
xr, yr = sp.symbols("x_r y_r", real=True)
xc, yc = sp.symbols("x_c y_c")  # no assumptions: complex
n = sp.symbols("n", integer=True)

FALSE_IDENTITIES = [
    ("log(x^2) = 2 log x, x real", sp.log(xr**2), 2 * sp.log(xr)),
    ("log(x^2) = 2 log x, x negative", sp.log(sp.Symbol("x_n", negative=True) ** 2),
     2 * sp.log(sp.Symbol("x_n", negative=True))),
    ("log(xy) = log x + log y, complex", sp.log(xc * yc), sp.log(xc) + sp.log(yc)),
    ("log(x/y) = log x - log y, complex", sp.log(xc / yc), sp.log(xc) - sp.log(yc)),
    ("log(exp(x)) = x, complex", sp.log(sp.exp(xc)), xc),
    ("log(x^y) = y log x, complex", sp.log(xc**yc), yc * sp.log(xc)),
    ("log(i x) = log i + log x", sp.log(sp.I * xc), sp.log(sp.I) + sp.log(xc)),
    ("sqrt(x^2) = x, x real", sp.sqrt(xr**2), xr),
    ("(-1)^(2n) ... off by one", (-1) ** (2 * n + 1), 1),
    ("sin^4 + cos^4 = 1", sp.sin(xr) ** 4 + sp.cos(xr) ** 4, 1),
    ("sin^8 identity (false)", sp.sin(xr) ** 8 + sp.cos(xr) ** 8, 1 - 2 * sp.sin(xr) ** 2 * sp.cos(xr) ** 2),
    ("an unevaluated integral", sp.Integral(sp.exp(-xr**2) * sp.cos(yr * xr), (xr, 0, 1)), sp.Rational(1, 2)),
    ("an unevaluated sum", sp.Sum(1 / n**2, (n, 1, sp.oo)), sp.Rational(3, 2)),
    ("constants: pi = 22/7", sp.pi, sp.Rational(22, 7)),
]


@pytest.mark.parametrize(("name", "lhs", "rhs"), FALSE_IDENTITIES, ids=[f[0] for f in FALSE_IDENTITIES])
def test_symbolic_rejects_false_identities_quickly(name, lhs, rhs):
    import time

    t0 = time.perf_counter()
    with pytest.raises(ClaimError, match="'f'"):
        Ledger("t").symbolic("f", lhs, rhs, statement=name)
    assert time.perf_counter() - t0 < 5.0, "a false identity must be rejected in seconds"


TRUE_IDENTITIES = [
    ("log(x^2) = 2 log x, x positive", sp.log(sp.Symbol("x_p", positive=True) ** 2),
     2 * sp.log(sp.Symbol("x_p", positive=True))),
    ("log(exp(x)) = x, x real", sp.log(sp.exp(xr)), xr),
    ("sqrt(x^2) = |x|, x real", sp.sqrt(xr**2), sp.Abs(xr)),
    ("(-1)^(2n) = 1", (-1) ** (2 * n), 1),
    ("exp(ix) = cos x + i sin x, complex x", sp.exp(sp.I * xc), sp.cos(xc) + sp.I * sp.sin(xc)),
    ("sin^4 - cos^4 = -cos 2x", sp.sin(xr) ** 4 - sp.cos(xr) ** 4, -sp.cos(2 * xr)),
    ("Basel", sp.Sum(1 / n**2, (n, 1, sp.oo)), sp.pi**2 / 6),
]


@pytest.mark.parametrize(("name", "lhs", "rhs"), TRUE_IDENTITIES, ids=[t[0] for t in TRUE_IDENTITIES])
def test_symbolic_proves_true_identities(name, lhs, rhs):
    c = Ledger("t").symbolic("t", lhs, rhs, statement=name)
    assert c.kind == "symbolic" and c.error == "0 (exact)"


def test_symbolic_rejects_empty_matrices_and_mismatched_shapes(claims):
    with pytest.raises(TypeError, match="'e'.*non-empty"):
        claims.symbolic("e", sp.zeros(0, 0), sp.zeros(0, 0), statement="empty proves anything")
    with pytest.raises(TypeError, match="'s'"):
        claims.symbolic("s", sp.Matrix([[x, 0]]), sp.Matrix([[x], [0]]), statement="shapes")


def test_symbolic_rejects_strings(claims):
    with pytest.raises(TypeError, match="'str'"):
        claims.symbolic("str", "x + 1", "1 + x", statement="strings are not expressions")


@given(st.integers(1, 6), st.integers(-3, 3))
def test_symbolic_polynomial_perturbation_is_caught(degree, shift):
    """(x + 1)^d expanded is proved; the same plus a nonzero multiple of x is refuted."""
    lhs = (xr + 1) ** degree
    ledger = Ledger("p")
    ledger.symbolic("ok", lhs, sp.expand(lhs), statement="binomial")
    if shift:
        with pytest.raises(ClaimError):
            ledger.symbolic("bad", lhs, sp.expand(lhs) + shift * xr, statement="perturbed binomial")


@pytest.mark.parametrize(
    ("actual", "expected", "kwargs"),
    [
        (1.0, np.inf, dict(rtol=1e-3)),                          # any finite value against inf
        (-1.7e308, 1.7e308, dict(rtol=0.9)),                     # the comparison overflows
        (2.0, 1.0, dict(atol=np.inf)),
        (2.0, 1.0, dict(rtol=np.inf)),
        (2.0, 1.0, dict(rtol=1e300)),
        (2.0, 1.0, dict(rtol=1.0)),
        (2.0, 1.0, dict(rtol=True)),
        (1.0, 1.0, dict(rtol=np.nan)),
        (1.0, 1.0, dict(rtol="1e-3")),
        (True, True, dict(rtol=1e-3)),
        (np.array([np.inf]), np.array([np.inf]), dict(rtol=1e-3)),
    ],
)
def test_close_refuses_loopholes(claims, actual, expected, kwargs):
    with pytest.raises((ClaimError, ValueError, TypeError)):
        claims.close("l", actual, expected, statement="loophole", **kwargs)
    assert len(claims) == 0


def test_close_huge_values_compare_without_overflow(claims):
    claims.close("h", 1.7e308, 1.7e308 * (1 - 1e-12), rtol=1e-9, statement="huge but close")
    with pytest.raises(ClaimError):
        claims.close("h2", -1.7e308, 1.7e308, rtol=0.5, statement="huge and opposite")


@given(st.floats(-1e300, 1e300), st.floats(-1e300, 1e300), st.floats(1e-15, 0.5))
def test_close_agrees_with_exact_arithmetic(a, e, rtol):
    """The verdict equals |a - e| <= rtol |e| computed in exact rational arithmetic."""
    from fractions import Fraction

    truth = abs(Fraction(a) - Fraction(e)) <= Fraction(rtol) * abs(Fraction(e))
    ledger = Ledger("p")
    if truth:
        ledger.close("x", a, e, rtol=rtol, statement="s")
    else:
        with pytest.raises(ClaimError):
            ledger.close("x", a, e, rtol=rtol, statement="s")


def test_close_margin(claims):
    c = claims.close("m", 1.0 + 5e-7, 1.0, rtol=1e-6, statement="half the allowance")
    assert c.margin == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize(
    ("value", "lo", "hi", "exc"),
    [
        (1 + 1e-3j, 0.0, 2.0, TypeError),       # complex must not be truncated to its real part
        ("1", 0.0, 2.0, TypeError),
        (True, 0, 2, TypeError),
        (np.inf, 0.0, np.inf, ClaimError),      # inf inside an infinite interval
        (np.nan, 0.0, 1.0, ClaimError),
        (1.0, -np.inf, np.inf, ValueError),     # an interval that cannot fail
        (1.0, np.nan, 2.0, ValueError),
        (np.array([1.0, 2.0]), 0.0, 3.0, TypeError),
    ],
)
def test_within_refuses_loopholes(claims, value, lo, hi, exc):
    with pytest.raises(exc):
        claims.within("w", value, lo, hi, statement="loophole")
    assert len(claims) == 0


def test_within_integers_exact(claims):
    big = 2**53
    with pytest.raises(ClaimError):
        claims.within("big", big + 1, big, big, statement="2^53 + 1 is not 2^53")
    claims.within("bigok", np.int64(big + 1), big + 1, big + 1, statement="exact")


@given(st.integers(-(2**70), 2**70), st.integers(-(2**70), 2**70), st.integers(0, 2**70))
def test_within_integer_verdict_exact(v, lo, width):
    ledger = Ledger("p")
    hi = lo + width
    if lo <= v <= hi:
        ledger.within("x", v, lo, hi, statement="s")
    else:
        with pytest.raises(ClaimError):
            ledger.within("x", v, lo, hi, statement="s")


def test_within_margin(claims):
    assert claims.within("c", 1.0, 0.0, 2.0, statement="centre").margin == 0
    assert claims.within("e", 2.0, 0.0, 2.0, statement="edge").margin == 1
    assert claims.within("o", 0.5, -np.inf, 1.0, statement="one-sided").margin == pytest.approx(0.5)


@pytest.mark.parametrize("p", ["0.5", True, 0.5 + 0j, np.nan, np.array([0.5, 0.5])])
def test_pvalue_refuses_non_probabilities(claims, p):
    with pytest.raises((TypeError, ValueError)):
        claims.pvalue("p", p, statement="not a p-value")


def test_holds_accepts_jax_bools_both_ways(claims):
    import jax.numpy as jnp

    claims.holds("jt", jnp.array(2.0) > 1.0, statement="jax true")
    with pytest.raises(ClaimError):
        claims.holds("jf", jnp.array(2.0) < 1.0, statement="jax false")
    with pytest.raises(TypeError):
        claims.holds("ji", jnp.array(1), statement="a jax int is not a bool")
    with pytest.raises(TypeError):
        claims.holds("s", "True", statement="a string is not a bool")


# ---- mean ---------------------------------------------------------------------------------------
def test_mean_passes_and_fails_with_its_error_bar(claims):
    c = claims.mean("m", [0.9, 1.0, 1.1, 1.0], lo=0.5, statement="around 1")
    se = np.std([0.9, 1.0, 1.1, 1.0], ddof=1) / 2
    assert c.kind == "mean" and c.margin == pytest.approx(3 * se / 0.5)  # z / t, t = 0.5 / se
    with pytest.raises(ClaimError, match="'m2'.*mean"):
        claims.mean("m2", [0.9, 1.0, 1.1, 1.0], lo=0.95, statement="z·se reaches below the bound")
    with pytest.raises(ValueError, match="at least 3"):
        claims.mean("m3", [1.0, 1.0], lo=0.0, statement="too few seeds")
    with pytest.raises(ValueError, match="unbounded"):
        claims.mean("m4", [1.0, 1.0, 1.0], statement="cannot fail")
    with pytest.raises(ClaimError, match="not finite"):
        claims.mean("m5", [1.0, np.nan, 1.0], lo=0.0, statement="nan seed")
    with pytest.raises(TypeError):
        claims.mean("m6", [1j, 1.0, 1.0], lo=0.0, statement="complex")


# ---- semantic comparison of stored and fresh tables ------------------------------------------------
def _table(**overrides):
    ledger = Ledger("t")
    ledger.close("c", 1.0 + overrides.get("noise", 0.0), 1.0, rtol=1e-9, statement="one")
    ledger.within("w", overrides.get("value", 0.5), 0.0, 1.0, statement=overrides.get("statement", "a half"))
    ledger.holds("h", True, statement="true", detail=overrides.get("detail", "seen 0.1234"))
    return json.loads(ledger.table()._repr_mimebundle_()[CLAIMS_MIME])


def test_compare_tables_ignores_float_noise():
    from kexue.verify import compare_tables

    assert compare_tables(_table(), _table(noise=3e-16, value=0.52, detail="seen 0.1236")) == []


@pytest.mark.parametrize(
    "change",
    [dict(statement="a third"), dict(detail="seen 0.2"), dict(value=0.9), dict(noise=9e-10)],
)
def test_compare_tables_catches_changes_in_meaning(change):
    from kexue.verify import compare_tables

    assert compare_tables(_table(), _table(**change)) != []


def test_compare_tables_catches_missing_or_reordered_claims():
    from kexue.verify import compare_tables

    a = _table()
    b = json.loads(json.dumps(a))
    b["claims"] = b["claims"][::-1]
    assert compare_tables(a, b) == ["claims are stated in another order"]
    b["claims"] = b["claims"][:2]
    assert "missing" in compare_tables(a, b)[0]


def test_margins_compare_closely_near_failure_and_coarsely_when_comfortable():
    from kexue.verify import _margin_difference

    assert _margin_difference(0.08, 0.45) is None       # both hold with the allowance more than doubled
    assert _margin_difference(0.85, 0.93) is None       # near failing: within 0.1
    assert _margin_difference(0.45, 0.62) is not None   # one of them is no longer comfortable
    assert _margin_difference(0.2, None) is not None
