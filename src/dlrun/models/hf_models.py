"""model=hf: a Hugging Face `transformers` sequence-classification model, read from a local
folder (model.path: config.json and weights; no download unless model.download=true) or built
from a config without weights (model.config: {model_type: bert, hidden_size: 64, ...}) for
training from scratch. Its classification head is sized to the data; it takes a TextBatch."""

import logging

from torch import nn

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError, first_line


class HuggingFaceClassifier(nn.Module):
    """A TextBatch in, the model's logits (B, outputs) out."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model(input_ids=batch.ids, attention_mask=batch.mask.long()).logits


def build(cfg, info: DataInfo, load_weights: bool = True, say=None) -> nn.Module:
    from dlrun.models.text import needs_text

    needs_text("hf", info)
    import transformers
    from transformers import AutoConfig, AutoModelForSequenceClassification

    transformers.logging.set_verbosity_error()  # its "weights not initialised" lines: said below in one
    transformers.logging.disable_progress_bar()  # "Loading weights" bars on every build
    logging.getLogger("transformers").setLevel(logging.ERROR)
    outputs, local = info.num_outputs, not cfg.get("download", False)
    try:
        if cfg.get("path"):
            path = str(cfg.path)
            if load_weights:
                saved = AutoConfig.from_pretrained(path, local_files_only=local)
                heads = [a for a in saved.architectures or [] if a.endswith("ForSequenceClassification")]
                model = AutoModelForSequenceClassification.from_pretrained(
                    path, num_labels=outputs, ignore_mismatched_sizes=True, local_files_only=local
                )
                if say and (not heads or saved.num_labels != outputs):
                    say(
                        f"model hf {path}: a new classification head gives this data's {outputs} outputs "
                        f"(the folder's: {f'{saved.num_labels} outputs' if heads else 'none'})"
                    )
            else:
                config = AutoConfig.from_pretrained(path, num_labels=outputs, local_files_only=local)
                model = AutoModelForSequenceClassification.from_config(config)
        else:
            settings = dict(cfg.config)
            kind = settings.pop("model_type")
            settings.setdefault("max_position_embeddings", max(512, info.input_shape[0] + 2))
            config = AutoConfig.for_model(
                kind,
                **settings,
                vocab_size=info.vocab_size,
                num_labels=outputs,
                pad_token_id=info.preprocess["pad_id"],
            )
            model = AutoModelForSequenceClassification.from_config(config)
    except (OSError, ValueError, KeyError, TypeError) as err:
        where = f"model.path={cfg.path!r}" if cfg.get("path") else f"model.config={dict(cfg.config)}"
        raise DlrunError(f"model=hf could not be built from {where}: {first_line(err)}") from err
    rows = model.get_input_embeddings().num_embeddings
    if rows < info.vocab_size:
        raise DlrunError(
            f"model=hf: the model's embedding table has {rows} rows but the tokenizer has {info.vocab_size} tokens. "
            "Use the model's own tokenizer (dataset.tokenizer.path=null reads model.path's), or a model sized for it."
        )
    return HuggingFaceClassifier(model)
