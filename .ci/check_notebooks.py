"""Hygiene of the stored chapters: a clean top-to-bottom run in a fresh kernel, nothing machine-specific.

Run as a script (`make test` does) or import :func:`problems` (tests/test_repo.py does);
``--colab-requirement`` prints what the Colab install cell installs.
Fails when a notebook
* has a kernelspec other than ``python3``;
* has a code cell never executed, or execution counts that are not 1..n in order;
* stores an error output in a cell not tagged ``raises-exception``;
* prints a warning (stderr text naming a *Warning) or a machine path;
* lacks the Colab install cell (tagged ``remove-cell``), or that cell does not install ``kexue[data]`` from the
  release tag ``v<version>`` (``lib/pyproject.toml``) of ``_config.yml``'s repository URL (``make set-repo``
  rewrites it);
* lacks the claims table (the ledger's JSON copy) in its last code cell;
* has no interactive figure (an output of :func:`kexue.plot.show`), two figures of one name, or stores
  ipywidgets state or widget outputs (the static book cannot draw them and would fetch their scripts from a
  CDN: ``kexue.plot.live`` displays nothing under ``KEXUE_STATIC=1``; ``--strip-widget-state`` cleans up
  after ``jupyter execute``);
* states a claim in a hidden cell (tagged ``remove-cell`` or ``remove-input``: use ``hide-input``);
* seeds anything with a literal (``jax.random.key(0)``, ``default_rng(3)``, ``random_state=0``, ``seed=1``,
  NumPy's global ``np.random.*`` state) instead of :mod:`kexue.seed`, which derives every key from the book's
  one seed (``KEXUE_SEED``), or uses randomness without importing :mod:`kexue.seed` at all.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLAIMS_MIME = "application/vnd.kexue.claims+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
FIGURE_RE = re.compile(r'data-kexue-figure="([a-z0-9-]+)"')
PATH_RE = re.compile(r"(?<![\w:/.~-])/(?:home|root|tmp|work|usr|opt|var|Users|private|mnt)/[\w.-]+|[A-Z]:\\Users")
WARN_RE = re.compile(r"\b\w*Warning\b")
CLAIM_RE = re.compile(r"\bclaims\.(?:symbolic|close|holds|pvalue|within|mean)\s*\(")
HIDDEN_TAGS = {"remove-cell", "remove-input"}
LITERAL_SEED_RE = re.compile(
    r"(?:\bPRNGKey|\brandom\.key|\bdefault_rng|\bRandomState|\brandom\.seed|\bSeedSequence)\(\s*[-+]?\d"
    r"|\b(?:random_state|seed|rng_seed)\s*=\s*[-+]?\d"
    r"|\bnp\.random\.(?!default_rng\b|Generator\b|SeedSequence\b)\w+\("
)
RANDOMNESS_RE = re.compile(r"\bjax\.random\.|\brandom\.(?:key|split|normal|uniform)\(|\bdefault_rng\b|\brandom_state\b")


def library_version(root: Path = ROOT) -> str:
    """The library's version, kept once in ``lib/pyproject.toml`` (``kexue.__version__`` must agree: tested)."""
    return tomllib.loads((root / "lib" / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def release_ref(root: Path = ROOT) -> str:
    """The git tag of the library's release, ``v<version>``: what every chapter's Colab cell installs."""
    return "v" + library_version(root)


def colab_requirement(repo_url: str, ref: str | None = None) -> str:
    """The pip requirement the Colab cell installs: ``kexue[data]`` from tag ``ref`` (default :func:`release_ref`)."""
    return f"kexue[data] @ git+{repo_url}@{release_ref() if ref is None else ref}#subdirectory=lib"


def colab_cell_source(repo_url: str, ref: str | None = None) -> str:
    """The exact first code cell every chapter must carry (installs kexue inside Colab only)."""
    return (
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "{colab_requirement(repo_url, ref)}"'
    )


def repository_url(root: Path = ROOT) -> str:
    """The repository URL, kept once in ``_config.yml``."""
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]


def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return "".join(str(data.get(k, "")) for k in ("text/plain", "text/html", "text/markdown"))


def problems(path: Path, repo_url: str, ref: str | None = None) -> list[str]:
    """Every hygiene problem of one stored notebook (empty list when clean); ``ref`` defaults to :func:`release_ref`."""
    nb = nbformat.read(path, as_version=4)
    out: list[str] = []
    name = nb.metadata.get("kernelspec", {}).get("name")
    if name != "python3":
        out.append(f"kernelspec name is {name!r}, not 'python3'")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        return out + ["no code cells"]
    counts = [c.execution_count for c in code]
    if any(n is None for n in counts):
        out.append(f"{sum(n is None for n in counts)} code cell(s) never executed: run `make outputs`")
    elif counts != list(range(1, len(counts) + 1)):
        out.append(f"execution counts {counts[:8]}... are not 1..{len(counts)}: re-run in a fresh kernel")
    for i, cell in enumerate(code, 1):
        tags = cell.metadata.get("tags", [])
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error" and "raises-exception" not in tags:
                out.append(f"code cell {i}: stored error {o.get('ename')} (tag it raises-exception if intended)")
            text = _text(o)
            if m := PATH_RE.search(text):
                out.append(f"code cell {i}: output shows a machine path {m.group(0)!r}")
            if o.get("name") == "stderr" and (m := WARN_RE.search(text)):
                out.append(f"code cell {i}: output prints a warning ({m.group(0)})")
    for i, cell in enumerate(code, 1):
        if HIDDEN_TAGS & set(cell.metadata.get("tags", [])) and CLAIM_RE.search(cell.source):
            out.append(f"code cell {i}: states a claim in a hidden cell (tag it hide-input, not remove-*)")
        for line in cell.source.splitlines():
            if m := LITERAL_SEED_RE.search(line.split("#")[0]):
                out.append(f"code cell {i}: literal seed {m.group(0)!r}: derive it from kexue.seed")
    source = "\n".join(c.source for c in code)
    if RANDOMNESS_RE.search(source) and "kexue.seed" not in source:
        out.append("uses randomness but never imports kexue.seed (the book's one seed)")
    first = code[0]
    if first.source.strip() != colab_cell_source(repo_url, ref) or "remove-cell" not in first.metadata.get("tags", []):
        out.append("first code cell is not the Colab install cell (tag remove-cell) for "
                   f"{colab_requirement(repo_url, ref)} (`make set-repo URL=...` writes it)")
    figures = [m for c in code for o in c.get("outputs", []) for m in FIGURE_RE.findall(o.get("data", {}).get("text/html", ""))]
    if not figures:
        out.append("has no interactive figure (kexue.plot.show)")
    if dupes := sorted({f for f in figures if figures.count(f) > 1}):
        out.append(f"interactive figure name(s) used twice: {dupes}")
    if "widgets" in nb.metadata:
        out.append("stores ipywidgets state in its metadata: run .ci/check_notebooks.py --strip-widget-state")
    if any(WIDGET_MIME in o.get("data", {}) for c in code for o in c.get("outputs", [])):
        out.append("stores a widget output (run with KEXUE_STATIC=1, as `make outputs` does)")
    last = code[-1]
    if not any(CLAIMS_MIME in o.get("data", {}) for o in last.get("outputs", [])):
        out.append("last code cell does not display claims.table()")
    return out


def strip_widget_state(paths: list[str]) -> None:
    """Drop the ipywidgets state ``jupyter execute`` saves for widgets that were built but never shown."""
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        if nb.metadata.pop("widgets", None) is not None:
            nbformat.write(nb, p)


def main() -> int:
    if sys.argv[1:2] == ["--strip-widget-state"]:
        strip_widget_state(sys.argv[2:])
        return 0
    if sys.argv[1:] == ["--colab-requirement"]:  # what the install cell installs (the Colab workflow runs it)
        print(colab_requirement(repository_url()))
        return 0
    url = repository_url()
    nbs = sorted((ROOT / "chapters").glob("*.ipynb"))
    bad = 0
    for nb in nbs:
        for p in problems(nb, url):
            print(f"{nb.relative_to(ROOT)}: {p}")
            bad += 1
    print(f"check_notebooks: {len(nbs)} notebook(s), {bad} problem(s)")
    return 1 if bad or not nbs else 0


if __name__ == "__main__":
    sys.exit(main())
