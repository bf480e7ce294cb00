"""Synthetic data: the deterministic sample-data generator behind ``csqa generate`` (``generate``) and its
customer wording (``sample_text``)."""
