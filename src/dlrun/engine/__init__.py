"""The engine: gets built objects (model, loaders, loss, optimizer, loggers) and runs them.

loop.py is the training loop (`fit`, `evaluate`); the other modules are what it drives:
checkpoints, the monitored metric, weight averages, the console and the loggers. Import
the modules themselves: this package imports nothing, so a light module here (the console)
does not pull torch in with it.
"""
