"""The tokenizer of a text run, with Hugging Face `tokenizers`: trained on the training split's
texts (WordPiece, BPE or Unigram) or read from a tokenizer.json / a Hugging Face model folder,
then set to truncate at dataset.max_length. Its JSON is kept with the run (DataInfo.preprocess,
tokenizer.json in the run folder and the export), so predict, eval, export and serve tokenise
as training did."""

import json
from pathlib import Path

from dlrun.errors import DlrunError, first_line

SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # a trained tokenizer's, in this order: [PAD] is 0
PAD_NAMES = ("[PAD]", "<pad>", "<|pad|>", "<|padding|>", "<PAD>")  # a read tokenizer's padding token, by name


def train_tokenizer(texts: list, settings):
    """A tokenizer trained on `texts` (strings or pairs) with dataset.tokenizer's kind,
    vocab_size, min_frequency and lowercase; [CLS] text [SEP] (text [SEP] pair [SEP]).

    tokenizers' WordPiece and Unigram trainers break ties in hash-map order, so two trainings on
    the same texts may differ (BPE's do not): a run trains its tokenizer once, and its resume,
    its other processes, eval and reproduce take that one (dlrun.datasets.fit, `fitted`)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    common = {"vocab_size": int(settings.vocab_size), "special_tokens": list(SPECIAL), "show_progress": False}
    kind = settings.kind
    if kind == "unigram":
        tokenizer = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(unk_token="[UNK]", **common)
    elif kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
        trainer = trainers.BpeTrainer(min_frequency=int(settings.min_frequency), **common)
    else:
        tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(min_frequency=int(settings.min_frequency), **common)
    steps = [normalizers.NFKC(), *([normalizers.Lowercase()] if settings.lowercase else [])]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    flat = (piece for text in texts for piece in ((text,) if isinstance(text, str) else text))
    tokenizer.train_from_iterator(flat, trainer=trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return tokenizer


def read_tokenizer(path_text: str):
    """A tokenizer.json file, or a folder holding one (a Hugging Face model folder)."""
    from tokenizers import Tokenizer

    path = Path(path_text).expanduser()
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise DlrunError(
            f"dataset.tokenizer.path={path_text!r}: {path} has no tokenizer.json. dlrun reads the `tokenizers` "
            "library's JSON files (a Hugging Face model folder holds one when its tokenizer is a fast one: "
            "AutoTokenizer.from_pretrained(...).save_pretrained(folder) writes it)."
        )
    try:
        return Tokenizer.from_file(str(file))
    except Exception as err:  # not JSON, or not a tokenizer's
        raise DlrunError(f"dataset.tokenizer.path: {file} is not a tokenizer.json file ({first_line(err)}).") from err


def pad_id(tokenizer, path_text: str | None) -> int:
    """The padding token's id: the tokenizer's padding setting, a token named like one, or the
    model folder's tokenizer_config.json / special_tokens_map.json `pad_token`."""
    if tokenizer.padding:
        return int(tokenizer.padding["pad_id"])
    for name in (*folder_pad_tokens(path_text), *PAD_NAMES):
        found = tokenizer.token_to_id(name)
        if found is not None:
            return found
    raise DlrunError(
        f"dataset.tokenizer.path={path_text!r}: the tokenizer has no padding token ({', '.join(PAD_NAMES)} are "
        "looked for). Add one to it, or train dlrun's own (dataset.tokenizer.path=null)."
    )


def folder_pad_tokens(path_text: str | None) -> list[str]:
    folder = Path(path_text).expanduser() if path_text else None
    if folder is None or not folder.is_dir():
        return []
    found = []
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        try:
            token = json.loads((folder / name).read_text()).get("pad_token")
        except (OSError, ValueError, AttributeError):
            continue
        token = token.get("content") if isinstance(token, dict) else token
        if isinstance(token, str):
            found.append(token)
    return found


def truncating(tokenizer, max_length: int, side: str):
    """Truncate at max_length tokens (special tokens included) from `side`; no padding (batches
    are padded to their longest text when they are made)."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=int(max_length), direction=side)
    return tokenizer


def encode(tokenizer, texts: list) -> list[list[int]]:
    """The token ids of each text (a string or a pair)."""
    pairs = [text if isinstance(text, str) else tuple(text) for text in texts]
    return [encoding.ids for encoding in tokenizer.encode_batch(pairs)]
