# `make report` and `make test` each create .venv and install on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# interop (torch CPU 2.13.0 + diffusers) is installed so the diffusers cross-checks run; bench adds diffrax.
EXTRAS ?= dev,latex,interop,bench

.PHONY: report test bench install tex clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

# A TeX engine for report.pdf: installed with apt where we are root and apt exists; otherwise a clear message
# (the report then has report.tex, claims.csv, summary.md and the plots, but no PDF).
tex:
	@if command -v latexmk >/dev/null 2>&1 || command -v pdflatex >/dev/null 2>&1; then \
	  echo "TeX: $$(command -v latexmk || command -v pdflatex)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "TeX: installing texlive-latex-base, texlive-latex-recommended, latexmk with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	     texlive-latex-base texlive-latex-recommended latexmk poppler-utils >/dev/null) \
	  || echo "TeX: apt-get failed; install a TeX engine by hand (Debian: apt-get install texlive-latex-base latexmk) for report.pdf"; \
	else \
	  echo "TeX: no latexmk/pdflatex and cannot install (not root or no apt-get). For report.pdf install one, e.g."; \
	  echo "     sudo apt-get install texlive-latex-base latexmk   (Debian/Ubuntu)   or   brew install --cask mactex-no-gui"; \
	fi

report: $(STAMP) tex
	$(PY) -m reports --jobs 2

test: $(STAMP)
	JAX_PLATFORMS=cpu $(PY) -m pytest -q -n 2 -p no:cacheprovider

bench: $(STAMP)
	JAX_PLATFORMS=cpu $(PY) -m bench

clean:
	rm -rf $(VENV) reports/out bench/out
