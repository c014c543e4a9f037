"""dataset=shards: a DataBundle from the shards `dlrun data convert` wrote, with the transforms
and normalisation the converted run had (dataset.transforms may change them)."""

import logging

from omegaconf import OmegaConf

from dlrun.datasets.info import DataBundle, DataInfo
from dlrun.datasets.shards.manifest import read_manifest
from dlrun.datasets.shards.samples import ShardImages, ShardSplit
from dlrun.datasets.transforms import Transformed, build_transforms, normalisation
from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")


def shards(cfg) -> DataBundle:
    manifest = read_manifest(cfg.url)
    splits = manifest["splits"]
    if not splits.get("train", {}).get("samples"):
        raise DlrunError(f"{cfg.url}: the shards hold no training samples.")
    if manifest["kind"] == "tensors":
        return tensor_shards(cfg, manifest)
    transforms = OmegaConf.merge(OmegaConf.create(manifest["transforms"]), own_transforms(cfg))
    how = manifest["preprocess"]
    if transforms.normalize == "dataset":  # the training split's, as the converted run computed them
        stats = (tuple(how["mean"]), tuple(how["std"])) if how.get("mean") else None
    else:  # none, imagenet's or given ones: nothing to compute
        stats = normalisation(transforms, [], 0)
    train_pipeline = build_transforms(transforms, train=True, stats=stats)
    eval_pipeline = build_transforms(transforms, train=False, stats=stats)
    cache = int(cfg.get("cache_shards") or 8)
    parts = {name: ShardImages(str(cfg.url), splits[name]["samples"], cache) for name in ("train", "val", "test")}
    train = ShardSplit(parts["train"], train_pipeline, int(cfg.get("shuffle_window") or 4))
    val, test = Transformed(parts["val"], None, eval_pipeline), Transformed(parts["test"], None, eval_pipeline)
    classes = tuple(manifest["classes"])
    log.info(
        "shards: %d classes, %s train/val/test samples in %d shards at %s",
        len(classes),
        "/".join(str(len(p)) for p in parts.values()),
        sum(len(splits[n]["shards"]) for n in splits),
        cfg.url,
    )
    input_shape = tuple(val[0][0].shape) if len(val) else tuple(train[0][0].shape)
    preprocess = {
        "kind": "image",
        "mean": list(stats[0]) if stats else None,
        "std": list(stats[1]) if stats else None,
        "resize": OmegaConf.to_container(transforms).get("resize"),
        "transforms": OmegaConf.to_container(transforms, resolve=True),  # predict and export: the config has none
    }
    info = DataInfo(manifest["task"], len(classes), input_shape, classes, preprocess=preprocess)
    return DataBundle(train, val, test, info=info, in_memory=False)


def own_transforms(cfg):
    """The keys of dataset.transforms this run sets (not the group's defaults, which the manifest's replace)."""
    given = cfg.get("transforms")
    return OmegaConf.create({}) if given is None else given


def tensor_shards(cfg, manifest: dict) -> DataBundle:
    """Shards of fixed tensors (a table, arrays, texts as token ids) with the converted data set's DataInfo."""
    from dlrun.datasets.shards.samples import ShardTensors

    info = DataInfo.from_dict(manifest["info"])
    cache = int(cfg.get("cache_shards") or 8)
    parts = {
        name: ShardTensors(str(cfg.url), manifest["splits"][name]["samples"], cache)
        for name in ("train", "val", "test")
    }
    train = ShardSplit(parts["train"], None, int(cfg.get("shuffle_window") or 4))
    collate = None
    if (info.preprocess or {}).get("kind") == "text":  # token ids of any length: padded per batch
        from dlrun.datasets.text.samples import PadBatch

        collate = PadBatch(info.preprocess["pad_id"])
    log.info(
        "shards: %s (%s) as tensors, %s train/val/test samples at %s",
        manifest.get("dataset"),
        info.task,
        "/".join(str(len(p)) for p in parts.values()),
        cfg.url,
    )
    return DataBundle(
        train, Transformed(parts["val"]), Transformed(parts["test"]), info=info, in_memory=False, collate=collate
    )
