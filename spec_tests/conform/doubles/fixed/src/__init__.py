"""Test double of the researchers' seed package `src` (VQ-VAE on a linear-Gaussian source),
with the five fixes of seed/BASELINE_FIXES.md applied. Mirrors the baseline's layout only."""
