# Two entry points on a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# DDS stays on this machine, in a domain of its own: every command here that starts ROS nodes (the tests through
# test/conftest.py, segtool demo, bench and soak) sets that itself with segtool.dds.loopback.
export PYTHONUNBUFFERED := 1

.PHONY: demo test test-latest test-compat bench gpu-check bench-network venv venv-test lock clean

# The lock: exact versions and hashes of everything `make venv` (RUNTIME_LOCK) and `make venv-test` (TEST_LOCK)
# install, resolved for CPython $(LOCK_PYTHON) on Linux x86_64 from setup.py's ranges by `make lock` (uv pip compile).
# `make lock` keeps the locked versions and adds what setup.py newly asks for; `make lock LOCK_ARGS=--upgrade`
# moves everything to the newest releases. Either way the change is a commit of its own (docs/compatibility.md).
LOCK_PYTHON := 3.11
RUNTIME_LOCK := requirements/py$(LOCK_PYTHON)-runtime.txt
TEST_LOCK := requirements/py$(LOCK_PYTHON)-test.txt
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
# uv reads no pip.conf: it also looks where pip is told to find wheels on local disk (torch's CPU build, where
# a machine keeps it there; elsewhere e.g. FIND_LINKS=https://download.pytorch.org/whl/cpu/torch/).
FIND_LINKS ?= $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
UV_PIP = VIRTUAL_ENV=$(abspath $(1)) $(1)/bin/uv pip install -q --compile-bytecode --python $(abspath $(1))/bin/python \
	$(addprefix --find-links ,$(FIND_LINKS))
LOCK_ARGS ?=

# A venv (this one or $(LATEST)) with uv in it.
%/bin/uv:
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v == "$(LOCK_PYTHON)" else \
		f"the lock ($(TEST_LOCK)) is for Python $(LOCK_PYTHON), $(PYTHON) is {v}: PYTHON=python$(LOCK_PYTHON) make ...")'
	test -x $*/bin/python || $(PYTHON) -m venv $*
	$*/bin/python -m pip install -q uv==$(UV_VERSION)

# Runtime: the node, the demo camera, ONNX Runtime and ROS 2 from PyPI: from the lock with the CPU ONNX Runtime
# (ORT=cpu), or from setup.py's ranges with ORT=gpu (onnxruntime-gpu, the CPU build's alternative, is not locked).
ORT ?= cpu
$(VENV)/.runtime: $(UV) setup.py $(RUNTIME_LOCK)
ifeq ($(ORT),cpu)
	$(call UV_PIP,$(VENV)) --require-hashes -r $(RUNTIME_LOCK)
	$(call UV_PIP,$(VENV)) --no-deps -e .
else
	$(call UV_PIP,$(VENV)) -e '.[$(ORT),ros]'
endif
	touch $@

# Everything: the runtime plus the torch toolchain and the test tools.
$(VENV)/.full: $(VENV)/.runtime $(TEST_LOCK)
	$(call UV_PIP,$(VENV)) --require-hashes -r $(TEST_LOCK)
	touch $@

lock: $(UV)
	$(UV) pip compile setup.py --extra cpu --extra ros --extra train --extra test $(LOCK_COMPILE) -o $(TEST_LOCK)
	$(UV) pip compile setup.py --extra cpu --extra ros -c $(TEST_LOCK) $(LOCK_COMPILE) -o $(RUNTIME_LOCK)
LOCK_COMPILE = --python-version $(LOCK_PYTHON) --python-platform x86_64-manylinux_2_28 --generate-hashes \
	$(addprefix --find-links ,$(FIND_LINKS)) --custom-compile-command 'make lock' -q $(LOCK_ARGS)

# vision_msgs (LabelInfo, VisionClass) is not on PyPI: built from test/msg_packages/vision_msgs with the ROS generators of the
# test extra and installed into the venv, as colcon would (test/msg_packages/vision_msgs/README.md).
MSG_SOURCES := $(wildcard test/msg_packages/vision_msgs/*.* test/msg_packages/vision_msgs/msg/*.msg)
# $(call build_vision_msgs,VENV) in build/VENV/vision_msgs; its log is make.log there.
define build_vision_msgs
rm -rf build/$(1)/vision_msgs && mkdir -p build/$(1)/vision_msgs
export PATH="$(abspath $(1))/bin:$$PATH" AMENT_PREFIX_PATH="$(abspath $(1))" && { \
	cmake -S test/msg_packages/vision_msgs -B build/$(1)/vision_msgs -DCMAKE_INSTALL_PREFIX="$(abspath $(1))" \
		-DCMAKE_PREFIX_PATH="$(abspath $(1))" -DPython3_EXECUTABLE="$(abspath $(1))/bin/python" -DBUILD_TESTING=OFF \
	&& cmake --build build/$(1)/vision_msgs -j2 && cmake --install build/$(1)/vision_msgs; \
} > build/$(1)/vision_msgs/make.log 2>&1 || { tail -40 build/$(1)/vision_msgs/make.log; exit 1; }
touch $@
endef
$(VENV)/.vision_msgs: $(VENV)/.full $(MSG_SOURCES)
	$(call build_vision_msgs,$(VENV))

# What a venv runs: Python and the releases that matter most, one line.
VERSIONS := -c 'import sys, importlib.metadata as m; \
	have = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in m.distributions()}; \
	names = "numpy opencv-python-headless onnxruntime onnx ros-rclpy ros-jazzy-rclpy torch transformers pytest"; \
	print("python " + sys.version.split()[0], *(f"{n} {have[n]}" for n in names.split() if n in have), sep=", ")'

venv: $(VENV)/.runtime
venv-test: $(VENV)/.vision_msgs

demo: $(VENV)/.runtime
	$(VENV)/bin/segtool demo $(DEMO_ARGS)

test: $(VENV)/.vision_msgs
	$(PY) $(VERSIONS)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The newest release of every dependency, no lock (setup.py's ranges; torch at its pin): what a user who installs
# today gets. A release that breaks the suite turns `make test-latest` (CI) red before a user finds it. The venv is
# upgraded on every run; vision_msgs is rebuilt when any version changed.
LATEST := .venv-latest
$(LATEST)/versions.txt: $(LATEST)/bin/uv FORCE
	$(call UV_PIP,$(LATEST)) --upgrade -e '.[cpu,ros,train,test]'
	$(LATEST)/bin/uv pip freeze --python $(LATEST)/bin/python > $@.new
	cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(LATEST)/.vision_msgs: $(LATEST)/versions.txt $(MSG_SOURCES)
	$(call build_vision_msgs,$(LATEST))

test-latest: $(LATEST)/.vision_msgs
	$(LATEST)/bin/python $(VERSIONS)
	$(LATEST)/bin/python -m pytest -q $(PYTEST_ARGS)

FORCE:

# The runtime on what Ubuntu's ROS 2 distros ship, without torch: Humble (22.04: Python 3.10, numpy 1.21.5,
# OpenCV 4.5.4, pytest 6.2.5) and Jazzy (24.04: Python 3.12, numpy 1.26.4, OpenCV 4.6.0, pytest 7.4.4), both with
# Jazzy's rclpy wheels and the newest onnxruntime that supports that numpy. The Jazzy venv also has mediapipe
# 0.10.14 (needs numpy < 2) for the person model's parity test, which runs from $(VENV).
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON310 ?= $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.10.*/bin/python)))
PYTHON312 ?= $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.12.*/bin/python)))
# setup.py's ROS wheels (requirements/ros-packages.txt), as Jazzy's.
JAZZY_WHEELS := $(addprefix ros-jazzy-,$(shell cat requirements/ros-packages.txt)) PyYAML onnx==1.17.0
HUMBLE_PINS := numpy==1.21.5 opencv-python-headless==4.5.4.60 onnxruntime==1.12.1 pytest==6.2.5
JAZZY_PINS := numpy==1.26.4 opencv-python-headless==4.6.0.66 onnxruntime==1.32.0 pytest==7.4.4 \
	absl-py attrs 'protobuf>=4.25.3,<5' matplotlib
# In both venvs: what depends on Python, numpy and OpenCV. In the Jazzy one only: the rest of the node's DDS tests
# (both venvs run Jazzy's rclpy and Fast DDS 2, so once is enough).
COMPAT_TESTS := test/test_node.py test/test_image_codec.py test/test_pipeline.py test/test_publishing.py \
	test/test_params.py test/test_optimized_paths.py test/test_model_metadata.py test/test_architecture.py
JAZZY_TESTS := test/test_health.py test/test_cameras.py test/test_lifecycle.py test/test_camera_qos.py \
	test/test_road_model.py

.venv-humble/.compat: setup.py Makefile
	@test -x "$(PYTHON310)" || { echo 'make test-compat: no Python 3.10 (set PYTHON310 or pyenv install 3.10)'; exit 1; }
	$(PYTHON310) -m venv .venv-humble
	.venv-humble/bin/pip install -q $(HUMBLE_PINS) $(JAZZY_WHEELS)
	.venv-humble/bin/pip install -q --no-deps -e .
	touch $@

.venv-jazzy/.compat: setup.py Makefile
	@test -x "$(PYTHON312)" || { echo 'make test-compat: no Python 3.12 (set PYTHON312 or pyenv install 3.12)'; exit 1; }
	$(PYTHON312) -m venv .venv-jazzy
	.venv-jazzy/bin/pip install -q $(JAZZY_PINS) $(JAZZY_WHEELS)
	.venv-jazzy/bin/pip install -q --no-deps -e . mediapipe==0.10.14
	touch $@

test-compat: .venv-humble/.compat .venv-jazzy/.compat $(VENV)/.full
	for venv in .venv-humble .venv-jazzy; do \
		$$venv/bin/python $(VERSIONS) \
		&& $$venv/bin/python -m pytest -q -rs $(COMPAT_TESTS) $$([ $$venv = .venv-jazzy ] && echo $(JAZZY_TESTS)) \
			$(PYTEST_ARGS) || exit 1; \
	done
	MEDIAPIPE_PYTHON=$(CURDIR)/.venv-jazzy/bin/python $(PY) -m pytest -q -rs \
		test/test_tflite_onnx.py::test_shipped_model_matches_mediapipe_runtime

bench: $(VENV)/.vision_msgs
	$(VENV)/bin/segtool bench $(BENCH_ARGS)

# The GPU check (docs/performance.md "GPU check"): run where the only ONNX Runtime is onnxruntime-gpu, i.e. a fresh
# clone with `make gpu-check ORT=gpu`, or GPU_PYTHON=<a Python that has it> (a Jetson: JetPack's wheel). Without a
# CUDA provider it says so and exits 0.
GPU_PYTHON ?= $(PY)
$(VENV)/.gpu-check: $(VENV)/.runtime
	$(PY) -m pip install -q onnx
	touch $@

gpu-check: $(if $(filter $(PY),$(GPU_PYTHON)),$(VENV)/.gpu-check)
	$(GPU_PYTHON) -m segtool gpu-check $(GPU_CHECK_ARGS)

# Camera and node on two hosts: two network namespaces over a shaped veth link (root; docs/networking.md).
bench-network: $(VENV)/.runtime
	$(PY) -m segtool.bench.network $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(LATEST) .venv-humble .venv-jazzy demo_out build *.egg-info
