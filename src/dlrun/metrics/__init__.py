"""Which metrics a run computes and how:

catalogue.py   `trainer.metrics` by name: names per task, which is better, entry checks (no torch)
builtin.py     the default metrics, sums kept on the device and reduced across DDP ranks,
               and the running mean of the loss
library.py     torchmetrics' metrics by name and the user's own (a function or a Metric
               class by import path), built only when a run chooses them
"""
