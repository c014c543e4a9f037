"""What training is built from and set up with: the loss, the optimizer and the
learning-rate schedule (losses, optimizers, schedulers, kinds: which kind of class an
import path names), seeding every generator (seeding), and the learning-rate range test
that chooses a rate before training (lr_find)."""
