"""The evaluation harness: metrics, baselines and reports. Reads a model directory; never trains one."""
