"""Many processes, one run: torch.distributed's elastic launcher starts the workers, every
rank runs the same fit(), rank 0 alone writes the run directory and the trackers.

topology.py  trainer.devices / num_nodes / rdzv_endpoint read and checked (no torch)
launch.py    the parent: start the workers with elastic_launch; the worker's entry point
ranks.py     inside a worker: rank, reductions across ranks, the wrapped model's own module
"""
