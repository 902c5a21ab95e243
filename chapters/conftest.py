"""nbval compares the claims table (each chapter's last output) semantically, not as text.

The table's numbers (rounding-level errors, float32 training outcomes) differ in their last digits from one
machine to the next; its meaning does not.  For every cell, outputs that carry the claims JSON copy
(``application/vnd.kexue.claims+json``) are taken out of nbval's text comparison and compared with
:func:`kexue.verify.compare_bundles` instead: the same ids in the same order, the same kinds, statements,
methods and details (numbers to 1 %), margins to 0.1 of the allowance or both at most 0.5 (comfortably
passing: such margins are statistics of float32 training or rounding and move between machines).  Every
other output is compared by nbval as usual.
"""

from __future__ import annotations

from typing import Any

from nbval.plugin import IPyNbCell

from kexue.verify import CLAIMS_MIME, compare_bundles

_nbval_compare = IPyNbCell.compare_outputs


def _split(outputs: list[Any]) -> tuple[list[Any], list[Any]]:
    """(claims JSON copies, all other outputs) of one cell."""
    tables = [o["data"][CLAIMS_MIME] for o in outputs if CLAIMS_MIME in o.get("data", {})]
    rest = [o for o in outputs if CLAIMS_MIME not in o.get("data", {})]
    return tables, rest


def _compare_outputs(self: IPyNbCell, test: list[Any], ref: list[Any], skip_compare: Any = None) -> bool:
    test_tables, test_rest = _split(test)
    ref_tables, ref_rest = _split(ref)
    ok = _nbval_compare(self, test_rest, ref_rest, skip_compare)
    problems = compare_bundles(ref_tables, test_tables)
    if problems:
        self.comparison_traceback.append("claims table differs in meaning from the stored one:")
        self.comparison_traceback.extend(f"  {p}" for p in problems)
    return ok and not problems


IPyNbCell.compare_outputs = _compare_outputs
