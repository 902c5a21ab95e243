"""Point the book at its public repository: ``make set-repo URL=https://github.com/OWNER/NAME [REF=v0.2.0]``.

Rewrites, in place and only where they differ (running it twice changes nothing the second time):

* ``repository.url`` in ``_config.yml`` (that one line; comments and the rest of the file are kept as they are);
* the source of every chapter's Colab install cell (its first code cell, tagged ``remove-cell``), to
  :func:`check_notebooks.colab_cell_source`: ``kexue[data]`` installed from the release tag ``v<version>`` of
  that repository.  Outputs, execution counts and metadata stay untouched; the notebook is written with nbformat.

The tag is derived from the library's version in ``lib/pyproject.toml`` (one source of truth, which
``kexue.__version__`` must match).  ``REF`` is optional and only a guard: it must name that tag, so a
``REF=v0.2.0`` given before the version is bumped is refused instead of producing notebooks that fail the check.
The URL must be a GitHub repository's address, since Jupyter Book's Colab button opens notebooks from GitHub.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: GitHub's rules: an owner is 1-39 letters, digits or single inner hyphens; a name is letters, digits, ``.-_``.
URL_RE = re.compile(r"https://github\.com/(?P<owner>(?=[A-Za-z0-9-]{1,39}/)[A-Za-z0-9](?:-?[A-Za-z0-9])*)"
                    r"/(?P<name>[A-Za-z0-9._-]{1,100})")
#: The first line of ``repository:`` in _config.yml and a ``url:`` line directly under it.
REPOSITORY_RE = re.compile(r"^repository:[ \t]*(?:#.*)?$")
URL_LINE_RE = re.compile(r"^(?P<indent>[ \t]+)url:(?P<gap>[ \t]*)(?P<value>[^#\s]*)(?P<rest>[ \t]*(?:#.*)?)$")


def _check_notebooks() -> ModuleType:
    """The sibling module that defines the install cell, loaded by path (``.ci`` is not a package)."""
    spec = importlib.util.spec_from_file_location("check_notebooks", Path(__file__).with_name("check_notebooks.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _check_notebooks()


def validate_url(url: object) -> str:
    """``url`` itself when it is a GitHub repository's address ``https://github.com/OWNER/NAME``.

    Raises:
        TypeError: ``url`` is not a string.
        ValueError: ``url`` is not of that form (the message says what is wrong with it).
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a string, got {type(url).__name__}")
    if URL_RE.fullmatch(url) and url.rsplit("/", 1)[1] not in {".", ".."} and not url.endswith(".git"):
        return url
    hint = ""
    if url.endswith("/") or url.endswith(".git"):
        hint = f" (drop the trailing {'/' if url.endswith('/') else '.git'})"
    elif url.startswith("http://"):
        hint = " (use https://)"
    elif re.match(r"https://github\.com/[^/]+/[^/]+/", url):
        hint = " (the repository's address only, without /tree/..., /blob/... or other paths)"
    elif not url.startswith("https://github.com/"):
        hint = " (Jupyter Book's Colab button opens notebooks from GitHub only)"
    raise ValueError(f"url must look like https://github.com/OWNER/NAME{hint}: got {url!r}")


def validate_ref(ref: object | None, root: Path = ROOT) -> str:
    """The release tag the notebooks install: ``v<version>`` of ``lib/pyproject.toml``; ``ref``, if given, must be it.

    Raises:
        TypeError: ``ref`` is neither None nor a string.
        ValueError: ``ref`` names another tag than the library's version.
    """
    tag = check.release_ref(root)
    if ref is None:
        return tag
    if not isinstance(ref, str):
        raise TypeError(f"ref must be a string, got {type(ref).__name__}")
    if ref != tag:
        raise ValueError(
            f"ref {ref!r} is not this library's release tag {tag!r} (v + the version in lib/pyproject.toml): "
            "bump the version there and in kexue.__version__ first, or leave REF out")
    return tag


def set_config_url(text: str, url: str) -> str:
    """``_config.yml``'s text with ``repository.url`` set to ``url`` and every other byte as it was.

    Raises:
        ValueError: the text has no top-level ``repository:`` mapping with a plain ``url:`` line (checked by
            parsing the result: it must differ from the original in ``repository.url`` alone).
    """
    url = validate_url(url)
    before = yaml.safe_load(text)
    if not isinstance(before, dict) or not isinstance(before.get("repository"), dict):
        raise ValueError("the config has no 'repository:' mapping to hold the URL")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if REPOSITORY_RE.match(line.rstrip("\r\n"))), len(lines))
    for i in range(start + 1, len(lines)):
        body = lines[i].rstrip("\r\n")
        if body and not body[0].isspace() and not body.startswith("#"):
            break  # the next top-level key: no url line under repository
        if m := URL_LINE_RE.match(body):
            lines[i] = f"{m['indent']}url:{m['gap'] or ' '}{url}{m['rest']}{lines[i][len(body):]}"
            break
    new = "".join(lines)
    if yaml.safe_load(new) != {**before, "repository": {**before["repository"], "url": url}}:
        raise ValueError("the config's repository.url is not a plain 'url: VALUE' line under a top-level "
                         "'repository:' block: write it so once by hand, then make set-repo keeps it")
    return new


def install_cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The notebook's Colab install cell: its first code cell, tagged ``remove-cell``, that pip-installs in Colab.

    Raises:
        ValueError: the first code cell is not such a cell (``name`` says which notebook); nothing is overwritten.
    """
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        raise ValueError(f"{name}: has no code cell, so no Colab install cell to rewrite")
    first = code[0]
    if ("remove-cell" not in first.metadata.get("tags", []) or "google.colab" not in first.source
            or "%pip install" not in first.source):
        raise ValueError(f"{name}: the first code cell is not the Colab install cell (tagged remove-cell, "
                         "installing with %pip inside google.colab); add it by hand before running set-repo")
    return first


def set_notebook(path: Path, url: str, ref: str) -> bool:
    """Rewrite the Colab install cell's source of the notebook at ``path``; True when the file changed.

    Raises:
        ValueError: see :func:`install_cell`.
    """
    nb = nbformat.read(path, as_version=4)
    cell = install_cell(nb, str(path))
    source = check.colab_cell_source(url, ref)
    if cell.source == source:
        return False
    cell.source = source
    nbformat.write(nb, path)
    return True


def set_repo(url: str, ref: str | None = None, *, config: Path, notebooks: list[Path],
             root: Path = ROOT) -> list[Path]:
    """Point ``config`` and ``notebooks`` at ``url`` (release tag from ``root``'s lib); the files it changed.

    Everything is checked before anything is written, so a bad URL, ref or notebook leaves every file as it was.

    Raises:
        TypeError, ValueError: see :func:`validate_url`, :func:`validate_ref`, :func:`set_config_url`,
            :func:`install_cell`.
    """
    url, tag = validate_url(url), validate_ref(ref, root)
    if not notebooks:
        raise ValueError("notebooks is empty: no chapter to point at the repository")
    text = config.read_text(encoding="utf-8")
    new_text = set_config_url(text, url)
    for path in notebooks:
        install_cell(nbformat.read(path, as_version=4), str(path))
    changed = [path for path in notebooks if set_notebook(path, url, tag)]
    if new_text != text:
        config.write_text(new_text, encoding="utf-8")
        changed.insert(0, config)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="https://github.com/OWNER/NAME")
    parser.add_argument("--ref", help="optional guard: must be v<version of lib/pyproject.toml>")
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/*.ipynb")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    try:
        changed = set_repo(args.url, args.ref, config=args.config, notebooks=notebooks)
    except (TypeError, ValueError) as exc:
        print(f"set-repo: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"set-repo: rewrote {path}")
    print(f"set-repo: {args.url} at {validate_ref(args.ref)}: {len(changed)} file(s) changed, "
          f"{len(notebooks) + 1 - len(changed)} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
