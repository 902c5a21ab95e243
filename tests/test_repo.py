"""The repository's own checks: notebook hygiene, the Colab cell, the generated claims page, pins, the toc."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from ci_scripts import load as load_ci

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


check = load_ci("check_notebooks")
claims_page = load_ci("make_claims_page")
URL = check.repository_url()


def test_there_are_chapters():
    assert CHAPTERS, "no chapter notebooks under chapters/"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_hygiene(path):
    assert check.problems(path, URL) == []


@pytest.fixture
def chapter_copy(tmp_path):
    """A writable copy of the first chapter, to break in the tests below."""
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    return nb, tmp_path / "copy.ipynb"


def test_unexecuted_notebook_fails(chapter_copy):
    nb, path = chapter_copy
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count, cell.outputs = None, []
    nbformat.write(nb, path)
    found = check.problems(path, URL)
    assert any("never executed" in p for p in found) and any("claims.table" in p for p in found)


def test_out_of_order_and_error_and_warning_fail(chapter_copy):
    nb, path = chapter_copy
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[1].execution_count = 99
    code[2].outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="", traceback=[])]
    code[3].outputs = [nbformat.v4.new_output("stream", name="stderr", text="x.py:1: UserWarning: careful\n")]
    code[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="saved to /home/alice/fig.png\n")]
    nbformat.write(nb, path)
    found = " | ".join(check.problems(path, URL))
    for needle in ("not 1..", "ZeroDivisionError", "UserWarning", "/home/alice"):
        assert needle in found


def test_colab_cell_must_match_config(chapter_copy):
    nb, path = chapter_copy
    nbformat.write(nb, path)
    assert not any("Colab" in p for p in check.problems(path, URL))
    assert any("Colab" in p for p in check.problems(path, "https://github.com/someone/else"))


def test_kernelspec_must_be_python3(chapter_copy):
    nb, path = chapter_copy
    nb = copy.deepcopy(nb)
    nb.metadata["kernelspec"]["name"] = "conda-env-jax-py"
    nbformat.write(nb, path)
    assert any("kernelspec" in p for p in check.problems(path, URL))


def test_claims_page_is_up_to_date():
    page = (ROOT / "book" / "claims.md").read_text(encoding="utf-8")
    assert page == claims_page.render(), "book/claims.md is stale: run `make claims` and commit it"


def test_every_chapter_is_in_the_toc_and_back():
    assert set(claims_page.toc_chapters()) == set(CHAPTERS)


def test_requirements_are_pinned_and_lib_bounds_loose():
    reqs = [l.split("#")[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    reqs = [r for r in reqs if r]
    assert reqs and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[\w.+\-]+", r) for r in reqs), reqs
    lib = (ROOT / "lib" / "pyproject.toml").read_text()
    deps = re.search(r"dependencies = \[(.*?)\]", lib, re.S).group(1)
    assert "==" not in deps and ">=" in deps


def test_config_keeps_colab_and_rendering_settings():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert cfg["execute"]["execute_notebooks"] == "off"
    assert cfg["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert cfg["sphinx"]["recursive_update"] is True


def _first_code_cells(nb, n):
    return [c for c in nb.cells if c.cell_type == "code"][1:n + 1]


def test_claims_in_hidden_cells_fail(chapter_copy):
    nb, path = chapter_copy
    cell = _first_code_cells(nb, 1)[0]
    cell.source += '\n_ = claims.holds("hidden", True, statement="x")'
    cell.metadata["tags"] = ["remove-cell"]
    nbformat.write(nb, path)
    assert any("hidden cell" in p for p in check.problems(path, URL))
    cell.metadata["tags"] = ["hide-input"]  # collapsed but visible: allowed
    nbformat.write(nb, path)
    assert not any("hidden cell" in p for p in check.problems(path, URL))


@pytest.mark.parametrize("line", [
    "k = jax.random.key(0)", "k = jax.random.PRNGKey(42)", "r = np.random.default_rng(7)",
    "m = KMeans(3, random_state=0)", "w = Word2Vec(s, seed=1)", "np.random.seed(3)", "x = np.random.rand(3)",
])
def test_literal_seeds_fail(chapter_copy, line):
    nb, path = chapter_copy
    _first_code_cells(nb, 1)[0].source += "\n" + line
    nbformat.write(nb, path)
    assert any("literal seed" in p for p in check.problems(path, URL)), line


@pytest.mark.parametrize("line", [
    'k = key("init")', 'r = rng("points")', 'm = KMeans(3, random_state=seed_for("kmeans"))',
    "k = jax.random.key(s)  # s from seeds()",
])
def test_seeds_from_the_book_seed_pass(chapter_copy, line):
    nb, path = chapter_copy
    cell = _first_code_cells(nb, 1)[0]
    cell.source = "import jax\nfrom kexue.seed import key, rng, seed_for\n" + line
    nbformat.write(nb, path)
    assert not any(p.startswith("code cell 2:") for p in check.problems(path, URL)), line


# ---- nbval compares claims tables semantically (chapters/conftest.py), end to end ------------------------
NB_CODE = """\
import numpy as np
from kexue.verify import Ledger
claims = Ledger("tiny")
_ = claims.close("c", np.sum(np.full(10, 0.1)), 1.0, rtol=1e-12, statement="ten tenths make one")
_ = claims.within("w", 0.5, 0.0, 1.0, statement="a half is in the unit interval")
claims.table()"""


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory):
    """An executed one-cell notebook with a claims table, beside a copy of chapters/conftest.py."""
    import shutil

    from nbclient import NotebookClient

    d = tmp_path_factory.mktemp("tiny")
    shutil.copy(ROOT / "chapters" / "conftest.py", d / "conftest.py")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NB_CODE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return d, nb


def _nbval(d, nb, edit=None):
    import json
    import subprocess
    import sys

    nb = copy.deepcopy(nb)
    out = nb.cells[0].outputs[-1]
    if edit:
        table = json.loads(out.data[claims_page.CLAIMS_MIME])
        edit(table)
        out.data[claims_page.CLAIMS_MIME] = json.dumps(table)
        out.data["text/html"] = out.data["text/plain"] = "a stale rendering: the table is compared by meaning"
    nbformat.write(nb, d / "tiny.ipynb")
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p",
                           "no:cacheprovider", "-q", "tiny.ipynb"], cwd=d, capture_output=True, text=True)


def test_semantic_comparison_passes_float_noise(tiny_book):
    def noise(t):
        t["claims"][0]["error"] = "abs 2.2e-16, rel 2.2e-16"
        t["claims"][0]["margin"] = 0.06

    r = _nbval(*tiny_book, edit=noise)
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("field,value", [("statement", "ten tenths make two"), ("margin", 0.9),
                                         ("method", "in [0, 0.75]")])
def test_semantic_comparison_catches_changed_meaning(tiny_book, field, value):
    def change(t):
        t["claims"][1][field] = value

    r = _nbval(*tiny_book, edit=change)
    assert r.returncode != 0 and "differs in meaning" in r.stdout, r.stdout


def test_semantic_comparison_catches_a_missing_claim(tiny_book):
    r = _nbval(*tiny_book, edit=lambda t: t["claims"].pop())
    assert r.returncode != 0 and "missing" in r.stdout, r.stdout


@pytest.fixture
def figure_chapter(tmp_path):
    """A writable copy of a chapter that has an interactive figure (issue 13's pilot, chapter 6)."""
    return nbformat.read(ROOT / "chapters" / "06_word_vector_dimension.ipynb", as_version=4), tmp_path / "fig.ipynb"


def _figure_outputs(nb):
    return [(c, o) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "data-kexue-figure" in o.get("data", {}).get("text/html", "")]


def test_a_chapter_without_an_interactive_figure_fails(figure_chapter):
    nb, path = figure_chapter
    nbformat.write(nb, path)
    assert not any("interactive figure" in p for p in check.problems(path, URL))
    for cell, out in _figure_outputs(nb):
        cell.outputs.remove(out)
    nbformat.write(nb, path)
    assert any("has no interactive figure" in p for p in check.problems(path, URL))


def test_two_figures_of_one_name_fail(figure_chapter):
    nb, path = figure_chapter
    cell, out = _figure_outputs(nb)[0]
    cell.outputs.append(copy.deepcopy(out))
    nbformat.write(nb, path)
    assert any("used twice" in p for p in check.problems(path, URL))


def test_stored_widget_state_and_widget_outputs_fail(figure_chapter):
    nb, path = figure_chapter
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    cell = _first_code_cells(nb, 1)[0]
    cell.outputs.append(nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "ab12", "version_major": 2, "version_minor": 0},
        "text/plain": "VBox()"}))
    nbformat.write(nb, path)
    found = check.problems(path, URL)
    assert any("ipywidgets state" in p for p in found) and any("widget output" in p for p in found)
    check.strip_widget_state([str(path)])
    assert "widgets" not in nbformat.read(path, as_version=4).metadata


def test_config_serves_math_and_figures_from_the_site():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert "kexue._sphinx" in cfg["sphinx"]["extra_extensions"]
    assert cfg["sphinx"]["config"]["nb_ipywidgets_js"] == {}  # no require.js / widget manager from a CDN
    assert not re.search(r"https?://[^\s\"']+\.js", (ROOT / "_config.yml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ a book's typography (issue 14)

FIGURE_NAME_RE = re.compile(r"fig-(\d\d)-[a-z0-9]+(?:-[a-z0-9]+)*")
EXERCISE_RE = re.compile(r"```\{exercise\}[^\n]*\n:label: (ex(\d\d)-\d+)\n")
SOLUTION_RE = re.compile(r"```\{solution\} (\S+)\n")
CITE_RE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def _chapter(path: Path):
    return nbformat.read(path, as_version=4)


def _markdown(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _has_png(cell) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def figure_problems(nb, chapter: str) -> list[str]:
    """Every matplotlib figure (a PNG output) is a numbered figure: myst-nb figure metadata with a caption of a
    sentence or more and a name ``fig-NN-...`` of its chapter, on a cell with exactly one display output (myst-nb
    wraps each display output of the cell in the figure, and two would repeat the name)."""
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not _has_png(cell):
            continue
        fig = cell.metadata.get("mystnb", {}).get("figure", {})
        name, caption = fig.get("name", ""), fig.get("caption", "")
        m = FIGURE_NAME_RE.fullmatch(name)
        if not m or m.group(1) != chapter:
            out.append(f"cell {i}: figure name {name!r} is not fig-{chapter}-<slug>")
        if len(caption.split()) < 8 or not caption.rstrip().endswith((".", ")")):
            out.append(f"cell {i}: caption {caption!r} does not say what the figure shows")
        shown = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
        if len(shown) != 1:
            out.append(f"cell {i}: {len(shown)} display outputs in a figure cell (one PNG only)")
    return out


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_figure_is_captioned_and_numbered(path):
    assert figure_problems(_chapter(path), path.name[:2]) == []


def test_figure_names_are_unique_in_the_book():
    names = [c.metadata["mystnb"]["figure"]["name"] for p in CHAPTERS for c in _chapter(p).cells
             if c.cell_type == "code" and "figure" in c.metadata.get("mystnb", {})]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_an_uncaptioned_figure_is_found(chapter_copy):
    nb, _ = chapter_copy
    cell = next(c for c in nb.cells if c.cell_type == "code" and _has_png(c))
    cell.metadata.pop("mystnb")
    assert any("figure name" in p for p in figure_problems(nb, "01"))
    cell.metadata["mystnb"] = {"figure": {"name": "fig-02-wrong-chapter", "caption": "Too short."}}
    found = " | ".join(figure_problems(nb, "01"))
    assert "fig-02-wrong-chapter" in found and "caption" in found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_setup_cell_is_folded(path):
    """The imports cell (the first code cell after the hidden Colab cell) is folded, not removed."""
    code = [c for c in _chapter(path).cells if c.cell_type == "code"]
    setup = code[1]
    assert re.search(r"^(?:import|from) ", setup.source, re.M) and "Ledger(" in setup.source
    tags = setup.metadata.get("tags", [])
    assert "hide-input" in tags and not {"remove-cell", "remove-input"} & set(tags)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_title_is_plain_text(path):
    """The H1 is what the sidebar, the browser tab, search results and book/claims.md show: no TeX, no markup."""
    h1 = [line for c in _chapter(path).cells if c.cell_type == "markdown"
          for line in c.source.splitlines() if line.startswith("# ")]
    assert len(h1) == 1, h1
    assert not re.search(r"[$\\`{}*_<>]", h1[0]), f"markup in the title {h1[0]!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_exercises_are_numbered_and_solved(path):
    md = _markdown(_chapter(path))
    section = md[md.index("## Exercises"):]
    labels = [m.group(1) for m in EXERCISE_RE.finditer(section)]
    assert labels, "no {exercise} directives under ## Exercises"
    assert all(m.group(2) == path.name[:2] for m in EXERCISE_RE.finditer(section)), labels
    assert sorted(SOLUTION_RE.findall(section)) == sorted(labels), "every exercise needs one solution"
    assert "{admonition} Solution" not in md, "solutions are {solution} directives (numbered, linked)"


def test_bibliography_has_one_entry_per_work_and_every_citation_resolves():
    from pybtex.database import parse_file

    bib = parse_file(str(ROOT / "book" / "references.bib"))
    seen: dict[tuple, str] = {}
    for key, entry in bib.entries.items():
        f = entry.fields
        doi = f.get("doi", "").lower()
        title = re.sub(r"[^a-z0-9]", "", f.get("title", "").lower())
        for ident in ([("doi", doi)] if doi else []) + [("title", title, f.get("year", ""))]:
            assert ident not in seen, f"{key} and {seen[ident]} are the same work ({ident[0]})"
            seen[ident] = key
    cited = {k.strip() for p in CHAPTERS for m in CITE_RE.finditer(_markdown(_chapter(p))) for k in m.group(1).split(",")}
    cited |= {k.strip() for md in (ROOT / "book").glob("*.md")
              for m in CITE_RE.finditer(md.read_text(encoding="utf-8")) for k in m.group(1).split(",")}
    assert cited and cited <= set(bib.entries), sorted(cited - set(bib.entries))


def test_config_numbers_per_chapter():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]
    assert "sphinx_exercise" in cfg["extra_extensions"] and "sphinx_proof" in cfg["extra_extensions"]
    assert cfg["config"]["numfig"] and cfg["config"]["math_numfig"]
    assert cfg["config"]["numfig_secnum_depth"] == 1  # (2.3), Figure 4.1, Theorem 6.1, Exercise 3.2
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc["parts"]:
        has_chapters = any(c["file"].startswith("chapters/") for c in part["chapters"])
        assert bool(part.get("numbered")) == has_chapters, part["caption"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_log_lines_in_stored_outputs(path):
    """Nothing on stderr: a log line (matplotlib's ``findfont: ... Falling back``, printed once when its font
    cache was built from a half-installed venv) is machine state, not content, and nbval fails it elsewhere."""
    nb = _chapter(path)
    logged = [(i, o.text[:80]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and "raises-exception" not in c.metadata.get("tags", [])
              for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not logged, f"stderr in stored outputs: {logged[:3]}"
