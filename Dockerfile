# The LiftSense service image (serving/): `make image` builds it with buildah, `make image-check` runs it once and
# calls /readyz. No registry serves a base image here, so `container/build.sh` makes one from Debian's own
# packages (debootstrap: bookworm, whose python3 is the 3.11 the project pins) and builds this file on it.
#
# Models are NOT baked in: the service loads each task's @champion from the MLflow registry at MLFLOW_TRACKING_URI
# when it starts. Promotion is the gate (a model must beat its baseline on validation data), so a newly promoted
# champion is served by restarting the container, with no rebuild, and an image never carries a model that was
# demoted after it was built. Without a registry the service still runs: counts, range and tempo without verdicts,
# the rest forecast from its validated baseline, and `models` says so.
#
#   docker/podman run -p 3000:3000 -v $PWD/liftsense-data:/data liftsense      # /data: mlflow.db, stream state
#   ... -e MLFLOW_TRACKING_URI=http://mlflow:5000                               # or a tracking server
ARG BASE=localhost/liftsense-base:bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8 \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    BENTOML_HOME=/home/liftsense/bentoml BENTOML_DO_NOT_TRACK=True \
    MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true \
    MLFLOW_TRACKING_URI=sqlite:////data/mlflow.db LIFTSENSE_STATE_DIR=/data/state

WORKDIR /app
COPY pyproject.toml README.md ./
COPY liftsense liftsense
COPY data_validation data_validation
COPY conf conf
COPY serving serving
# pip settings of the building machine (container/build.sh passes them), and TORCH_INDEX for the CPU wheels where
# the registry's torch is the multi-GB CUDA build; the build fails rather than ship CUDA torch
ARG PIP_INDEX_URL= PIP_EXTRA_INDEX_URL= PIP_FIND_LINKS= PIP_CONSTRAINT= PIP_CERT= TORCH_INDEX=
RUN python3 -m venv /opt/venv \
 && pip install --no-cache-dir --disable-pip-version-check ${TORCH_INDEX:+--extra-index-url $TORCH_INDEX} \
      torch==2.13.0 . \
 && python3 -c "import torch, sys; sys.exit(torch.version.cuda and 'CUDA torch in a CPU image')" \
 && useradd --create-home --uid 10001 liftsense \
 && mkdir -p /data/state /data/gateway /data/mlflow-artifacts && chown -R liftsense /data \
 && find /app -name __pycache__ -prune -exec rm -rf {} +

USER liftsense
VOLUME /data
EXPOSE 3000
HEALTHCHECK CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/readyz')"
CMD ["bentoml", "serve", "serving.service:LiftSense", "--host", "0.0.0.0", "--port", "3000"]
