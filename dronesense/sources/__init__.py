"""dronesense.sources.framing"""
