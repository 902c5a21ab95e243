"""The claims ledger: every statement a chapter makes is checked through it.

A chapter opens ``claims = Ledger("01")`` and states each claim with one of

* :meth:`Ledger.symbolic` -- sympy proves ``lhs - rhs == 0`` (exact);
* :meth:`Ledger.close`    -- numbers/arrays agree: ``|a - e| <= atol + rtol |e|`` elementwise;
* :meth:`Ledger.holds`    -- a boolean fact computed by the chapter;
* :meth:`Ledger.pvalue`   -- a statistical test does not reject at level ``alpha``;
* :meth:`Ledger.within`   -- a value lies in a closed interval ``[lo, hi]`` (from theory or the article);
* :meth:`Ledger.mean`     -- a mean over seeds, ± z standard errors, lies in ``[lo, hi]``.

A false claim raises :class:`ClaimError` naming the id, the method and the discrepancy; nothing is
recorded quietly.  :meth:`Ledger.table` renders the checked claims as the chapter's last output, with a
machine-readable copy under the MIME type ``CLAIMS_MIME`` from which ``book/claims.md`` is built.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

import numpy as np
import sympy as sp

__all__ = ["CLAIMS_MIME", "Claim", "ClaimError", "ClaimsTable", "Ledger", "compare_tables", "format_error"]

#: MIME type of the JSON copy of a chapter's claims table (read by ``.ci/make_claims_page.py``).
from kexue._mystnb import CLAIMS_MIME

# Simplification chain tried in order by Ledger.symbolic; the first that reaches 0 is recorded.  None of them
# assumes more than the symbols' own assumptions (no ``force=True``: it treats every symbol as positive).
_SIMPLIFIERS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("simplify", sp.simplify),
    ("expand", sp.expand),
    ("trigsimp", sp.trigsimp),
    ("expand_complex", lambda e: sp.simplify(sp.expand_complex(e))),
    ("logcombine", lambda e: sp.simplify(sp.logcombine(sp.expand_log(e)))),
)

#: How many points the numeric route of :meth:`Ledger.symbolic` tries, and the digits it works with.
SYMBOLIC_POINTS, SYMBOLIC_DIGITS = 8, 30


class ClaimError(AssertionError):
    """A claim of the text is false: raised with the claim's id, method and discrepancy."""

    def __init__(self, claim_id: str, method: str, discrepancy: str) -> None:
        self.claim_id, self.method, self.discrepancy = claim_id, method, discrepancy
        super().__init__(f"claim {claim_id!r} failed ({method}): {discrepancy}")


@dataclass(frozen=True)
class Claim:
    """One checked claim: what was stated, how it was checked, and how far from failing it is.

    ``margin`` is the discrepancy divided by what the check allows (``close``: the largest
    ``|a - e| / (atol + rtol |e|)``; ``within``: the distance from the interval's centre in half-widths, or
    for a one-sided interval ``1 - gap/|bound|``; ``mean``: ``z / t`` where the mean lies ``t`` standard errors
    from the nearer bound; ``pvalue``: ``alpha / p``).  A claim passes
    with ``margin <= 1``; ``None`` where no such number exists (``symbolic``, ``holds``).
    """

    id: str
    statement: str
    method: str
    error: str
    detail: str = ""
    kind: str = ""
    margin: float | None = None


def format_error(x: float) -> str:
    """Format a discrepancy with two significant digits (``0`` prints as ``0``)."""
    if not math.isfinite(x):
        return str(x)
    return "0" if x == 0 else f"{x:.1e}"


def format_margin(m: float | None) -> str:
    """A margin for the table: two significant digits, ``-`` when there is none."""
    if m is None:
        return "-"
    if not math.isfinite(m):
        return str(m)
    return "0" if m == 0 else f"{m:.2g}"


# -- argument checks -------------------------------------------------------------------------------------
def _real(x: Any, name: str, claim_id: str) -> int | float:
    """A real scalar argument as a Python int (kept exact) or float; bools, strings and complex refused."""
    if isinstance(x, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} of claim {claim_id!r} must be a real number, got {type(x).__name__} {x!r}")
    if isinstance(x, int):  # Python ints of any size, kept exact
        return x
    try:
        arr = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - anything not array-like is a type error
        raise TypeError(f"{name} of claim {claim_id!r} must be a real number, got {type(x).__name__}") from exc
    if arr.shape != () or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} of claim {claim_id!r} must be a real scalar, got {type(x).__name__} "
                        f"of dtype {arr.dtype} and shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return int(arr.item())
    return float(arr.item())


def _tolerance(x: Any, name: str, claim_id: str, *, below_one: bool = False) -> float:
    """A finite, non-negative tolerance (``rtol`` also below 1: a relative error of 100 % states nothing)."""
    v = float(_real(x, name, claim_id))
    if not math.isfinite(v) or v < 0 or (below_one and v >= 1):
        bound = "in [0, 1)" if below_one else "finite and >= 0"
        raise ValueError(f"{name} of claim {claim_id!r} must be {bound}, got {x!r}")
    return v


def _bounds(lo: Any, hi: Any, claim_id: str) -> tuple[int | float, int | float]:
    """An interval ``[lo, hi]`` that can fail: no NaN, not empty, not infinite on both sides."""
    lo, hi = _real(lo, "lo", claim_id), _real(hi, "hi", claim_id)
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"interval of claim {claim_id!r} has a NaN bound: [{lo}, {hi}]")
    if not lo <= hi:
        raise ValueError(f"interval of claim {claim_id!r} is empty: lo={lo} > hi={hi}")
    if math.isinf(lo) and math.isinf(hi):
        raise ValueError(f"interval of claim {claim_id!r} is unbounded on both sides: it cannot fail")
    return lo, hi


def _interval_margin(a: float, b: float, lo: float, hi: float) -> float | None:
    """How far ``[a, b]`` (a point when ``a == b``) is from leaving ``[lo, hi]``, in the units of the claim."""
    if math.isfinite(lo) and math.isfinite(hi):
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        far = max(abs(a - mid), abs(b - mid))
        return (0.0 if far == 0 else math.inf) if half == 0 else far / half
    bound, gap = (hi, hi - b) if math.isfinite(hi) else (lo, a - lo)
    return None if bound == 0 else max(0.0, 1.0 - gap / abs(bound))


# -- the numeric route of Ledger.symbolic ----------------------------------------------------------------
_SIGNED = ("positive", "negative", "nonnegative", "nonpositive", "nonzero")
_SUPPORTED = {"integer", "rational", "real", "extended_real", "complex", "imaginary", "even", "odd", *_SIGNED}


def _point_value(sym: sp.Symbol, k: int, j: int, rng: np.random.Generator) -> sp.Expr | None:
    """A value for ``sym`` at point ``k`` that satisfies its assumptions (``None`` if not sampled).

    Real symbols without a sign take both signs: at point ``k`` symbol ``j`` is negative when bit ``j`` of
    ``k`` is set, so eight points cover every sign pattern of three symbols.
    """
    true = {a for a, v in sym.assumptions0.items() if v}
    if any(a in true for a in ("prime", "composite", "irrational", "transcendental", "zero", "infinite")):
        return None
    negative = bool(sym.is_negative or sym.is_nonpositive) or (
        not (sym.is_positive or sym.is_nonnegative) and (k >> (j % 8)) & 1)
    sign = -1 if negative else 1
    if sym.is_integer:
        n = int(rng.integers(1, 6))
        n = 2 * n if sym.is_even else (2 * n + 1 if sym.is_odd else n)
        return sp.Integer(sign * n)
    mag = sp.Rational(int(rng.integers(11, 260)), 97)
    if sym.is_imaginary:
        return sign * mag * sp.I
    if sym.is_real is not True:  # complex: both parts, all four quadrants over the points
        im = sp.Rational(int(rng.integers(11, 260)), 89) * (-1 if (k >> ((j + 1) % 8)) & 1 else 1)
        return sign * mag + im * sp.I
    return sign * mag


def _numeric_points(diff: Any, claim_id: str) -> list[dict]:
    """Points (symbol -> exact value) respecting each symbol's assumptions; empty if any symbol is exotic."""
    symbols = sorted(diff.free_symbols, key=lambda s: s.name)
    if any(not isinstance(s, sp.Symbol) for s in symbols):
        return []
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(claim_id.encode()).digest()[:4], "big"))
    points = []
    for k in range(SYMBOLIC_POINTS):
        point = {s: _point_value(s, k, j, rng) for j, s in enumerate(symbols)}
        if any(v is None for v in point.values()):
            return []
        points.append(point)
    return points


def _evaluate(expr: Any, point: dict) -> complex | None:
    """``expr`` at ``point`` to ``SYMBOLIC_DIGITS`` digits, or ``None`` where it is not a finite number."""
    try:
        v = sp.N(expr.xreplace(point), SYMBOLIC_DIGITS)
        if not v.is_number or v.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            return None
        c = complex(v)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, RecursionError):
        return None
    return c if math.isfinite(c.real) and math.isfinite(c.imag) else None


def _counterexample(lhs: Any, rhs: Any, claim_id: str) -> tuple[int, str | None]:
    """Evaluate ``lhs - rhs`` at random points that respect the assumptions: (points evaluated, refutation)."""
    pairs = list(zip(lhs, rhs)) if isinstance(lhs, sp.MatrixBase) else [(lhs, rhs)]
    free = set().union(*(sp.sympify(a - b).free_symbols for a, b in pairs))
    probe = sp.Matrix([a - b for a, b in pairs]) if free else sp.Matrix([0])
    points = _numeric_points(probe, claim_id) if free else [{}]
    used = 0
    for point in points:
        for a, b in pairs:
            va, vb = _evaluate(a, point), _evaluate(b, point)
            if va is None or vb is None:
                break
            if abs(va - vb) > 1e-12 * (1.0 + abs(va) + abs(vb)):
                shown = ", ".join(f"{s}={v}" for s, v in point.items())
                return used, f"lhs - rhs = {va - vb:.6g} at {shown or 'the constants'}"
        else:
            used += 1
    return used, None


class Ledger:
    """The claims of one chapter, checked as they are stated.

    Args:
        chapter: the chapter's number or slug, e.g. ``"01"``; it names the chapter in ``book/claims.md``.
    """

    def __init__(self, chapter: str) -> None:
        if not isinstance(chapter, str) or not chapter.strip():
            raise ValueError(f"chapter must be a non-empty string, got {chapter!r}")
        self.chapter = chapter
        self._claims: dict[str, Claim] = {}

    # -- bookkeeping ---------------------------------------------------------------------------
    @property
    def claims(self) -> list[Claim]:
        """The claims checked so far, in the order they were stated."""
        return list(self._claims.values())

    def __len__(self) -> int:
        return len(self._claims)

    def _record(self, claim: Claim) -> Claim:
        self._claims[claim.id] = claim
        return claim

    def _check_id(self, claim_id: str, statement: str) -> None:
        if not isinstance(claim_id, str) or not claim_id.strip():
            raise ValueError(f"id must be a non-empty string, got {claim_id!r}")
        if claim_id in self._claims:
            raise ValueError(f"id {claim_id!r} was already used in chapter {self.chapter!r}")
        if not isinstance(statement, str) or not statement.strip():
            raise ValueError(f"statement of claim {claim_id!r} must be a non-empty string")

    # -- the kinds of check --------------------------------------------------------------------
    def symbolic(self, id: str, lhs: Any, rhs: Any = 0, *, statement: str) -> Claim:
        """Prove ``lhs == rhs`` with sympy, and test it numerically by an independent route.

        1. *Numeric route.* ``lhs - rhs`` is evaluated to 30 digits at eight points whose values respect
           each symbol's assumptions (a real symbol takes both signs, a complex one all four quadrants).
           A point where ``|lhs - rhs| > 1e-12 (1 + |lhs| + |rhs|)`` refutes the claim at once.
        2. *Proof.* ``simplify(lhs - rhs)`` must reach 0; if it does not, ``expand``, ``trigsimp``,
           ``expand_complex`` and ``logcombine`` (never ``force=True``) are tried in turn, and the one that
           succeeded is recorded in the method.  A simplifier that raises counts as not reaching 0.

        Matrices are compared entrywise (empty matrices are refused).  Raises :class:`ClaimError` when the
        numeric route refutes the claim or no simplifier proves it.
        """
        self._check_id(id, statement)
        try:
            if isinstance(lhs, sp.MatrixBase) or isinstance(rhs, sp.MatrixBase):
                lhs = sp.Matrix(lhs)
                rhs = sp.zeros(*lhs.shape) if not isinstance(rhs, sp.MatrixBase) and rhs == 0 else sp.Matrix(rhs)
                if lhs.shape != rhs.shape:
                    raise sp.ShapeError(f"shapes {lhs.shape} and {rhs.shape} differ")
                if 0 in lhs.shape:
                    raise ValueError("empty matrices")
                diff: Any = lhs - rhs
            else:
                lhs, rhs = sp.sympify(lhs, strict=True), sp.sympify(rhs, strict=True)
                diff = lhs - rhs
        except (TypeError, ValueError, sp.SympifyError, sp.ShapeError, AttributeError) as exc:
            raise TypeError(f"lhs and rhs of claim {id!r} must be sympy expressions or non-empty "
                            f"matrices of one shape: {exc}") from exc
        used, refutation = _counterexample(lhs, rhs, id)
        if refutation:
            raise ClaimError(id, "numeric route", refutation)
        route = "" if not used else ("; equal numerically" if not diff.free_symbols
                                     else f"; equal at {used} random points")
        for name, simplifier in _SIMPLIFIERS:
            try:
                reduced = diff.applyfunc(simplifier) if isinstance(diff, sp.MatrixBase) else simplifier(diff)
                done = _is_zero(reduced)
            except Exception:  # noqa: BLE001 - a simplifier that fails has not proved the claim
                continue
            if done:
                return self._record(Claim(id, statement, f"sympy {name}{route}", "0 (exact)", kind="symbolic"))
        raise ClaimError(id, "sympy", f"no simplifier reduces lhs - rhs to 0 (it stays {_shown(diff)})")

    def close(self, id: str, actual: Any, expected: Any, *, statement: str, rtol: float = 1e-7,
              atol: float = 0.0) -> Claim:
        """Check ``|actual - expected| <= atol + rtol * |expected|`` elementwise (arrays allowed).

        ``expected`` must be finite and ``0 <= rtol < 1``, ``atol`` finite; NaN or inf in ``actual`` fails.
        The comparison is made after scaling both sides by ``s = max(1, |actual|, |expected|)``, so it cannot
        overflow.  The recorded error is the largest absolute difference (and the largest relative one when
        ``expected`` has no zeros); the margin is the largest ``|a - e| / (atol + rtol |e|)``.
        """
        self._check_id(id, statement)
        rtol = _tolerance(rtol, "rtol", id, below_one=True)
        atol = _tolerance(atol, "atol", id)
        if rtol == 0 and atol == 0:
            raise ValueError(f"rtol and atol of claim {id!r} must not both be 0")
        a, e = np.asarray(actual), np.asarray(expected)
        if a.shape != e.shape:
            raise ValueError(f"actual and expected of claim {id!r} differ in shape: {a.shape} vs {e.shape}")
        if a.dtype.kind not in "iufc" or e.dtype.kind not in "iufc":
            raise TypeError(f"actual and expected of claim {id!r} must be numeric, got {a.dtype} and {e.dtype}")
        if a.size == 0:
            raise ValueError(f"claim {id!r} compares empty arrays")
        a = a.astype(np.result_type(a.dtype, np.float64))
        e = e.astype(np.result_type(e.dtype, np.float64))
        if not np.all(np.isfinite(e)):
            raise ValueError(f"expected of claim {id!r} must be finite (state a non-finite fact with holds)")
        if not np.all(np.isfinite(a)):
            raise ClaimError(id, "close", f"actual contains {np.sum(~np.isfinite(a))} non-finite value(s)")
        s = max(1.0, float(np.max(np.abs(a))), float(np.max(np.abs(e))))
        d, allow = np.abs(a / s - e / s), atol / s + rtol * np.abs(e / s)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(allow > 0, d / np.where(allow > 0, allow, 1.0), np.where(d > 0, np.inf, 0.0))
        margin = float(np.max(ratio))
        max_abs = float(np.max(d)) * s
        err = f"abs {format_error(max_abs)}"
        if np.all(e != 0):
            err += f", rel {format_error(float(np.max(d / np.abs(e / s))))}"
        method = f"numeric (rtol={rtol:g}, atol={atol:g})"
        if not bool(np.all(d <= allow)):
            raise ClaimError(id, method, f"max |actual - expected| = {max_abs:.3e} ({err}; margin {margin:.3g}); "
                                         f"actual {_short(a)} vs expected {_short(e)}")
        return self._record(Claim(id, statement, method, err, kind="close", margin=margin))

    def holds(self, id: str, condition: Any, *, statement: str, detail: str = "") -> Claim:
        """Check a boolean fact: a Python, NumPy or JAX bool (0-d), or a sympy ``true``/``false``.

        ``detail`` says what was seen (it is shown in the table; keep its numbers rounded).
        """
        self._check_id(id, statement)
        if isinstance(condition, sp.logic.boolalg.BooleanAtom):
            condition = bool(condition)
        elif not isinstance(condition, bool) and hasattr(condition, "__array__"):
            arr = np.asarray(condition)
            if arr.shape != () or arr.dtype != np.bool_:
                raise TypeError(f"condition of claim {id!r} must be a bool, got an array of dtype {arr.dtype} "
                                f"and shape {arr.shape}")
            condition = bool(arr)
        if not isinstance(condition, (bool, np.bool_)):
            raise TypeError(f"condition of claim {id!r} must be a bool, got {type(condition).__name__}")
        if not isinstance(detail, str):
            raise TypeError(f"detail of claim {id!r} must be a string, got {type(detail).__name__}")
        if not condition:
            raise ClaimError(id, "holds", f"condition is False{': ' + detail if detail else ''}")
        return self._record(Claim(id, statement, "boolean", "-", detail, kind="holds"))

    def pvalue(self, id: str, p: float, *, statement: str, alpha: float = 1e-3) -> Claim:
        """A seeded statistical test of the claim (as null hypothesis) must not reject: ``p >= alpha``."""
        self._check_id(id, statement)
        alpha = float(_real(alpha, "alpha", id))
        if not 0 < alpha < 1:
            raise ValueError(f"alpha of claim {id!r} must lie in (0, 1), got {alpha}")
        p = float(_real(p, "p", id))
        if not 0 <= p <= 1:
            raise ValueError(f"p of claim {id!r} must be a probability, got {p}")
        method = f"test (alpha={alpha:g})"
        if p < alpha:
            raise ClaimError(id, method, f"p = {p:.3e} < alpha = {alpha:g}: the data reject it")
        return self._record(Claim(id, statement, method, f"p = {p:.2f}", kind="pvalue", margin=alpha / p))

    def within(self, id: str, value: float, lo: float, hi: float, *, statement: str) -> Claim:
        """Check ``lo <= value <= hi`` for a finite real ``value`` (integers are compared exactly).

        One bound may be infinite (a one-sided claim), not both.  Use it for a bound that comes from
        theory or from the article; for a fact about repeated runs use :meth:`mean`.
        """
        self._check_id(id, statement)
        value = _real(value, "value", id)
        lo, hi = _bounds(lo, hi, id)
        method = f"in [{lo:.4g}, {hi:.4g}]"
        if not math.isfinite(value):
            raise ClaimError(id, "within", f"value is {value}, not a finite number")
        if not lo <= value <= hi:
            gap = lo - value if value < lo else value - hi
            raise ClaimError(id, "within", f"{value:.6g} lies outside [{lo:.6g}, {hi:.6g}] by {float(gap):.3e}")
        margin = _interval_margin(float(value), float(value), float(lo), float(hi))
        return self._record(Claim(id, statement, method, f"value {value:.4g}", kind="within", margin=margin))

    def mean(self, id: str, samples: Any, *, statement: str, lo: float = -math.inf, hi: float = math.inf,
             z: float = 3.0) -> Claim:
        """A fact about a mean over repeated runs (seeds): ``[m - z se, m + z se]`` lies inside ``[lo, hi]``.

        ``m`` is the sample mean of ``samples`` (at least 3 finite reals, one per seed or repetition) and
        ``se = std(samples, ddof=1) / sqrt(n)`` its standard error.  ``lo``/``hi`` must come from theory or
        the article, never from the run; one of them may be infinite (a one-sided claim), not both.  The margin
        is ``z / t``, where the mean lies ``t`` standard errors from the nearer bound.
        """
        self._check_id(id, statement)
        x = np.asarray(samples)
        if x.dtype.kind not in "iuf":
            raise TypeError(f"samples of claim {id!r} must be real numbers, got dtype {x.dtype}")
        x = x.astype(float).ravel()
        if x.size < 3:
            raise ValueError(f"samples of claim {id!r} must hold at least 3 values, got {x.size}")
        z = float(_real(z, "z", id))
        if not 0 < z < math.inf:
            raise ValueError(f"z of claim {id!r} must be positive and finite, got {z}")
        lo, hi = _bounds(lo, hi, id)
        method = f"mean of {x.size} ± {z:g} se in [{lo:.4g}, {hi:.4g}]"
        if not np.all(np.isfinite(x)):
            raise ClaimError(id, "mean", f"{int(np.sum(~np.isfinite(x)))} of the samples are not finite")
        m, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))
        a, b = m - z * se, m + z * se
        if not (lo <= a and b <= hi):
            raise ClaimError(id, "mean", f"mean {m:.6g} ± {z:g}·{se:.3g} (n={x.size}) is not inside "
                                         f"[{lo:.6g}, {hi:.6g}]")
        gap = min(m - lo, hi - m)  # distance from the mean to the nearer bound
        margin = 0.0 if gap == math.inf else (z * se / gap if gap > 0 else math.inf)
        return self._record(Claim(id, statement, method, f"mean {m:.4g} ± {se:.2g}", kind="mean", margin=margin))

    # -- output ------------------------------------------------------------------------------
    def table(self) -> "ClaimsTable":
        """The chapter's claims as a displayable table (HTML, text and a JSON copy)."""
        if not self._claims:
            raise ValueError(f"chapter {self.chapter!r} has no checked claims to tabulate")
        return ClaimsTable(self.chapter, self.claims)


def _is_zero(expr: Any) -> bool:
    """True when a sympy expression or matrix is identically zero (structurally, after simplifying)."""
    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    return bool(sp.sympify(expr) == 0)


def _shown(diff: Any) -> str:
    """A short string of an unproved difference (not simplified again: that may take minutes)."""
    text = str(diff)
    return text if len(text) <= 200 else text[:200] + "…"


def _short(x: np.ndarray) -> str:
    """A compact repr of an array for error messages."""
    return np.array2string(np.asarray(x), precision=6, threshold=6, edgeitems=2)


@dataclass(frozen=True)
class ClaimsTable:
    """A chapter's checked claims; displays as an HTML table and carries a JSON copy (``CLAIMS_MIME``)."""

    chapter: str
    claims: list[Claim]

    def to_json(self) -> dict[str, Any]:
        """The machine-readable copy: ``{"chapter": ..., "claims": [{id, statement, method, error, ...}]}``."""
        return {"chapter": self.chapter, "claims": [asdict(c) for c in self.claims]}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The JSON copy is stored as JSON text (a string), so that the stored notebook diffs readably; nbval
        # compares it semantically through chapters/conftest.py (see compare_tables), never as text.
        payload = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)
        return {"text/plain": self.__str__(), "text/html": self._html(), CLAIMS_MIME: payload}

    def __str__(self) -> str:
        rows = [f"{c.id} | {c.statement} | {c.method} | {c.error} | {format_margin(c.margin)}" for c in self.claims]
        return f"{self._caption()}:\n" + "\n".join(rows)

    def _caption(self) -> str:
        n = len(self.claims)
        return f"{n} claim{'s' * (n != 1)} checked in chapter {self.chapter}"

    def _html(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{h}</th>" for h in ("id", "claim", "checked by", "error", "margin"))
        body = "".join(
            f"<tr><td><code>{esc(c.id)}</code></td><td>{esc(c.statement)}"
            + (f"<br><small>{esc(c.detail)}</small>" if c.detail else "")
            + f"</td><td>{esc(c.method)}</td><td>{esc(c.error)}</td><td>{esc(format_margin(c.margin))}</td></tr>"
            for c in self.claims
        )
        return (f'<table class="kexue-claims"><caption>{esc(self._caption())}</caption>'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


# -- comparing a stored table with a fresh run (used by nbval through chapters/conftest.py) --------------
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf\b|nan\b")

#: Precision of the semantic comparison: numbers inside texts agree to ``TEXT_RTOL`` relative (or are both
#: below ``NOISE``); margins agree to ``MARGIN_ATOL`` of the allowance, or are both at most ``COMFORTABLE``
#: (the claim holds with its allowance at least doubled: a margin that small is a statistic of float32
#: training or of rounding, which moves from one machine to the next, and its meaning -- far from failing --
#: does not).
TEXT_RTOL, NOISE, MARGIN_ATOL, COMFORTABLE = 1e-2, 1e-9, 0.1, 0.5


def _same_number(a: float, b: float) -> bool:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return max(abs(a), abs(b)) <= NOISE or abs(a - b) <= TEXT_RTOL * max(abs(a), abs(b))


def _text_difference(stored: str, fresh: str) -> str | None:
    """``None`` when two texts agree word for word and number for number (to ``TEXT_RTOL``)."""
    if _NUMBER.split(stored) != _NUMBER.split(fresh):
        return f"{stored!r} became {fresh!r}"
    for x, y in zip(_NUMBER.findall(stored), _NUMBER.findall(fresh)):
        if not _same_number(float(x), float(y)):
            return f"{x} became {y} in {fresh!r}"
    return None


def _margin_difference(stored: Any, fresh: Any) -> str | None:
    if stored is None or fresh is None:
        return None if stored is fresh else f"margin {stored} became {fresh}"
    a, b = float(stored), float(fresh)
    if a == b or (math.isfinite(a) and math.isfinite(b) and (abs(a - b) <= MARGIN_ATOL or max(a, b) <= COMFORTABLE)):
        return None
    return (f"margin {a:.3g} became {b:.3g} (more than {MARGIN_ATOL} of the allowance apart, and not both "
            f"<= {COMFORTABLE})")


def compare_tables(stored: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """Differences that matter between a stored claims table and a fresh run's (empty when they agree).

    The same claims, in the same order, with the same kind, statement, method and detail (numbers in them to
    ``TEXT_RTOL`` relative), and margins within ``MARGIN_ATOL`` of each other or both at most ``COMFORTABLE``.  The error column is not compared: it is
    rounding noise for exact results and is summarised by the margin otherwise.  A failed claim never reaches
    a table (the ledger raises), so equal tables mean equal verdicts.
    """
    problems: list[str] = []
    if stored.get("chapter") != fresh.get("chapter"):
        problems.append(f"chapter {stored.get('chapter')!r} became {fresh.get('chapter')!r}")
    ids_s = [c["id"] for c in stored.get("claims", [])]
    ids_f = [c["id"] for c in fresh.get("claims", [])]
    if ids_s != ids_f:
        gone, new = [i for i in ids_s if i not in ids_f], [i for i in ids_f if i not in ids_s]
        return problems + [f"claim ids differ: missing {gone}, new {new}" if gone or new
                           else "claims are stated in another order"]
    for s, f in zip(stored["claims"], fresh["claims"]):
        for field in ("kind", "statement", "method", "detail"):
            if (why := _text_difference(str(s.get(field, "")), str(f.get(field, "")))) is not None:
                problems.append(f"{s['id']}: {field}: {why}")
        if (why := _margin_difference(s.get("margin"), f.get("margin"))) is not None:
            problems.append(f"{s['id']}: {why}")
    return problems


def _as_table(data: Any) -> dict[str, Any]:
    """A claims table from its stored JSON text (or already-parsed dict)."""
    return json.loads(data) if isinstance(data, str) else dict(data)


def compare_bundles(stored: Iterable[Any], fresh: Iterable[Any]) -> list[str]:
    """Compare the claims JSON copies of a stored cell's outputs and a fresh run's (see compare_tables)."""
    s, f = [_as_table(x) for x in stored], [_as_table(x) for x in fresh]
    if len(s) != len(f):
        return [f"{len(s)} claims table(s) stored, {len(f)} displayed by the fresh run"]
    return [p for a, b in zip(s, f) for p in compare_tables(a, b)]
