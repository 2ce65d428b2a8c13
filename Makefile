# fpgax -- the two commands of a fresh machine are `make demo` and `make test`.
# Each sets up everything it needs (virtualenv, the package, Icarus for the benches).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: all setup icarus demo test regress lint docs bench clean verilog estimate perf-report window-report

all: test

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; fpgax needs Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## setup: virtualenv in .venv with fpgax (editable) and its test tools
setup: $(STAMP)

## icarus: Icarus Verilog for the RTL benches and tshark for the feed checks -- apt when missing
##         and root, a clear message otherwise
icarus:
	@missing=""; \
	command -v iverilog >/dev/null 2>&1 || missing="$$missing iverilog"; \
	command -v tshark >/dev/null 2>&1 || missing="$$missing tshark"; \
	if [ -z "$$missing" ]; then \
	  true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing$$missing (apt-get)"; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else \
	  echo "warning:$$missing not installed and this user cannot apt-get;" >&2; \
	  echo "         run 'sudo apt-get install$$missing' for the Icarus benches and the tshark feed checks." >&2; \
	fi

## demo: the main job on the simulated engine: the RTL against the model, its cycle report, then
##       a flow through the host API on the simulated XRT kernel, journaled, and its recovery
demo: setup
	@mkdir -p build/demo
	fpgax gen --orders 200000 --symbols 8 --seed 1 --burst 0.001 -o build/demo/flow.bin
	fpgax compare build/demo/flow.bin --idle 0.1 --stall 0.1 --json build/demo/compare.json
	fpgax bench rtl build/demo/flow.bin --json build/demo/cycles.json
	fpgax replay build/demo/flow.bin --backend rtl --book-depth 5 --events build/demo/events.jsonl
	fpgax gen --orders 20000 --symbols 8 --seed 2 -o build/demo/host.bin
	rm -f build/demo/host.jnl
	fpgax replay build/demo/host.bin --backend sim --journal build/demo/host.jnl --book-depth 5
	fpgax recover build/demo/host.jnl --backend model --book-depth 5
	fpgax lobster tests/data/lobster/AAPL_2012-06-21_34200000_57600000_message_10.csv \
	  tests/data/lobster/AAPL_2012-06-21_34200000_57600000_orderbook_10.csv -o build/demo/aapl.csv
	fpgax compare build/demo/aapl.csv
	fpgax replay build/demo/aapl.csv --backend model --book-depth 10
	@echo "demo: flows, events (events.jsonl) and reports (*.json) are in build/demo/"

## test: everything CI runs (under 25 minutes on 2 cores): the tests spread over TEST_WORKERS
##       processes (a file's tests in one of them), the slowest 25 reported at the end
TEST_WORKERS ?= 2
test: setup icarus
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations 25

## regress: the long regressions (marked slow), not part of `make test`
regress: setup icarus
	$(BIN)/python -m pytest -m slow -p no:cacheprovider

## verilog: kernel and engine Verilog of the u280 profile under build/u280/, lint-checked
verilog: setup
	fpgax build verilog --profile u280

## estimate: Yosys resource/depth estimate of the u280 profile -> docs/estimate-u280.json (long)
estimate: setup
	fpgax build estimate --profile u280 --json docs/estimate-u280.json
	fpgax docs

## window-report: the deep book's window on the GOOG day of 2012-06-21 -> docs/perf/window-goog.json
##                (`fpgax bench window` at the u280's window: the HBM bytes a command the estimate's
##                bandwidth is made from; under a minute)
GOOG_DAY := build/goog/GOOG_2012-06-21_34200000_57600000
window-report: setup
	@mkdir -p build/goog
	$(BIN)/python -m zipfile -e tests/data/lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip build/goog
	fpgax lobster $(GOOG_DAY)_message_10.csv $(GOOG_DAY)_orderbook_10.csv -o build/goog/GOOG_2012-06-21.csv
	fpgax bench window build/goog/GOOG_2012-06-21.csv --profile u280 --json docs/perf/window-goog.json

## perf-report: docs/performance.md and docs/perf/*.png from the standard workloads (a few minutes);
##              PEER_PYTHON=/path/to/python3.12 (with matching-engine installed) adds that peer
PEER_PYTHON ?=
perf-report: setup
	fpgax perf-report $(if $(PEER_PYTHON),--peer-python $(PEER_PYTHON))

## lint: ruff
lint: setup
	$(BIN)/ruff check .

## docs: regenerate the generated tables in docs/ from the wire-format definition
docs: setup
	fpgax docs

## bench: golden-model throughput on a 1M-command flow, JSON in build/
bench: setup
	@mkdir -p build
	fpgax bench model --orders 1000000 --json build/bench-model.json

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
