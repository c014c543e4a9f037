"""Gradient accumulation under DDP all-reduces once per optimizer step, not once per
micro-batch: the backward of every micro-batch but a step's last runs under no_sync().
Counted with a communication hook on the run's own DDP wrapper, in a one-process gloo
group (the run then trains as a torchrun worker would)."""

import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

from dlrun.distributed import ranks


def test_accumulated_micro_batches_all_reduce_once_per_optimizer_step(train, monkeypatch, tmp_path):
    all_reduces = []
    wrap = ranks.wrap_ddp

    def counted(model, device, sync_batchnorm=False):
        ddp = wrap(model, device, sync_batchnorm)

        def hook(state, bucket):
            all_reduces.append(bucket.index())
            return allreduce_hook(state, bucket)

        ddp.register_comm_hook(None, hook)
        return ddp

    monkeypatch.setattr(ranks, "wrap_ddp", counted)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        train(
            "model=mlp",
            "model.hidden=[16]",
            "epochs=1",
            "batch_size=32",
            "trainer.limit_train_batches=8",
            "trainer.grad_accum_steps=4",
            "trainer.limit_val_batches=1",
        )
    finally:
        dist.destroy_process_group()
    assert len(all_reduces) == 2, f"8 micro-batches, 2 optimizer steps, one bucket: {all_reduces}"
