"""Data as shards: `dlrun data convert` writes a data set as WebDataset-format tar shards (plain
POSIX tar, each sample `<key>.<ext>` members, readable by `webdataset` and `tar`) with a manifest
that indexes every sample's byte range; `dataset=shards dataset.url=...` trains from them, on a
local path, a shared file system or an HTTP(S) server.

Random access through the index (not a stream) is what keeps dlrun's guarantees: every sample
once per epoch over N processes x W workers (the samplers dlrun's files use), shuffling that
reads a few shards at a time (ShardWindows), and mid-epoch resume by the same replay as files.

  manifest.py   the manifest and index (format, classes, splits, samples with shard/offset/size)
  reading.py    a shard's bytes from a path or a URL (whole shards, cached per worker)
  convert.py    an image folder -> shards, in parallel worker processes
  samples.py    ShardImages (a map-style Dataset) and ShardWindows (the training order)
  bundle.py     dataset=shards: the DataBundle
"""
