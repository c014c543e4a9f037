"""The hand-written text classifier dlrun's `dataset=text model=text_cnn` run is compared with
(bench/text.py): what a user writes from the PyTorch and tokenizers documents. A CSV read with
pandas, a seeded 70/15/15 split, a BPE tokenizer trained on the training texts, ids padded per
batch, Kim's CNN (embeddings 128, widths 3/4/5 x 100 filters, dropout 0.5), Adam 1e-3, batch 64,
the epoch with the best validation accuracy tested. Prints `test_acc=...`.

    python bench/text_hand_written.py topics.csv [--epochs 5] [--seed 0]
"""

import argparse

import numpy as np
import pandas as pd
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from torch import nn


class TextCNN(nn.Module):
    def __init__(self, vocab: int, classes: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, 128, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(128, 100, w, padding=w // 2) for w in (3, 4, 5))
        self.dropout = nn.Dropout(0.5)
        self.head = nn.Linear(300, classes)

    def forward(self, ids, mask):
        x = self.embed(ids).transpose(1, 2)
        pooled = [torch.relu(c(x))[..., : ids.shape[1]].masked_fill(~mask[:, None], -1e9).amax(2) for c in self.convs]
        return self.head(self.dropout(torch.cat(pooled, 1)))


def batches(ids, labels, order, size=64):
    for start in range(0, len(order), size):
        chosen = order[start : start + size]
        longest = max(len(ids[i]) for i in chosen)
        x = torch.zeros(len(chosen), longest, dtype=torch.int64)
        for row, i in enumerate(chosen):
            x[row, : len(ids[i])] = torch.tensor(ids[i])
        yield x, x != 0, labels[chosen]


def accuracy(model, ids, labels, order) -> float:
    model.eval()
    right = 0
    with torch.no_grad():
        for x, mask, y in batches(ids, labels, order):
            right += (model(x, mask).argmax(1) == y).sum().item()
    return right / len(order)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    frame = pd.read_csv(args.csv)
    classes, labels = np.unique(frame["topic"], return_inverse=True)
    labels = torch.as_tensor(labels)
    order = np.random.default_rng(args.seed).permutation(len(frame))
    test, val, train = np.split(order, [int(0.15 * len(order)), int(0.3 * len(order))])
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tokenizer.train_from_iterator(
        frame["sentence"].iloc[train], trainers.BpeTrainer(vocab_size=8000, special_tokens=special, show_progress=False)
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.enable_truncation(128)
    ids = [e.ids for e in tokenizer.encode_batch(list(frame["sentence"]))]
    model = TextCNN(tokenizer.get_vocab_size(), len(classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    best, best_state = -1.0, None
    for _ in range(args.epochs):
        model.train()
        shuffled = train[torch.randperm(len(train)).numpy()]
        for x, mask, y in batches(ids, labels, shuffled):
            optimizer.zero_grad()
            loss = loss_fn(model(x, mask), y)
            loss.backward()
            optimizer.step()
        score = accuracy(model, ids, labels, val)
        if score > best:
            best, best_state = score, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    print(f"test_acc={accuracy(model, ids, labels, test):.4f}")


if __name__ == "__main__":
    main()
