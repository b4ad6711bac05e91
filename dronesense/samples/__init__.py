"""dronesense.samples.dataset"""
