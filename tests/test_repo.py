"""The repository's own checks: notebook hygiene, the Colab cell, the generated claims page, pins, the toc."""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / ".ci" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load("check_notebooks")
claims_page = _load("make_claims_page")
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
    assert check.problems(path, URL) == []
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
