"""dlrun's own text models: each takes a TextBatch (token ids (B, L) and a mask (B, L), True on
the text's own tokens; dlrun.datasets.text.samples) and gives (B, outputs). Sized from the
DataInfo: the embedding table from `vocab_size`, positions from `input_shape` (max_length)."""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError


def needs_text(name: str, info: DataInfo) -> None:
    if info.vocab_size is None:
        raise DlrunError(
            f"model={name} reads token ids; this data set gives {info.input_shape} tensors. Use dataset=text, "
            "or an image or table model for this data."
        )


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean over each text's own positions of (B, L, D) states."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1)


class TextCNN(nn.Module):
    """Kim (2014): embeddings, parallel 1-D convolutions of several widths, max over time (the
    padding left out), dropout, a linear head."""

    def __init__(self, vocab: int, outputs: int, dim: int, widths, channels: int, dropout: float, pad: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=pad)
        self.convs = nn.ModuleList(nn.Conv1d(dim, channels, w, padding=w // 2) for w in widths)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels * len(widths), outputs)

    def forward(self, batch) -> torch.Tensor:
        x = self.embed(batch.ids).transpose(1, 2)  # (B, D, L)
        pooled = []
        for conv in self.convs:
            y = torch.relu(conv(x))[..., : batch.ids.shape[1]]  # even widths give one more step
            y = y.masked_fill(~batch.mask.unsqueeze(1), float("-inf"))
            pooled.append(y.amax(dim=2))
        return self.head(self.dropout(torch.cat(pooled, dim=1)))


class RecurrentText(nn.Module):
    """Embeddings, an LSTM or GRU (packed: the padding is never read), then the last hidden state
    of each direction (`readout: last`) or the mean of the outputs over the text (`mean`), a head."""

    def __init__(self, vocab, outputs, dim, hidden, layers, cell, bidirectional, dropout, readout, pad):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=pad)
        kind = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = kind(
            dim, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )  # fmt: skip
        self.readout = readout
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), outputs)

    def forward(self, batch) -> torch.Tensor:
        lengths = batch.mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.embed(batch.ids), lengths, batch_first=True, enforce_sorted=False)
        out, hidden = self.rnn(packed)
        if self.readout == "mean":
            states, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=batch.ids.shape[1])
            features = masked_mean(states, batch.mask)
        else:
            h = hidden[0] if isinstance(hidden, tuple) else hidden  # LSTM: (h, c)
            directions = 2 if self.rnn.bidirectional else 1
            features = torch.cat([h[-directions + d] for d in range(directions)], dim=1)  # the last layer's
        return self.head(self.dropout(features))


class TextTransformer(nn.Module):
    """Token and learnt position embeddings, a pre-norm nn.TransformerEncoder that ignores the
    padding, then the mean over the text (`readout: mean`) or the first token ([CLS]), a head."""

    def __init__(self, vocab, outputs, max_length, dim, heads, layers, ff, dropout, readout, pad):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=pad)
        self.position = nn.Embedding(max_length, dim)
        layer = nn.TransformerEncoderLayer(
            dim, heads, ff, dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.readout = readout
        self.head = nn.Linear(dim, outputs)

    def forward(self, batch) -> torch.Tensor:
        positions = torch.arange(batch.ids.shape[1], device=batch.ids.device)
        x = self.embed(batch.ids) + self.position(positions)
        states = self.encoder(x, src_key_padding_mask=~batch.mask)
        features = states[:, 0] if self.readout == "cls" else masked_mean(states, batch.mask)
        return self.head(features)


class TokenInputs(nn.Module):
    """model(ids, mask) for a model that takes a TextBatch: what `dlrun export` traces and exports."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        from dlrun.datasets.text.samples import TextBatch

        return self.model(TextBatch(ids, mask))


def text_cnn(cfg, info: DataInfo) -> nn.Module:
    needs_text("text_cnn", info)
    return TextCNN(
        info.vocab_size, info.num_outputs, cfg.embedding_dim, list(cfg.kernel_sizes), cfg.filters, cfg.dropout,
        info.preprocess["pad_id"],
    )  # fmt: skip


def rnn(cfg, info: DataInfo) -> nn.Module:
    needs_text("rnn", info)
    return RecurrentText(
        info.vocab_size, info.num_outputs, cfg.embedding_dim, cfg.hidden_size, cfg.num_layers, cfg.cell,
        cfg.bidirectional, cfg.dropout, cfg.readout, info.preprocess["pad_id"],
    )  # fmt: skip


def transformer(cfg, info: DataInfo) -> nn.Module:
    needs_text("transformer", info)
    return TextTransformer(
        info.vocab_size, info.num_outputs, info.input_shape[0], cfg.dim, cfg.heads, cfg.layers, cfg.ff_dim,
        cfg.dropout, cfg.readout, info.preprocess["pad_id"],
    )  # fmt: skip
