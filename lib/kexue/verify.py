"""The claims ledger: every statement a chapter makes is checked through it.

A chapter opens ``claims = Ledger("01")`` and states each claim with one of

* :meth:`Ledger.symbolic` -- sympy proves ``lhs - rhs == 0`` (exact);
* :meth:`Ledger.close`    -- numbers/arrays agree: ``|a - e| <= atol + rtol |e|`` elementwise;
* :meth:`Ledger.holds`    -- a boolean fact computed by the chapter;
* :meth:`Ledger.pvalue`   -- a statistical test does not reject at level ``alpha``;
* :meth:`Ledger.within`   -- a value lies in a closed interval ``[lo, hi]``.

A false claim raises :class:`ClaimError` naming the id, the method and the discrepancy; nothing is
recorded quietly.  :meth:`Ledger.table` renders the checked claims as the chapter's last output, with a
machine-readable copy under the MIME type ``CLAIMS_MIME`` from which ``book/claims.md`` is built.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import sympy as sp

__all__ = ["CLAIMS_MIME", "Claim", "ClaimError", "ClaimsTable", "Ledger", "format_error"]

#: MIME type of the JSON copy of a chapter's claims table (read by ``.ci/make_claims_page.py``).
from kexue._mystnb import CLAIMS_MIME

# Simplification chain tried in order by Ledger.symbolic; the first that reaches 0 is recorded.
_SIMPLIFIERS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("simplify", sp.simplify),
    ("expand", sp.expand),
    ("trigsimp", sp.trigsimp),
    ("expand_complex", lambda e: sp.simplify(sp.expand_complex(e))),
    ("logcombine(force)", lambda e: sp.simplify(sp.logcombine(sp.expand_log(e, force=True), force=True))),
)


class ClaimError(AssertionError):
    """A claim of the text is false: raised with the claim's id, method and discrepancy."""

    def __init__(self, claim_id: str, method: str, discrepancy: str) -> None:
        self.claim_id, self.method, self.discrepancy = claim_id, method, discrepancy
        super().__init__(f"claim {claim_id!r} failed ({method}): {discrepancy}")


@dataclass(frozen=True)
class Claim:
    """One checked claim: what was stated, how it was checked, and how far from failing it is."""

    id: str
    statement: str
    method: str
    error: str
    detail: str = ""


def format_error(x: float) -> str:
    """Format a discrepancy with two significant digits (``0`` prints as ``0``)."""
    if not math.isfinite(x):
        return str(x)
    return "0" if x == 0 else f"{x:.1e}"


def _is_zero(expr: Any) -> bool:
    """True when a sympy expression or matrix is identically zero (structurally, after simplifying)."""
    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    return bool(sp.sympify(expr) == 0)


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

    # -- the five kinds of check ---------------------------------------------------------------
    def symbolic(self, id: str, lhs: Any, rhs: Any = 0, *, statement: str) -> Claim:
        """Prove ``lhs == rhs`` with sympy: ``simplify(lhs - rhs) == 0``.

        If ``simplify`` alone does not reach 0, ``expand``, ``trigsimp``, ``expand_complex`` and
        ``logcombine(force=True)`` are tried in turn; the one that succeeded is recorded in the method.
        Matrices are compared entrywise.  Raises :class:`ClaimError` when none reaches 0.
        """
        self._check_id(id, statement)
        try:
            if isinstance(lhs, sp.MatrixBase) or isinstance(rhs, sp.MatrixBase):
                lhs_m = sp.Matrix(lhs)
                rhs_m = sp.zeros(*lhs_m.shape) if not isinstance(rhs, sp.MatrixBase) and rhs == 0 else sp.Matrix(rhs)
                diff = lhs_m - rhs_m
            else:
                diff = sp.sympify(lhs) - sp.sympify(rhs)
        except (TypeError, ValueError, sp.SympifyError, sp.ShapeError) as exc:
            raise TypeError(f"lhs and rhs of claim {id!r} must be sympy expressions or matrices: {exc}") from exc
        for name, simplifier in _SIMPLIFIERS:
            reduced = diff.applyfunc(simplifier) if isinstance(diff, sp.MatrixBase) else simplifier(diff)
            if _is_zero(reduced):
                return self._record(Claim(id, statement, f"sympy {name}", "0 (exact)"))
        shown = sp.simplify(diff)
        raise ClaimError(id, "sympy", f"lhs - rhs simplifies to {shown}, not 0")

    def close(
        self,
        id: str,
        actual: Any,
        expected: Any,
        *,
        statement: str,
        rtol: float = 1e-7,
        atol: float = 0.0,
    ) -> Claim:
        """Check ``|actual - expected| <= atol + rtol * |expected|`` elementwise (arrays allowed).

        The recorded error is the largest absolute difference (and the largest relative one when
        ``expected`` has no zeros).  NaN or inf in ``actual`` fails.  Shapes must match exactly.
        """
        self._check_id(id, statement)
        if rtol < 0 or atol < 0 or (rtol == 0 and atol == 0):
            raise ValueError(f"rtol and atol of claim {id!r} must be >= 0 and not both 0 (got {rtol}, {atol})")
        a = np.asarray(actual)
        e = np.asarray(expected)
        if a.shape != e.shape:
            raise ValueError(f"actual and expected of claim {id!r} differ in shape: {a.shape} vs {e.shape}")
        if not (np.issubdtype(a.dtype, np.number) and np.issubdtype(e.dtype, np.number)):
            raise TypeError(f"actual and expected of claim {id!r} must be numeric, got {a.dtype} and {e.dtype}")
        if a.size == 0:
            raise ValueError(f"claim {id!r} compares empty arrays")
        a = a.astype(np.result_type(a.dtype, np.float64))
        e = e.astype(np.result_type(e.dtype, np.float64))
        if not np.all(np.isfinite(a)):
            raise ClaimError(id, "close", f"actual contains {np.sum(~np.isfinite(a))} non-finite value(s)")
        abs_err = np.abs(a - e)
        max_abs = float(np.max(abs_err))
        ok = bool(np.all(abs_err <= atol + rtol * np.abs(e)))
        err = f"abs {format_error(max_abs)}"
        if np.all(e != 0):
            err += f", rel {format_error(float(np.max(abs_err / np.abs(e))))}"
        method = f"numeric (rtol={rtol:g}, atol={atol:g})"
        if not ok:
            raise ClaimError(id, method, f"max |actual - expected| = {max_abs:.3e} ({err}); "
                                         f"actual {_short(a)} vs expected {_short(e)}")
        return self._record(Claim(id, statement, method, err))

    def holds(self, id: str, condition: Any, *, statement: str, detail: str = "") -> Claim:
        """Check a boolean fact (a Python or NumPy bool, or a sympy ``true``); ``detail`` says what was seen."""
        self._check_id(id, statement)
        if isinstance(condition, (np.ndarray,)) and condition.shape == ():
            condition = condition.item()
        if isinstance(condition, sp.logic.boolalg.BooleanAtom):
            condition = bool(condition)
        if not isinstance(condition, (bool, np.bool_)):
            raise TypeError(f"condition of claim {id!r} must be a bool, got {type(condition).__name__}")
        if not condition:
            raise ClaimError(id, "holds", f"condition is False{': ' + detail if detail else ''}")
        return self._record(Claim(id, statement, "boolean", "-", detail))

    def pvalue(self, id: str, p: float, *, statement: str, alpha: float = 1e-3) -> Claim:
        """A seeded statistical test of the claim (as null hypothesis) must not reject: ``p >= alpha``."""
        self._check_id(id, statement)
        if not 0 < alpha < 1:
            raise ValueError(f"alpha of claim {id!r} must lie in (0, 1), got {alpha}")
        p = float(p)
        if not 0 <= p <= 1:
            raise ValueError(f"p of claim {id!r} must be a probability, got {p}")
        if p < alpha:
            raise ClaimError(id, f"test (alpha={alpha:g})", f"p = {p:.3e} < alpha = {alpha:g}: the data reject it")
        return self._record(Claim(id, statement, f"test (alpha={alpha:g})", f"p = {p:.2f}"))

    def within(self, id: str, value: float, lo: float, hi: float, *, statement: str) -> Claim:
        """Check ``lo <= value <= hi`` (a range, e.g. an estimate ± a multiple of its standard error)."""
        self._check_id(id, statement)
        value, lo, hi = float(value), float(lo), float(hi)
        if not lo <= hi:
            raise ValueError(f"interval of claim {id!r} is empty: lo={lo} > hi={hi}")
        if not lo <= value <= hi:
            gap = lo - value if value < lo else value - hi
            raise ClaimError(id, "within", f"{value:.6g} lies outside [{lo:.6g}, {hi:.6g}] by {gap:.3e}")
        return self._record(Claim(id, statement, f"in [{lo:.4g}, {hi:.4g}]", f"value {value:.4g}"))

    # -- output ------------------------------------------------------------------------------
    def table(self) -> "ClaimsTable":
        """The chapter's claims as a displayable table (HTML, text and a JSON copy)."""
        if not self._claims:
            raise ValueError(f"chapter {self.chapter!r} has no checked claims to tabulate")
        return ClaimsTable(self.chapter, self.claims)


def _short(x: np.ndarray) -> str:
    """A compact repr of an array for error messages."""
    return np.array2string(np.asarray(x), precision=6, threshold=6, edgeitems=2)


@dataclass(frozen=True)
class ClaimsTable:
    """A chapter's checked claims; displays as an HTML table and carries a JSON copy (``CLAIMS_MIME``)."""

    chapter: str
    claims: list[Claim]

    def to_json(self) -> dict[str, Any]:
        """The machine-readable copy: ``{"chapter": ..., "claims": [{id, statement, method, error, detail}]}``."""
        return {"chapter": self.chapter, "claims": [asdict(c) for c in self.claims]}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The JSON copy is stored as JSON *text*, so that nbval's sanitizer sees it like the HTML and text
        # (it masks rounding-level errors, below 1e-9, which differ in the last bits across machines).
        payload = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)
        return {"text/plain": self.__str__(), "text/html": self._html(), CLAIMS_MIME: payload}

    def __str__(self) -> str:
        rows = [f"{c.id} | {c.statement} | {c.method} | {c.error}" for c in self.claims]
        return f"{self._caption()}:\n" + "\n".join(rows)

    def _caption(self) -> str:
        n = len(self.claims)
        return f"{n} claim{'s' * (n != 1)} checked in chapter {self.chapter}"

    def _html(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{h}</th>" for h in ("id", "claim", "checked by", "error"))
        body = "".join(
            f"<tr><td><code>{esc(c.id)}</code></td><td>{esc(c.statement)}"
            + (f"<br><small>{esc(c.detail)}</small>" if c.detail else "")
            + f"</td><td>{esc(c.method)}</td><td>{esc(c.error)}</td></tr>"
            for c in self.claims
        )
        return (f'<table class="kexue-claims"><caption>{esc(self._caption())}</caption>'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
