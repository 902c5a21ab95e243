"""kexue — the tested library behind *Scientific Spaces, Executed*.

Cross-cutting modules: :mod:`kexue.verify` (the claims ledger), :mod:`kexue.plot` (figure style and shared
plots), :mod:`kexue.train` (the one training loop) and :mod:`kexue.data` (offline data).  Topic modules, one
per family of articles: :mod:`kexue.linalg`, ...  Import the submodule you need; nothing heavy is imported here.
"""

#: The version of lib/pyproject.toml (tested): every chapter's Colab cell installs the release tag ``v<version>``.
__version__ = "0.1.0"
