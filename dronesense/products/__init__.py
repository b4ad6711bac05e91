"""dronesense.products"""
