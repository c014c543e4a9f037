"""A real `dlrun serve` process on a free port of 127.0.0.1, for the serve tests."""

import socket
import subprocess
import time
from pathlib import Path

import requests

from tests.processes import DLRUN, cli_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`dlrun serve RUN ARGS` started, ready (GET /health answers), its log in a file."""

    def __init__(self, run: Path, *args: str, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                [DLRUN, "serve", str(run), "--port", str(self.port), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=cli_env(),
                cwd=Path(run).parent,  # where the run was trained: its own modules import
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dlrun serve ended ({self.process.returncode}):\n{log.read_text()}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"dlrun serve did not answer in 120 s:\n{log.read_text()}")

    def post(self, **kwargs) -> requests.Response:
        return requests.post(f"{self.url}/predict", timeout=60, **kwargs)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", timeout=30)

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(30)
