"""dlrun's split draws exactly what scikit-learn's train_test_split draws: runs made when dlrun
called scikit-learn keep their splits (reproduce --verify), without its 0.8 s import."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from dlrun.datasets.splits import hold_out


def cases():
    rng = np.random.default_rng(0)
    for case in range(120):
        n = int(rng.integers(12, 600))
        classes = int(rng.integers(2, 12))
        weights = rng.dirichlet(np.ones(classes) * (0.5 if case % 3 else 5))
        labels = rng.choice(classes, size=n, p=weights) if case % 5 else None
        yield (
            n,
            labels,
            float(rng.choice([0.1, 0.15, 0.2, 1 / 3, 0.5, float(rng.uniform(0.02, 0.9))])),
            int(rng.integers(0, 2**32 - 1)),
        )


@pytest.mark.parametrize("n,labels,fraction,seed", list(cases()))
def test_the_split_is_scikit_learns(n, labels, fraction, seed):
    indices = np.arange(100, 100 + n)
    try:
        expected = train_test_split(indices, test_size=fraction, random_state=seed, stratify=labels)
    except ValueError:  # a class too small to stratify: dlrun falls back to a plain shuffle
        expected = train_test_split(indices, test_size=fraction, random_state=seed)
    kept, held = hold_out(indices, labels, fraction, seed)
    assert np.array_equal(kept, expected[0]) and np.array_equal(held, expected[1])


def test_digits_are_read_as_scikit_learn_loads_them():
    from sklearn.datasets import load_digits as sklearn_digits

    from dlrun.datasets.sklearn_sets import load_digits

    pixels, target = load_digits()
    bunch = sklearn_digits()
    assert np.array_equal(pixels, bunch.data) and pixels.dtype == bunch.data.dtype
    assert np.array_equal(target, bunch.target)
