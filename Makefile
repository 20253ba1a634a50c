# Two entry points on a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# DDS stays on this machine, in a domain of its own per run.
ROS_DOMAIN_ID ?= $(shell $(PYTHON) -c 'import random; print(random.randint(1, 100))')
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_LOCALHOST_ONLY := 1
export ROS_DOMAIN_ID
export FASTDDS_DEFAULT_PROFILES_FILE := $(CURDIR)/config/fastdds_localhost.xml
export PYTHONUNBUFFERED := 1

.PHONY: demo test bench venv venv-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Runtime: the node, the demo camera, CPU ONNX Runtime and ROS 2 from PyPI.
$(VENV)/.runtime: $(PY) setup.py
	$(PY) -m pip install -q -e '.[cpu,ros]'
	touch $@

# Everything: the runtime plus the torch toolchain and the test tools.
$(VENV)/.full: $(VENV)/.runtime
	$(PY) -m pip install -q -e '.[cpu,ros,train,test]'
	touch $@

venv: $(VENV)/.runtime
venv-test: $(VENV)/.full

demo: $(VENV)/.runtime
	$(VENV)/bin/segtool demo $(DEMO_ARGS)

test: $(VENV)/.full
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.full
	$(VENV)/bin/segtool bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo_out build *.egg-info
