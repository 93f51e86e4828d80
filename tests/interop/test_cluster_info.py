"""The official 2.12.0 SDK's own compatibility check accepts our cluster-info document."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from durable_workflow.protocol import manifest

pytestmark = pytest.mark.interop

_CHECK = (
    "import json, sys\n"
    "from durable_workflow.worker import _validate_server_compatibility\n"
    "_validate_server_compatibility(json.loads(sys.stdin.read()))\n"
    "print('ok')\n"
)


def test_official_sdk_accepts_the_cluster_info(official_python: Path) -> None:
    info = manifest.cluster_info(server_id="s", version="0.1.0", max_payload_bytes=2097152)
    out = subprocess.run([str(official_python), "-c", _CHECK], input=json.dumps(info),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_official_sdk_rejects_a_broken_cluster_info(official_python: Path) -> None:
    # Guards the check above: the probe really exercises the SDK's validator.
    info = manifest.cluster_info(server_id="s", version="0.1.0", max_payload_bytes=2097152)
    info["worker_protocol"]["version"] = "1.2"
    out = subprocess.run([str(official_python), "-c", _CHECK], input=json.dumps(info),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "compatib" in out.stderr.lower()
