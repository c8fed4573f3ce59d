"""compose.yaml, read as a deployment tool would: every service's command is parsed by the program it starts (so an
option that does not exist fails here), every published port is the one that program listens on, and every URL a
service uses names a service it depends on, at that service's port."""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def _command(name: str) -> list[str]:
    """The argv a service runs; a `sh -c "exec ..."` wrapper (for a password from the environment) unwrapped."""
    command = SERVICES[name]["command"]
    if command[:2] == ["sh", "-c"]:
        (script,) = command[2:]
        assert script.startswith("exec "), "a shell wrapper must exec the server, so that it gets the signals"
        return shlex.split(
            script.removeprefix("exec ").replace("$$", "$")
        )  # compose's escape for a literal $
    return [str(part) for part in command]


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _published(name: str) -> set[int]:
    """The container ports a service publishes ("[ip:]host:container")."""
    return {int(str(p).rsplit(":", 1)[1]) for p in SERVICES[name].get("ports", [])}


def _healthcheck_port(name: str) -> int:
    (url,) = re.findall(r"http://127\.0\.0\.1:(\d+)/", " ".join(SERVICES[name]["healthcheck"]["test"]))
    return int(url)


def _depends(name: str) -> dict[str, str]:
    return {k: v["condition"] for k, v in SERVICES[name].get("depends_on", {}).items()}


def test_the_four_pieces_and_which_run_the_projects_image():
    assert set(SERVICES) == {"postgres", "mlflow", "service", "gateway"}
    for name in ("mlflow", "service", "gateway"):
        assert SERVICES[name]["build"] == "." and (ROOT / "Dockerfile").exists()
        assert SERVICES[name]["image"] == "localhost/liftsense:latest"  # one image, built once


def test_postgres_keeps_its_data_and_its_password_comes_from_the_environment():
    pg = SERVICES["postgres"]
    assert pg["image"].split("/")[-1].startswith("postgres:15")
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?.+\}", pg["environment"]["POSTGRES_PASSWORD"])
    assert _published("postgres") == {5432}
    assert any(v.endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert "pg_isready" in pg["healthcheck"]["test"]


def test_the_tracking_server_command_parses_and_uses_postgres_and_served_artifacts():
    from mlflow.cli import server

    argv = _command("mlflow")
    assert argv[:2] == ["mlflow", "server"]
    ctx = server.make_context("server", argv[2:])  # mlflow's own parser: unknown options fail
    backend = urlsplit(ctx.params["backend_store_uri"])
    assert backend.scheme == "postgresql+psycopg" and backend.hostname == "postgres" and backend.port == 5432
    assert backend.password == "${POSTGRES_PASSWORD}"  # expanded by the shell at start, never written here
    assert backend.path == "/" + SERVICES["postgres"]["environment"]["POSTGRES_DB"]
    assert ctx.params["serve_artifacts"] and ctx.params["artifacts_destination"] == "/data/mlflow-artifacts"
    assert any(v.endswith(":/data/mlflow-artifacts") for v in SERVICES["mlflow"]["volumes"])
    port = ctx.params["port"]
    assert ctx.params["host"] == "0.0.0.0" and _published("mlflow") == {port} == {_healthcheck_port("mlflow")}
    assert f"mlflow:{port}" in ctx.params["allowed_hosts"].split(",")  # the name the others call it by
    assert _depends("mlflow") == {"postgres": "service_healthy"}


def test_the_service_runs_the_images_command_and_loads_models_through_the_tracking_server():
    argv = _command("service")
    dockerfile_cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert argv == yaml.safe_load(dockerfile_cmd)  # the image's own command
    assert argv[:3] == ["bentoml", "serve", "serving.service:LiftSense"]
    port = int(_option(argv, "--port"))
    assert _option(argv, "--host") == "0.0.0.0" and _published("service") == {port} == {
        _healthcheck_port("service")
    }
    tracking = urlsplit(SERVICES["service"]["environment"]["MLFLOW_TRACKING_URI"])
    mlflow_port = _healthcheck_port("mlflow")
    assert (tracking.hostname, tracking.port) == ("mlflow", mlflow_port)
    assert _depends("service") == {"mlflow": "service_healthy"}
    state = SERVICES["service"]["environment"]["LIFTSENSE_STATE_DIR"]
    assert any(v.endswith(f":{state}") for v in SERVICES["service"]["volumes"])


def test_the_gateway_command_parses_and_calls_the_service_it_waits_for():
    from serving.gateway.__main__ import parser

    argv = _command("gateway")
    assert argv[:3] == ["python3", "-m", "serving.gateway"]
    args = parser().parse_args(argv[3:])  # the gateway's own parser
    assert args.host == "0.0.0.0" and _published("gateway") == {args.port, args.status_port}
    service = urlsplit(args.service)
    assert (service.hostname, service.port) == ("service", _healthcheck_port("service"))
    assert _depends("gateway") == {"service": "service_healthy"}
    assert any(v.endswith(f":{args.journal.parent}") for v in SERVICES["gateway"]["volumes"])  # never lost


@pytest.mark.parametrize("volume", ["postgres", "mlflow-artifacts", "service-state", "gateway-journal"])
def test_every_stateful_volume_is_named_and_documented(volume):
    assert volume in COMPOSE["volumes"]
    assert f"`{volume}`" in (ROOT / "docs" / "deploy.md").read_text()  # with what to back up
