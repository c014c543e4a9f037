"""A shard's bytes, from a local path (the file kept open, read per sample: the OS caches it) or from an
http(s) address (the whole shard fetched once into a small per-process cache: plain HTTP
servers answer no byte ranges, and a training order that reads a few shards at a time,
ShardWindows, makes each fetch serve many samples)."""

import os
import urllib.request
from collections import OrderedDict
from pathlib import Path

from dlrun.errors import DlrunError

TIMEOUT = 60


def remote(url: str) -> bool:
    return str(url).startswith(("http://", "https://"))


def join(url: str, name: str) -> str:
    """`name` in the folder or under the address `url`."""
    url = str(url)
    if remote(url):
        return url.rstrip("/") + "/" + name
    return str(Path(url).expanduser() / name)


def read_text(where: str) -> str:
    if remote(where):
        with urllib.request.urlopen(where, timeout=TIMEOUT) as answer:
            return answer.read().decode()
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
                with urllib.request.urlopen(where, timeout=TIMEOUT) as answer:
                    data = answer.read()
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
