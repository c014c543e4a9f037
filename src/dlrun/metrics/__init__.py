"""Which metrics a run computes: `trainer.metrics` by name (catalogue.py, no torch), the
torchmetrics ones built only when chosen (library.py), and the user's own (user.py).
The default metrics are on-device sums in dlrun.metrics.builtin."""
