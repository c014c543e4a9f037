"""Reading what the config names: import paths of the user's own code."""
