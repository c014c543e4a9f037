"""The network both sides of bench/performance.py train: dlrun through `model=custom
model.class_path=digits_net.Net`, the hand-written script by importing it."""

from torch import nn


class Net(nn.Module):
    """Two conv blocks and a linear head for 8x8 one-channel digits."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 2 * 2, num_classes))

    def forward(self, x):
        return self.head(self.features(x))
