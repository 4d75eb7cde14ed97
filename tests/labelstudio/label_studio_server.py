"""A real Label Studio server and our backend, started for end-to-end tests.

Label Studio lives in its own virtual environment (``.ci/run`` makes ``.venv-labelstudio``);
``FOCALXL_LABEL_STUDIO`` names its ``label-studio`` executable. Without it the tests skip,
except under ``CI=true``, where a missing server is a failure.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
TOKEN = "focalxl-e2e-token-0123456789"


def missing(reason: str) -> None:
    """Skip for want of an end-to-end tool; under ``CI=true`` the tool must be there, so fail."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def label_studio_executable() -> str:
    path = os.environ.get("FOCALXL_LABEL_STUDIO") or str(REPO / ".venv-labelstudio" / "bin" / "label-studio")
    if not os.access(path, os.X_OK):
        missing(f"no Label Studio server at {path} (make it with: python3 -m venv .venv-labelstudio && "
                f".venv-labelstudio/bin/pip install label-studio, or set FOCALXL_LABEL_STUDIO)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(url: str, process: subprocess.Popen, log: Path, seconds: float, **kwargs) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2, **kwargs).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@dataclass
class Running:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_label_studio(workdir: Path) -> Running:
    """Label Studio with a user whose legacy token is ``TOKEN`` and loopback ML backends allowed."""
    port = free_port()
    data = workdir / "label-studio-data"
    data.mkdir()
    env = dict(os.environ, LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true", LABEL_STUDIO_ML_BLOCK_LOCAL_IP="false",
               LABEL_STUDIO_SSRF_PROTECTION_ENABLED="false",  # the ML backend's webhook is on loopback too
               LABEL_STUDIO_LATEST_VERSION_CHECK="false", LABEL_STUDIO_COLLECT_ANALYTICS="false",
               LABEL_STUDIO_BASE_DATA_DIR=str(data), LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
               fflag_feat_utc_210_prediction_validation_15082025="true")
    log = workdir / "label-studio.log"
    command = [label_studio_executable(), "start", "--no-browser", "-p", str(port), "--data-dir", str(data),
               "--username", "e2e@example.com", "--password", "e2e-password", "--user-token", TOKEN]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{announced_port(process, log, 600)}"   # it moves on when the port is taken; slow when loaded
    wait_until(f"{url}/api/projects", process, log, 120, headers={"Authorization": f"Token {TOKEN}"})
    return Running(url, process, log)


def announced_port(process: subprocess.Popen, log: Path, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(r"Starting development server at http://[^:]+:(\d+)/", log.read_text())
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            raise RuntimeError(f"Label Studio exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    raise RuntimeError(f"Label Studio did not start within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def start_backend(workdir: Path, label_studio_url: Optional[str] = None, threads: int = 4, **settings: str) -> Running:
    """``python -m focalxl.labelstudio`` on a free port, fetching media from ``label_studio_url``, with ``settings``."""
    port = free_port()
    env = dict(os.environ, FOCALXL_PRESET="classical", **settings)
    if label_studio_url:
        env.update(LABEL_STUDIO_URL=label_studio_url, LABEL_STUDIO_API_KEY=TOKEN)
    env.pop("BASIC_AUTH_USER", None)
    log = workdir / f"backend-{port}.log"
    process = subprocess.Popen([sys.executable, "-m", "focalxl.labelstudio", "--host", "127.0.0.1", "--port", str(port),
                                "--threads", str(threads)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until(f"{url}/health", process, log, 120)
    return Running(url, process, log)
