"""A server speaking the S3 protocol over HTTP on loopback, for the tests: moto's standalone
server (``moto[server]`` in requirements-dev.txt) as a subprocess on a free port. MinIO and
Garage are not installable from the package registries the tests may use; moto answers the
same REST calls (multipart uploads, ranged and presigned GETs, paginated listings)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

ACCESS_KEY, SECRET_KEY = "wharf-test-access", "wharf-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """``start()`` launches the server and waits until it answers; ``stop()`` ends it."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> S3Server:
        env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server did not answer within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def empty_bucket(self, name: str) -> None:
        """Delete every object, then the bucket."""
        client = self.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=obj["Key"])
        client.delete_bucket(Bucket=name)

    def keys(self, name: str, prefix: str = "") -> list[str]:
        client = self.client()
        return [
            obj["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]
