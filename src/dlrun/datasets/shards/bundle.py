"""dataset=shards: a DataBundle from the shards `dlrun data convert` wrote: the converted run's
DataInfo, and each split through the pipeline that run had (its transforms and normalisation;
dataset.transforms may change them), the training split in ShardWindows order."""

import logging
from dataclasses import replace

from omegaconf import OmegaConf

from dlrun.datasets.info import DataBundle, DataInfo
from dlrun.datasets.shards.manifest import read_index, read_manifest
from dlrun.datasets.shards.samples import ShardClips, ShardSamples, ShardSplit
from dlrun.datasets.transforms import Transformed, build_transforms, normalisation
from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")


def shards(cfg) -> DataBundle:
    manifest = read_manifest(cfg.url)
    splits = manifest["splits"]
    if not manifest["counts"].get("train"):
        raise DlrunError(f"{cfg.url}: the shards hold no training samples.")
    info = DataInfo.from_dict(manifest["info"])
    check_task(cfg.get("task"), manifest)
    how = info.preprocess or {}
    cache = int(cfg.get("cache_shards") or 8)
    parts = {
        name: ShardSamples(
            str(cfg.url),
            splits[name]["shards"],
            read_index(cfg.url, manifest, name),
            manifest["suffixes"],
            cache,
            how.get("sample_rate"),
        )
        for name in ("train", "val", "test")
    }
    kind, collate = manifest["kind"], None
    if kind in ("image", "segmentation", "detection"):
        transforms = OmegaConf.merge(OmegaConf.create(manifest["transforms"]), own_transforms(cfg))
        train, val, test = image_splits(kind, parts, transforms, manifest, info)
        if kind == "detection":
            from dlrun.datasets.detection.samples import collate
        else:  # the input shape and preprocessing as these transforms make them (predict and export read them)
            how = {**how, "resize": OmegaConf.to_container(transforms).get("resize")}
            info = replace(info, input_shape=tuple((val if len(val) else train)[0][0].shape))
        info = replace(info, preprocess={**how, "transforms": OmegaConf.to_container(transforms, resolve=True)})
    elif kind == "audio":
        from dlrun.datasets.audio.clips import ClipFeatures

        augment = manifest.get("spec_augment")
        train, val, test = (
            ShardClips(parts[name], ClipFeatures(how, augment if name == "train" else None), name == "train")
            for name in ("train", "val", "test")
        )
    else:  # tensors as the converted data set held them
        train, val, test = (Transformed(parts[name]) for name in ("train", "val", "test"))
        if how.get("kind") == "text":  # token ids of any length: padded per batch
            from dlrun.datasets.text.samples import PadBatch

            collate = PadBatch(how["pad_id"])
    log.info(
        "shards: %s (%s, %s), %s train/val/test samples in %d shards at %s",
        manifest.get("dataset"),
        info.task,
        kind,
        "/".join(str(len(p)) for p in parts.values()),
        sum(len(splits[n]["shards"]) for n in splits),
        cfg.url,
    )
    train = ShardSplit(train, parts["train"].shard_of, int(cfg.get("shuffle_window") or 4))
    return DataBundle(train, val, test, info=info, in_memory=False, collate=collate)


def image_splits(kind: str, parts: dict, transforms, manifest: dict, info):
    """The three splits of images (with class targets, masks or boxes) through the pipelines the
    converted run built from `transforms`: its statistics when normalize=dataset."""
    how = info.preprocess or {}
    if kind == "detection":
        from dlrun.datasets.detection.samples import Boxed
        from dlrun.datasets.detection.samples import transforms as box_transforms
        from dlrun.datasets.transforms import _extra

        pipelines = {
            train: box_transforms(transforms, train=train, extra=_extra(key, transforms.get(key)))
            for train, key in ((True, "train_extra"), (False, "eval_extra"))
        }
        return (Boxed(parts[name], None, pipelines[name == "train"]) for name in ("train", "val", "test"))
    if transforms.get("normalize") == "dataset":  # the training split's, as the converted run computed them
        stats = (tuple(how["mean"]), tuple(how["std"])) if how.get("mean") else None
    else:  # none, imagenet's or given ones: nothing to compute
        stats = normalisation(transforms, [], 0)
    if kind == "segmentation":
        from dlrun.datasets.segmentation import JointTransformed

        ignore = manifest.get("ignore_index")
        fill = 255 if ignore is None else int(ignore)
        return (
            JointTransformed(
                parts[name],
                None,
                build_transforms(transforms, train=name == "train", stats=stats, mask_fill=fill),
                ignore,
            )
            for name in ("train", "val", "test")
        )
    return (
        Transformed(parts[name], None, build_transforms(transforms, train=name == "train", stats=stats))
        for name in ("train", "val", "test")
    )


def check_task(asked, manifest: dict) -> None:
    """task=... fits the shards' data (the task they were converted for); detection needs it said."""
    held, source = manifest["task"], manifest.get("dataset")
    if asked not in (None, "auto", held):
        raise DlrunError(
            f"task={asked} does not fit these shards: they hold {held} data (dlrun data convert of "
            f"dataset={source}). Use task=auto or task={held}."
        )
    if asked == "auto" and held == "detection":  # as dataset=coco and yolo: the task group sets the detector's loss
        raise DlrunError(
            f"these shards hold detection data (dataset={source}): add task=detection (it trains on the "
            "detector's own losses, loss=detection)."
        )


def own_transforms(cfg):
    """The keys of dataset.transforms this run sets (not the group's defaults, which the manifest's replace)."""
    given = cfg.get("transforms")
    return OmegaConf.create({}) if given is None else given
