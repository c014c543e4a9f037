"""dataset=text: the texts split with the seed, tokenised once, held in memory."""

import logging

import numpy as np

from dlrun.datasets.info import CLASSIFICATION, DataBundle
from dlrun.datasets.splits import configured_split
from dlrun.datasets.tabular import split_targets
from dlrun.datasets.text.reading import read_texts, text_columns
from dlrun.datasets.text.samples import PadBatch, TokenIds
from dlrun.datasets.text.tokenizer import encode, pad_id, read_tokenizer, train_tokenizer, truncating
from dlrun.errors import plural

log = logging.getLogger("dlrun")


def text(cfg, fitted: dict | None = None) -> DataBundle:
    """`fitted`: what this run learnt from its training split before (fit's {"tokenizer": JSON}):
    its resume, other processes, eval and reproduce tokenise with the tokenizer it trained."""
    texts, task, y, names = read_texts(cfg)
    splits = configured_split(cfg, len(texts), y if task == CLASSIFICATION else None)
    settings = cfg.tokenizer
    if settings.path is not None:
        tokenizer = read_tokenizer(str(settings.path))
        padding = pad_id(tokenizer, str(settings.path))
        origin = f"read from {settings.path}"
    else:
        if fitted and fitted.get("tokenizer"):
            from tokenizers import Tokenizer

            tokenizer, origin = Tokenizer.from_str(fitted["tokenizer"]), f"{settings.kind} trained for this run"
        else:
            tokenizer = train_tokenizer([texts[i] for i in splits[0]], settings)
            origin = f"{settings.kind} trained on the training split"
        padding = tokenizer.token_to_id("[PAD]")
    truncating(tokenizer, cfg.max_length, cfg.truncation_side)
    ids = encode(tokenizer, texts)
    lengths = np.asarray([len(i) for i in ids])
    log.info(
        "tokenizer: %s, %s; texts of %d tokens (median), %s cut at %d",
        origin,
        plural(tokenizer.get_vocab_size(), "token") + " in its vocabulary",
        int(np.median(lengths)),
        plural(int((lengths >= cfg.max_length).sum()), "text"),
        cfg.max_length,
    )
    preprocess = {
        "kind": "text",
        "columns": text_columns(cfg) if cfg.get("path") is not None else None,
        "tokenizer": tokenizer.to_str(),
        "max_length": int(cfg.max_length),
        "truncation_side": str(cfg.truncation_side),
        "pad_id": int(padding),
    }
    ys, info = split_targets(
        y,
        splits,
        task,
        (int(cfg.max_length),),
        names,
        preprocess=preprocess,
        vocab_size=tokenizer.get_vocab_size(),
    )
    datasets = [TokenIds([ids[i] for i in split], targets) for split, targets in zip(splits, ys)]
    return DataBundle(
        *datasets,
        info=info,
        in_memory=True,
        collate=PadBatch(padding),
        lengths=[len(ids[i]) for i in splits[0]],
    )


def fit(cfg) -> dict | None:
    """What the text data learns from its training split: {"tokenizer": JSON} when it trains
    one (dataset.tokenizer.path null), else None."""
    if cfg.tokenizer.path is not None:
        return None
    texts, task, y, _ = read_texts(cfg)
    splits = configured_split(cfg, len(texts), y if task == CLASSIFICATION else None)
    return {"tokenizer": train_tokenizer([texts[i] for i in splits[0]], cfg.tokenizer).to_str()}
