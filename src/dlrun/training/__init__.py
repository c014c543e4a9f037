"""What one training step is built from: the loss, the optimizer and the learning-rate schedule."""
