"""Evaluation: metrics, benchmark harness and reports."""
