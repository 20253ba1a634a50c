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

.PHONY: demo test test-compat bench gpu-check bench-network venv venv-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Runtime: the node, the demo camera, ONNX Runtime (ORT=cpu: onnxruntime; ORT=gpu: onnxruntime-gpu) and ROS 2 from PyPI.
ORT ?= cpu
$(VENV)/.runtime: $(PY) setup.py
	$(PY) -m pip install -q -e '.[$(ORT),ros]'
	touch $@

# Everything: the runtime plus the torch toolchain and the test tools.
$(VENV)/.full: $(VENV)/.runtime
	$(PY) -m pip install -q -e '.[cpu,ros,train,test]'
	touch $@

# vision_msgs (LabelInfo, VisionClass) is not on PyPI: built from test/msg_packages/vision_msgs with the ROS generators of the
# test extra and installed into the venv, as colcon would (test/msg_packages/vision_msgs/README.md).
VISION_MSGS_BUILD := build/vision_msgs
$(VENV)/.vision_msgs: $(VENV)/.full $(wildcard test/msg_packages/vision_msgs/*.* test/msg_packages/vision_msgs/msg/*.msg)
	rm -rf $(VISION_MSGS_BUILD) && mkdir -p $(VISION_MSGS_BUILD)
	export PATH="$(abspath $(VENV))/bin:$$PATH" AMENT_PREFIX_PATH="$(abspath $(VENV))" && { \
		cmake -S test/msg_packages/vision_msgs -B $(VISION_MSGS_BUILD) -DCMAKE_INSTALL_PREFIX="$(abspath $(VENV))" \
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

# The runtime on what Ubuntu's ROS 2 distros ship, without torch: Humble (22.04: Python 3.10, numpy 1.21.5,
# OpenCV 4.5.4, pytest 6.2.5) and Jazzy (24.04: Python 3.12, numpy 1.26.4, OpenCV 4.6.0, pytest 7.4.4), both with
# Jazzy's rclpy wheels and the newest onnxruntime that supports that numpy. The Jazzy venv also has mediapipe
# 0.10.14 (needs numpy < 2) for the person model's parity test, which runs from $(VENV).
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON310 ?= $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.10.*/bin/python)))
PYTHON312 ?= $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.12.*/bin/python)))
JAZZY_WHEELS := ros-jazzy-rclpy ros-jazzy-sensor-msgs ros-jazzy-std-msgs ros-jazzy-diagnostic-msgs \
	ros-jazzy-rcl-interfaces ros-jazzy-ament-index-python ros-jazzy-rmw-fastrtps-cpp ros-jazzy-lifecycle-msgs \
	ros-jazzy-rcl-lifecycle PyYAML onnx==1.17.0
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
		$$venv/bin/python -c 'import sys, numpy, cv2, onnxruntime; print(sys.version.split()[0], numpy.__version__, cv2.__version__, onnxruntime.__version__)' \
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
	rm -rf $(VENV) .venv-humble .venv-jazzy demo_out build *.egg-info
