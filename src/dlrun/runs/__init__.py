"""What a run leaves behind and what reads it back: sweep reports."""
