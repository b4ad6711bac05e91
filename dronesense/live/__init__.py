"""dronesense.live"""
