"""The version of cxplan (also `cxplan.__version__`)."""

__version__ = "0.1.0"
