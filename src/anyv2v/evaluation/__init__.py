"""Measuring edits: pixel metrics against ground truth, and the ablation benchmark."""
