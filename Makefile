# Outrider developer commands. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Offline detector weights: OUTRIDER_MODEL wins, else the nearest shared/models folder above the repo.
OUTRIDER_MODEL ?= $(firstword $(wildcard ../shared/models/yolov5n_ul_320.onnx ../../shared/models/yolov5n_ul_320.onnx))
export OUTRIDER_MODEL
export YOLO_OFFLINE := 1
export YOLO_AUTOINSTALL := 0
export YOLO_CONFIG_DIR := $(CURDIR)/$(VENV)/ultralytics

.PHONY: venv node-tools test test-slow lint typecheck demo bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Outrider needs Python 3.11 or newer"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@mkdir -p $(VENV)/ultralytics
	@touch $(STAMP)

# Node.js tools the tests run (the AsyncAPI parser), pinned by tests/node/package-lock.json.
NODE_STAMP := tests/node/node_modules/.installed-stamp

node-tools: $(NODE_STAMP)

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy edge sim dispatch outrider basemap

# Two workers: most tests wait on sim vehicles, brokers and browsers rather than on a core.
test: lint typecheck node-tools
	$(BIN)/python -m pytest -n 2

test-slow: $(STAMP) node-tools
	$(BIN)/python -m pytest -m slow

# Flags for the demo, e.g. make demo DEMO_ARGS="--docks 2 --port 8080".
DEMO_ARGS ?=
demo: $(STAMP)
	$(BIN)/outrider demo $(DEMO_ARGS)

bench: $(STAMP)
	$(BIN)/outrider bench sim

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis tests/node/node_modules
