"""The MLflow UI as a user meets it after the main job: the URL train.py prints opens on the run in headless
chromium, with the loss curves in their own section and the kept checkpoint's val_loss as the run's value.
Screenshots go to reports/mlflow_ui/."""

import re
import subprocess

import pytest

from serving.local import REPO, free_port, stop_process_group, wait_for_http
from tests.conftest import SMALL_POSTURE, chromium, run_entry_point

pytestmark = pytest.mark.slow

ARTEFACTS = REPO / "reports" / "mlflow_ui"


@pytest.fixture
def trained_and_ui(tmp_path):
    """A small main job (train.py model=cnn), then `mlflow ui` on its store on a free port."""
    proc = run_entry_point("train.py", tmp_path, *SMALL_POSTURE, "model=cnn")
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = proc.stdout + proc.stderr
    url = re.search(r"open (http://127\.0\.0\.1:5000/\S+)", said)
    assert url, said[-2000:]
    port = free_port()
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cmd = [str(REPO / ".venv" / "bin" / "mlflow"), "ui", "--backend-store-uri", store, "--port", str(port)]
    ui = subprocess.Popen(
        [*cmd, "--workers", "1"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for_http(ui, f"http://127.0.0.1:{port}/health", 90, lambda: ui.stdout.read()[-2000:])
        yield url.group(1).replace(":5000/", f":{port}/"), store, port
    finally:
        stop_process_group(ui)


def test_the_printed_url_opens_on_the_run_with_its_curves_and_kept_values(trained_and_ui):
    import mlflow
    from playwright.sync_api import sync_playwright

    url, store, port = trained_and_ui
    (run,) = mlflow.MlflowClient(tracking_uri=store).search_runs(["1"])
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium()), headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.get_by_text("per_exercise_and_label").first.wait_for(timeout=60_000)
        page.screenshot(path=ARTEFACTS / "run_metrics.png")
        body = page.inner_text("body")
        assert run.info.run_name in body and "Model training" in body
        # sections: the epoch curves, the breakdowns set aside, the few headline metrics
        assert re.search(r"epoch\s*\(\d+\)", body)
        assert body.index("epoch") < body.index("per_exercise_and_label")
        page.goto(
            f"http://127.0.0.1:{port}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
            "/overview?workflowType=machine_learning"
        )
        page.get_by_text("val_loss").first.wait_for(timeout=60_000)
        page.screenshot(path=ARTEFACTS / "run_overview.png")
        # the run's val_loss is the kept checkpoint's (also test_best_val_loss), not the last epoch's
        kept = run.data.metrics["val_loss"]
        assert kept == pytest.approx(run.data.metrics["test_best_val_loss"])
        overview = page.inner_text("body")
        assert f"{kept:.4g}"[:5] in overview and "test_clip_f1" in overview
        headline = [k for k in run.data.metrics if "/" not in k]
        assert len(headline) <= 50, sorted(headline)
        browser.close()
