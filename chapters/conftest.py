"""nbval compares the claims table and the interactive figures semantically, not as text.

The table's numbers (rounding-level errors, float32 training outcomes) differ in their last digits from one
machine to the next; its meaning does not.  For every cell, outputs that carry the claims JSON copy
(``application/vnd.kexue.claims+json``) are taken out of nbval's text comparison and compared with
:func:`kexue.verify.compare_bundles` instead: the same ids in the same order, the same kinds, statements,
methods and details (numbers to 1 %), margins to 0.1 of the allowance or both at most 0.5 (comfortably
passing: such margins are statistics of float32 training or rounding and move between machines).

Interactive figures (:func:`kexue.plot.show`) store their data in their HTML, to four significant digits;
a last digit can flip between machines.  Their Vega-Lite specs are read back from the HTML and compared with
:func:`kexue.plot.compare_specs`: the same structure, strings and lengths, numbers within the figure's
``rtol`` (stored in the spec) of the largest magnitude in their list; the rest of their HTML (the script that
draws them) must match exactly.  Every other output is compared by nbval as usual.
"""

from __future__ import annotations

from typing import Any

from nbval.plugin import IPyNbCell

from kexue.plot import compare_specs, html_without_spec, spec_from_html
from kexue.verify import CLAIMS_MIME, compare_bundles

_nbval_compare = IPyNbCell.compare_outputs


def _split(outputs: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """(claims JSON copies, interactive figures as (spec, HTML without the spec), all other outputs) of a cell."""
    tables, specs, rest = [], [], []
    for o in outputs:
        data = o.get("data", {})
        html = data.get("text/html", "")
        spec = spec_from_html(html)
        if CLAIMS_MIME in data:
            tables.append(data[CLAIMS_MIME])
        elif spec is not None:
            specs.append((spec, html_without_spec(html)))
        else:
            rest.append(o)
    return tables, specs, rest


def _compare_outputs(self: IPyNbCell, test: list[Any], ref: list[Any], skip_compare: Any = None) -> bool:
    test_tables, test_specs, test_rest = _split(test)
    ref_tables, ref_specs, ref_rest = _split(ref)
    ok = _nbval_compare(self, test_rest, ref_rest, skip_compare)
    problems = compare_bundles(ref_tables, test_tables)
    if problems:
        self.comparison_traceback.append("claims table differs in meaning from the stored one:")
        self.comparison_traceback.extend(f"  {p}" for p in problems)
    fig_problems = [f"{len(ref_specs)} stored interactive figure(s), {len(test_specs)} now"] \
        if len(ref_specs) != len(test_specs) else []
    for (r, r_html), (t, t_html) in zip(ref_specs, test_specs):
        rtol = float(r.get("usermeta", {}).get("kexue", {}).get("rtol", 0.0))
        fig_problems.extend(compare_specs(r, t, rtol))
        if r_html != t_html:
            fig_problems.append("its HTML around the spec (the drawing script) changed: re-run `make outputs`")
    if fig_problems:
        self.comparison_traceback.append("interactive figure differs from the stored one:")
        self.comparison_traceback.extend(f"  {p}" for p in fig_problems[:10])
    return ok and not problems and not fig_problems


IPyNbCell.compare_outputs = _compare_outputs
