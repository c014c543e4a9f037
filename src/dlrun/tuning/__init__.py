"""Tools that choose a setting before training: the learning-rate range test (lr_find)."""
