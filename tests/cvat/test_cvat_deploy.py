"""What CVAT reads from the function YAMLs, the deploy scripts (against a stand-in ``nuctl``),
and the environment variables that pick the preset."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from focalxl.cvat import Limits, Settings
from nuclio_runtime import NUCLIO_DIR, NuclioFunction

REPO = Path(__file__).resolve().parents[2]


def function_yaml(name: str) -> dict:
    return yaml.safe_load((NUCLIO_DIR / name).read_text())


@pytest.mark.parametrize("name", ["function.yaml", "function-gpu.yaml"])
def test_cvat_lists_the_function_as_a_version_2_interactor_of_our_own(name):
    config = function_yaml(name)
    meta = config["metadata"]
    assert meta["name"] == "focalxl-interactor" != "pth-facebookresearch-sam-vit-h"
    assert meta["namespace"] == "cvat"
    notes = meta["annotations"]
    assert notes["type"] == "interactor" and int(notes["version"]) == 2
    assert int(notes["min_pos_points"]) == 1 and int(notes["min_neg_points"]) == 0
    assert notes["startswith_box_optional"] is True and "startswith_box" not in notes
    assert notes["help_message"]
    spec = config["spec"]
    assert spec["handler"] == "main:handler"
    env = {e["name"]: e["value"] for e in spec["env"]}
    assert env["FOCALXL_PRESET"] == "classical"
    assert Settings.from_environment(env).limits() == Limits()
    body_limit = spec["triggers"]["myHttpTrigger"]["attributes"]["maxRequestBodySize"]
    assert body_limit == 32 * 1024 ** 2 == int(env["FOCALXL_MAX_BODY_MB"]) * 1024 ** 2


def test_the_cpu_image_installs_cpu_torch_before_focalxl_and_the_gpu_image_asks_for_a_gpu():
    cpu, gpu = function_yaml("function.yaml"), function_yaml("function-gpu.yaml")
    for config, wheels in ((cpu, "whl/cpu"), (gpu, "whl/cu")):
        directives = config["spec"]["build"]["directives"]
        assert wheels in " ".join(d["value"] for d in directives["preCopy"])
        assert "focalxl-*.whl" in directives["postCopy"][-1]["value"]
    assert "resources" not in cpu["spec"]
    assert gpu["spec"]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert cpu["metadata"]["name"] == gpu["metadata"]["name"]


@pytest.fixture
def fake_nuctl(tmp_path):
    """A stand-in ``nuctl`` that records its arguments and keeps a copy of the build context."""
    script = tmp_path / "nuctl"
    script.write_text(f"""#!/usr/bin/env bash
echo "$*" >> {tmp_path}/calls
while [[ $# -gt 0 ]]; do
    if [[ "$1" == --path ]]; then cp -r "$2" {tmp_path}/context; fi
    shift
done
exit 0
""")
    script.chmod(0o755)
    return tmp_path


@pytest.mark.parametrize("script, yaml_name", [("deploy_cpu.sh", "function.yaml"), ("deploy_gpu.sh", "function-gpu.yaml")])
def test_the_deploy_script_ships_main_the_yaml_and_a_focalxl_wheel_to_nuctl(fake_nuctl, script, yaml_name):
    checkpoint = fake_nuctl / "weights.pth"
    checkpoint.write_bytes(b"not really weights")
    env = {**os.environ, "NUCTL": str(fake_nuctl / "nuctl"), "PYTHON": sys.executable,
           "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",    # offline: build with this venv's setuptools
           "FOCALXL_PRESET": "classical", "FOCALXL_MAX_PIXELS": "1234", "FOCALXL_CHECKPOINT": str(checkpoint),
           "FOCALXL_MAX_PROMPTS": "40", "FOCALXL_MAX_BODY_MB": "8"}
    subprocess.run([str(REPO / "deploy" / script)], env=env, check=True, capture_output=True)
    deploy = next(line for line in (fake_nuctl / "calls").read_text().splitlines() if line.startswith("deploy"))
    assert "--project-name cvat" in deploy and "--platform local" in deploy and f"/{yaml_name}" in deploy
    for setting in ("FOCALXL_MAX_PIXELS=1234", "FOCALXL_MAX_PROMPTS=40", "FOCALXL_MAX_BODY_MB=8"):
        assert f"--env {setting}" in deploy
    assert "--env FOCALXL_CHECKPOINT=/opt/nuclio/checkpoint/weights.pth" in deploy
    context = fake_nuctl / "context"
    assert (context / "main.py").read_text() == (NUCLIO_DIR / "main.py").read_text()
    assert (context / yaml_name).is_file() and (context / "checkpoint" / "weights.pth").is_file()
    (wheel,) = context.glob("focalxl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "focalxl/cvat/interactor.py" in names and "focalxl/session.py" in names


def test_environment_variables_choose_preset_checkpoint_device_and_limits():
    settings = Settings.from_environment({"FOCALXL_PRESET": "classical", "FOCALXL_CHECKPOINT": "/w.pth",
                                          "FOCALXL_DEVICE": "cuda", "FOCALXL_MAX_PIXELS": "12_000_000",
                                          "FOCALXL_SESSION_MB": "512", "FOCALXL_MAX_PROMPTS": "40",
                                          "FOCALXL_MAX_BODY_MB": "8"})
    assert settings == Settings("classical", "/w.pth", "cuda", 12_000_000, 512, 40, 8)
    assert settings.limits() == Limits(max_prompts=40, max_body_bytes=8 * 1024 ** 2)
    assert Settings.from_environment({}) == Settings()
    assert Settings.from_environment({"FOCALXL_DEVICE": "auto"}).device is None


@pytest.mark.parametrize("name, value", [("FOCALXL_MAX_PIXELS", "lots"), ("FOCALXL_SESSION_MB", "-5"),
                                         ("FOCALXL_MAX_PROMPTS", "0"), ("FOCALXL_MAX_BODY_MB", "1.5")])
def test_a_malformed_variable_is_named_when_the_function_starts(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_environment({name: value})


def test_an_unknown_preset_stops_init_context_with_the_presets_listed(focalxl_environment):
    focalxl_environment.setenv("FOCALXL_PRESET", "no-such-preset")
    with pytest.raises(ValueError, match="no-such-preset.*classical"):
        NuclioFunction().call({})
