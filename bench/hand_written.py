"""The script people write by hand for the same run, as the PyTorch tutorials teach it:
scikit-learn's digits split 70/15/15 (stratified, seeded), standardised with the training
split's statistics, a DataLoader over tensors, Adam, a validation pass every epoch, the best
weights saved, then the test accuracy of the best weights.

    python bench/hand_written.py --epochs 20 --out /tmp/best.pt
"""

import argparse
import sys
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).parent))
from digits_net import Net  # noqa: E402


def accuracy(model, loader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default="best.pt")
    args = parser.parse_args()
    torch.manual_seed(0)
    digits = load_digits()
    x = digits.images.astype("float32")[:, None]  # (N, 1, 8, 8)
    y = digits.target
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.15, stratify=y, random_state=0)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.15, stratify=y_rest, random_state=0)
    mean, std = x_train.mean(), x_train.std()

    def loader(xs, ys, shuffle):
        data = TensorDataset(torch.from_numpy((xs - mean) / std), torch.from_numpy(ys))
        return DataLoader(data, batch_size=64, shuffle=shuffle, generator=torch.Generator().manual_seed(0))

    train, val, test = loader(x_train, y_train, True), loader(x_val, y_val, False), loader(x_test, y_test, False)
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    best = -1.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        for inputs, targets in train:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
        acc = accuracy(model, val)
        if acc > best:
            best = acc
            torch.save(model.state_dict(), args.out)
        print(f"epoch {epoch}  loss {loss.item():.4f}  val acc {acc:.4f}")
    model.load_state_dict(torch.load(args.out))
    print(f"test acc {accuracy(model, test):.4f}")


if __name__ == "__main__":
    main()
