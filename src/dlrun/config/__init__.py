"""Reading what the config names: plain values of config nodes, import paths of the user's own code."""

from omegaconf import OmegaConf


def plain(value):
    """A config node as plain Python data (interpolations resolved); anything else as it is."""
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
