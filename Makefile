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

# vision_msgs (LabelInfo, VisionClass) is not on PyPI: built from test/vision_msgs with the ROS generators of the
# test extra and installed into the venv, as colcon would (test/vision_msgs/README.md).
VISION_MSGS_BUILD := build/vision_msgs
$(VENV)/.vision_msgs: $(VENV)/.full $(wildcard test/vision_msgs/*.* test/vision_msgs/msg/*.msg)
	rm -rf $(VISION_MSGS_BUILD) && mkdir -p $(VISION_MSGS_BUILD)
	export PATH="$(abspath $(VENV))/bin:$$PATH" AMENT_PREFIX_PATH="$(abspath $(VENV))" && { \
		cmake -S test/vision_msgs -B $(VISION_MSGS_BUILD) -DCMAKE_INSTALL_PREFIX="$(abspath $(VENV))" \
			-DCMAKE_PREFIX_PATH="$(abspath $(VENV))" -DPython3_EXECUTABLE="$(abspath $(PY))" -DBUILD_TESTING=OFF \
		&& cmake --build $(VISION_MSGS_BUILD) -j2 && cmake --install $(VISION_MSGS_BUILD); \
	} > $(VISION_MSGS_BUILD)/make.log 2>&1 || { tail -40 $(VISION_MSGS_BUILD)/make.log; exit 1; }
	touch $@

venv: $(VENV)/.runtime
venv-test: $(VENV)/.vision_msgs

demo: $(VENV)/.runtime
	$(VENV)/bin/segtool demo $(DEMO_ARGS)

test: $(VENV)/.vision_msgs
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.vision_msgs
	$(VENV)/bin/segtool bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo_out build *.egg-info
