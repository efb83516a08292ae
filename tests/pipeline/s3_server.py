"""A real S3 API server on 127.0.0.1 (moto) that checks request signatures, per test session.

moto's server accepts any secret unless it starts with INITIAL_NO_AUTH_ACTION_COUNT set: the first
that many requests go through unauthenticated, and every later one must be signed with a key made
through its IAM API. The fixture spends those first requests creating a user, its S3 policy and
its access key, so every DVC request after that is really authenticated.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

REGION = "us-east-1"
# CreateUser, PutUserPolicy and CreateAccessKey go through before authentication is enforced.
UNAUTHENTICATED_ACTIONS = 3
STARTUP_TIMEOUT_S = 30
S3_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


@dataclass(frozen=True)
class S3Server:
    """Where the server listens and the credentials it accepts."""

    endpoint: str
    access_key_id: str
    secret_access_key: str

    def client(self, secret: str | None = None):
        """A boto3 S3 client signing with this server's key (or with ``secret`` instead)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
        )

    def env(self, secret: str | None = None) -> dict[str, str]:
        """Environment variables pointing AWS clients, DVC included, at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": secret or self.secret_access_key,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
        }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Poll ``url`` until the server answers; fail with its output if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto_server did not answer on {url} within {timeout} s")


def create_credentials(endpoint: str) -> tuple[str, str]:
    """Create an IAM user allowed s3:* and return its access key id and secret."""
    iam = boto3.client(
        "iam", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap",
    )  # fmt: skip
    iam.create_user(UserName="dvc")
    iam.put_user_policy(UserName="dvc", PolicyName="s3", PolicyDocument=json.dumps(S3_POLICY))
    key = iam.create_access_key(UserName="dvc")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A moto S3 server on 127.0.0.1 enforcing signatures, stopped at the end of the session."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("w")
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(UNAUTHENTICATED_ACTIONS)}
    moto_server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until_listening(endpoint, process, STARTUP_TIMEOUT_S)
        access_key_id, secret = create_credentials(endpoint)
        yield S3Server(endpoint, access_key_id, secret)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
