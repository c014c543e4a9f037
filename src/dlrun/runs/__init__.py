"""What a run leaves behind and what reads it back: the run record, sweep reports."""
