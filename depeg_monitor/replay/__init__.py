"""Replay: the detection pipeline driven by historical files and a simulated clock."""
