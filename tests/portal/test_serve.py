"""``yizhan serve`` serves the whole platform from one process.

Run as an operator would: a fresh SQLite database in a temporary folder,
``yizhan migrate``, then ``yizhan serve`` on a free port; the portal, the
API and a static file answer, and the process reports that background work
runs in it.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

YIZHAN = Path(sys.executable).with_name("yizhan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
        return response.status, response.read().decode()


def test_serve_answers_pages_api_and_static_files(tmp_path):
    """One process serves the portal in Chinese, the API and the stylesheet."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(YIZHAN_DEBUG="1", YIZHAN_VAR_DIR=str(tmp_path),
               DJANGO_SETTINGS_MODULE="yizhan.settings")
    subprocess.run([str(YIZHAN), "migrate", "--noinput", "-v0"], env=env, check=True,  # noqa: S603
                   timeout=300)
    port = _free_port()
    server = subprocess.Popen([str(YIZHAN), "serve", "--port", str(port)], env=env,  # noqa: S603
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(120):
            try:
                status, body = _get(f"{base}/")
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"yizhan serve exited: {server.stdout.read()}")
                time.sleep(0.5)
        else:
            pytest.fail("yizhan serve did not answer within a minute")
        assert status == 200 and "一站式网上政务服务" in body
        status, body = _get(f"{base}/api/v1/directory/divisions")
        assert status == 200 and body.startswith("[")
        status, body = _get(f"{base}/static/portal/site.css")
        assert status == 200 and "large-text" in body
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "background work runs in this process" in output
