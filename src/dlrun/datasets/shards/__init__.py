"""Data as shards: `dlrun data convert` writes any data set dlrun reads (images with classes, labels,
masks or boxes; audio; tables, arrays, text; your own Dataset) as WebDataset-format tar shards (plain
POSIX tar, each sample `<key>.<ext>` members, readable by `webdataset` and `tar`) with a manifest
that indexes every sample's byte range; `dataset=shards dataset.url=...` trains from them, on a
local path, a shared file system or an HTTP(S) server.

Random access through the index (not a stream) is what keeps dlrun's guarantees: every sample
once per epoch over N processes x W workers (the samplers dlrun's files use), shuffling that
reads a few shards at a time (ShardWindows), and mid-epoch resume by the same replay as files.

  manifest.py   the manifest and index (format, kind, DataInfo, splits, samples with their members' byte ranges)
  reading.py    a shard's bytes from a path or a URL (whole shards, cached per worker)
  records.py    what a sample of each kind becomes: the files' own bytes, or your Dataset's samples as it gives them
  convert.py    any data set dlrun reads -> shards, in parallel worker processes
  samples.py    ShardSamples (a map-style Dataset) and ShardWindows (the training order)
  bundle.py     dataset=shards: the DataBundle, each split through the converted run's pipeline
"""
