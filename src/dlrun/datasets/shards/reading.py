"""A shard's bytes, from a local path (the file kept open, read per sample: the OS caches it), an
http(s) address or an s3://bucket/prefix (the whole shard fetched once into a small per-process
cache: plain HTTP servers answer no byte ranges, and a training order that reads a few shards at
a time, ShardWindows, makes each fetch serve many samples).

S3 (extra `dlrun[s3]`: boto3) takes boto3's own settings: credentials from the environment,
~/.aws or an instance role, and AWS_ENDPOINT_URL for S3-compatible stores (MinIO, Ceph, R2 ...)."""

import os
import urllib.request
from collections import OrderedDict
from pathlib import Path

from dlrun.errors import DlrunError, first_line

TIMEOUT = 60
S3_NEEDS = "reading s3:// addresses needs boto3, not installed: pip install 'dlrun[s3]'."
_S3 = {}  # {process id: its boto3 client}: made at first use, as a client is not to be shared by forked workers


def remote(url: str) -> bool:
    return str(url).startswith(("http://", "https://", "s3://"))


def join(url: str, name: str) -> str:
    """`name` in the folder or under the address `url`."""
    url = str(url)
    if remote(url):
        return url.rstrip("/") + "/" + name
    return str(Path(url).expanduser() / name)


def fetch(where: str) -> bytes:
    """The whole object at an http(s) or s3:// address; OSError when it cannot be had."""
    if not where.startswith("s3://"):
        with urllib.request.urlopen(where, timeout=TIMEOUT) as answer:
            return answer.read()
    bucket, _, key = where.removeprefix("s3://").partition("/")
    try:
        return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except ImportError as err:
        raise DlrunError(f"{where}: {S3_NEEDS}") from err
    except Exception as err:  # botocore's ClientError (NoSuchKey, AccessDenied ...), NoCredentialsError, connection
        raise OSError(first_line(err)) from err


def s3_client():
    if os.getpid() not in _S3:
        import boto3
        from botocore.config import Config

        _S3[os.getpid()] = boto3.client(
            "s3", config=Config(connect_timeout=TIMEOUT, read_timeout=TIMEOUT, retries={"max_attempts": 5})
        )
    return _S3[os.getpid()]


def read_text(where: str) -> str:
    if remote(where):
        return fetch(where).decode()
    with open(where, encoding="utf-8") as f:
        return f.read()


class ShardReader:
    """Sample bytes by (shard name, offset, size) under `url`; `cache`: whole remote shards kept."""

    def __init__(self, url: str, cache: int = 8):
        self.url, self.cache, self.held = str(url), cache, OrderedDict()

    def read(self, shard: str, offset: int, size: int) -> bytes:
        where = join(self.url, shard)
        if not remote(where):  # a file kept open (up to `cache` of them), read where the sample lies
            try:
                handle = self.held.get(shard)
                if handle is None:
                    handle = self.held[shard] = open(where, "rb")  # noqa: SIM115 (closed when evicted)
                    while len(self.held) > self.cache:
                        self.held.popitem(last=False)[1].close()
                # pread, not seek + read: forked loader workers share an inherited descriptor's position
                return os.pread(handle.fileno(), size, offset)
            except OSError as err:
                raise DlrunError(f"shard {where} could not be read ({err}).") from err
        data = self.held.get(shard)
        if data is None:
            try:
                data = fetch(where)
            except OSError as err:
                raise DlrunError(f"shard {where} could not be fetched ({err}).") from err
            self.held[shard] = data
            while len(self.held) > self.cache:
                self.held.popitem(last=False)
        else:
            self.held.move_to_end(shard)
        return data[offset : offset + size]

    def __getstate__(self):  # worker processes start with an empty cache
        return {"url": self.url, "cache": self.cache, "held": OrderedDict()}
