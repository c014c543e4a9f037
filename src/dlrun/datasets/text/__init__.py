"""Text inputs (dataset=text): texts from a table or a folder per class, a Hugging Face
`tokenizers` tokenizer trained on the training split or read from a file, and batches padded
per batch with an attention mask.

  reading.py    the texts and their targets
  tokenizer.py  train, read and configure the tokenizer
  samples.py    token ids per sample, TextBatch and its collate function
  bundle.py     the DataBundle (splits, DataInfo with the tokenizer in `preprocess`)
"""

from dlrun.datasets.text.bundle import fit, text

__all__ = ["fit", "text"]
