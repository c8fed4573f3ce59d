"""Metrics, baselines and report figures for form classification."""
