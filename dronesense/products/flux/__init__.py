"""dronesense.products.flux"""
