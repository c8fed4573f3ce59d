# LiftSense: `make setup train` trains on the built-in data; `make setup test` runs the test suite.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
MODEL ?= cnn

.PHONY: setup train train-rest serve demo gateway emulate image image-check test firmware-test validate lint format bench mlflow-ui tracking-server clean

$(BIN)/python:
	@echo "setup 1/3: a virtual environment in $(VENV)"
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

# torch is pinned in the same command so pip keeps the CPU build (see ../shared/STACK_NOTES.md)
setup: $(BIN)/python
	@echo "setup 2/3: Python packages (torch's CPU build, Lightning, MLflow, BentoML, MediaPipe, ...): about 3-4 minutes the first time"
	$(BIN)/pip install --quiet torch==2.13.0 -e '.[dev]'
	@# the live page's in-browser pose model (package-lock.json); without npm the page estimates pose on the server
	@echo "setup 3/3: the live page's in-browser pose model (npm ci)"
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the live page will estimate pose on the server only (its default)"; fi
	@echo "setup done: activate with '. $(VENV)/bin/activate' to type python training/train.py ..."

# overrides through make: `make train MODEL=lstm ARGS="task=fault trainer.max_epochs=20"`
train:
	$(BIN)/python training/train.py model=$(MODEL) $(ARGS)

train-rest:
	$(BIN)/python training/train.py task=rest_hr model=rest_lstm

# the service on http://127.0.0.1:3000 (Swagger UI at /, OpenAPI at /docs.json); models from ./mlflow.db, where
# the built-in ones are trained and promoted first if the registry has no champion for them
serve:
	$(BIN)/python -m serving.bootstrap
	BENTOML_DO_NOT_TRACK=True $(BIN)/bentoml serve serving.service:LiftSense --host 127.0.0.1 --port 3000

# the whole product on 127.0.0.1: the service with the live page, the gateway and one emulated band replaying a
# strength session; prints the page's URL (http://127.0.0.1:3000/live/...). Ctrl-C stops it all
demo:
	$(BIN)/python -m serving.demo

# the wristband gateway on 127.0.0.1:7100 (status as JSON on :7101/status), journal in ./.liftsense; `make emulate`
# plays 4 simulated strength sessions to it as bands, in real time
gateway:
	$(BIN)/python -m serving.gateway --port 7100 --status-port 7101

emulate:
	$(BIN)/python -m serving.gateway.emulate --bands 4 --port 7100

# the service image (Dockerfile), built with buildah on a Debian base made here by debootstrap (root; Debian packages
# buildah and debootstrap); image-check runs it once with `buildah run` and waits for /readyz
image:
	container/build.sh

image-check: image
	container/check.sh

# the CI data-validation gate: built-in and real datasets (exit 1 = data fails, 2 = could not validate)
validate:
	$(BIN)/python -m data_validation ci

test:
	$(BIN)/python -m pytest -q --durations=25  # the slowest, so CI time can be kept under its limit

# the band's C core (Debian: libcmocka-dev gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm); CI runs it too
firmware-test:
	$(MAKE) -C firmware test

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench:
	$(BIN)/python benchmarks/run_all.py

mlflow-ui:
	@$(BIN)/python -m liftsense.tracking sqlite:///$(CURDIR)/mlflow.db 2>/dev/null || true
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --workers 1

# a team's MLflow tracking server on http://127.0.0.1:5000: PostgreSQL (Debian's postgresql package) kept in
# .liftsense/postgres, artifacts served from .liftsense/mlflow-artifacts. Then `export MLFLOW_TRACKING_URI=
# http://127.0.0.1:5000` and train, sweep, promote and serve through it (docs/deploy.md). Ctrl-C stops it
tracking-server:
	$(BIN)/python -m serving.tracking_server --port 5000

clean:
	rm -rf outputs multirun mlartifacts mlflow.db optuna.db sweeps reports .pytest_cache benchmarks/results
