# Scientific Spaces, Executed — `make book` and `make test` bootstrap .venv on a fresh machine.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
# The Python that builds the venvs (`make venv PYTHON=python3.12`): .ci/check_python.py stops at once, saying so,
# when it is older than lib/pyproject.toml's requires-python.
PYTHON ?= python3
# `make test-lowest`: the library at the lowest versions lib/pyproject.toml allows, in a venv of its own.
LOWEST ?= .venv-lowest
PY := $(VENV)/bin/python
STAMP := $(VENV)/.req-stamp
NBVAL := $(PY) -m pytest chapters --nbval --nbval-current-env --nbval-sanitize-with .ci/nbval-sanitize.cfg -p no:cacheprovider -q
# Execute every chapter top to bottom, failing on any error (a false claim raises); outputs are not compared.
RUN_ALL := $(PY) -m pytest chapters --nbval-lax --nbval-current-env -p no:cacheprovider -q
# A simulated other machine: other XLA CPU kernels (no AVX2/FMA) and other OpenBLAS kernels for NumPy/SciPy
# (Sandybridge: neither the Haswell kernels some machines of this kind force nor the SkylakeX ones others pick).
# Stored outputs must reproduce under it as on the machine that recorded them.
OTHER_MACHINE ?= XLA_FLAGS=--xla_cpu_max_isa=AVX OPENBLAS_CORETYPE=Sandybridge
# One persistent XLA compilation cache for the two chapter runs of `make test`. The reseeded run executes the same
# programs on the same simulated machine as the nbval run (only the keys' values differ), so it loads most of
# them instead of compiling again: compilation is about 40 % of a chapter's CPU time. Emptied by each test-nb.
JAX_CACHE := $(abspath .jax-cache)
CACHE_ENV := JAX_COMPILATION_CACHE_DIR=$(JAX_CACHE) JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
  JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1
# The seed of the one reseeded run in `make test`; `make reseed SEEDS="1 2 3 4 5"` for authors.
RESEED ?= 1
SEEDS ?= 1 2 3
export JAX_PLATFORMS ?= cpu
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export PYTHONHASHSEED := 0
# Notebooks executed here store or test outputs for the static book: kexue.plot.live builds its widget, shows none.
export KEXUE_STATIC := 1
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: venv test test-lib test-lowest test-nb test-reseed test-book test-site book claims outputs reseed bench lock linkcheck clean set-repo

venv: $(STAMP)

# A fresh venv whenever requirements.txt or the lib's metadata change.
$(STAMP): requirements.txt lib/pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) .ci/check_python.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q uv==0.13.9
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements.txt
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) --no-deps -e lib
	MPLBACKEND=agg $(PY) -c "import matplotlib.pyplot, jax; jax.numpy.zeros(1)"  # font cache, outside kernels
	cp requirements.txt $@

## Every check of DESIGN.md §4: lib + repo tests, nbval of every chapter on a simulated other machine,
## every chapter under another seed, the -W book build, the rendered site (offline, in headless Chromium).
test: test-lib test-lowest test-nb test-reseed test-book test-site
	@echo "make test: all checks passed"

test-lib: $(STAMP)
	$(PY) -m pip check
	$(PY) -m pytest tests -q -p no:cacheprovider -n 2 --ignore=tests/rendered

## The lower bounds of lib/pyproject.toml are true: every direct dependency (extras [data] and [test] included)
## at its bound (uv's lowest-direct resolution), then the library's tests (not the repository's or the site's).
test-lowest: $(LOWEST)/.stamp
	$(LOWEST)/bin/python -m pip check
	$(LOWEST)/bin/python -m pytest tests -q -p no:cacheprovider -n 2 --ignore=tests/rendered \
	  --ignore=tests/test_repo.py --ignore=tests/test_release.py

$(LOWEST)/.stamp: lib/pyproject.toml
	rm -rf $(LOWEST)
	$(PYTHON) .ci/check_python.py
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install -q uv==0.13.9
	$(LOWEST)/bin/uv pip install -q --python $(LOWEST)/bin/python --resolution lowest-direct -e "lib[data,test]"
	@echo "test-lowest: $$($(LOWEST)/bin/uv pip freeze -q --python $(LOWEST)/bin/python --exclude-editable | tr '\n' ' ')"
	touch $@

test-nb: $(STAMP)
	$(PY) .ci/check_notebooks.py
	rm -rf $(JAX_CACHE)
	$(OTHER_MACHINE) $(CACHE_ENV) $(NBVAL) -n 2 --dist loadfile

## Every chapter again under another seed, on the same simulated other machine (so it reuses test-nb's programs).
test-reseed: $(STAMP)
	KEXUE_SEED=$(RESEED) $(OTHER_MACHINE) $(CACHE_ENV) $(RUN_ALL) -n 2 --dist loadfile

## For authors: every chapter must run, every claim hold, under each of SEEDS (no output comparison).
reseed: $(STAMP)
	for s in $(SEEDS); do echo "KEXUE_SEED=$$s"; KEXUE_SEED=$$s $(CACHE_ENV) $(RUN_ALL) -n 2 --dist loadfile; done

test-book: $(STAMP)
	rm -rf _build
	jupyter-book build . --all -W -n --keep-going

## The built site with the network cut off: page weight, no outside requests; in Chromium (when installed):
## equations typeset, each interactive figure draws and moves, no script errors.  Screenshots: _build/screenshots.
test-site: $(STAMP)
	@[ -f _build/html/index.html ] || { echo "test-site: no _build/html: run make test-book first"; exit 1; }
	@if [ -n "$$(command -v chromium || command -v chromium-browser)" ]; then \
	  echo "test-site: browser tests in $$(chromium --version 2>/dev/null || chromium-browser --version)"; \
	else \
	  echo "test-site: *** Chromium NOT FOUND: the browser tests are SKIPPED (apt-get install chromium; .ci/run installs it) ***"; \
	fi
	$(PY) -m pytest tests/rendered -q -p no:cacheprovider -rs

## The rendered book in _build/html (regenerates book/claims.md from the stored notebooks first).
book: $(STAMP) claims
	rm -rf _build
	jupyter-book build . --all -W -n --keep-going
	@echo "Open $(abspath _build/html/index.html)"

claims: $(STAMP)
	$(PY) .ci/make_claims_page.py

## For authors: re-execute every chapter in place (fresh kernel, top to bottom), then refresh claims.md.
outputs: $(STAMP)
	for nb in chapters/*.ipynb; do echo "executing $$nb"; jupyter execute --inplace --allow-errors "$$nb"; done
	$(PY) .ci/check_notebooks.py --strip-widget-state chapters/*.ipynb
	$(PY) .ci/make_claims_page.py

bench: $(STAMP)
	# fragments first (bench_sgns -> benchmarks/results/), then the pages that include them
	[ ! -f benchmarks/bench_sgns.py ] || $(PY) benchmarks/bench_sgns.py
	$(PY) benchmarks/bench_multihost.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_chapters.py

## Point the book at its public repository: _config.yml's repository.url and every chapter's Colab install cell,
## which installs kexue[data] from the release tag v<version of lib/pyproject.toml>.  Idempotent; a malformed URL
## (or a REF that is not that tag) is refused.  make set-repo URL=https://github.com/OWNER/NAME [REF=v0.2.0]
# (It needs only nbformat and PyYAML: the venv is bootstrapped when missing, never rebuilt for it.)
set-repo: $(if $(wildcard $(PY)),,$(STAMP))
	@[ -n "$(URL)" ] || { echo "set-repo: say where: make set-repo URL=https://github.com/OWNER/NAME" >&2; exit 2; }
	$(PY) .ci/set_repo.py --url '$(URL)' $(if $(REF),--ref '$(REF)')

## Re-pin requirements.txt from requirements.in (needs the network to PyPI).
lock: $(STAMP)
	$(VENV)/bin/uv pip compile --python-version 3.11 --no-header -q requirements.in -o requirements.txt

linkcheck: $(STAMP)
	jupyter-book build . --builder linkcheck   # needs internet; never in CI

clean:
	rm -rf _build $(JAX_CACHE)
