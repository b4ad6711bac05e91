"""Products: what people open after the flight.

Sections of grids (:mod:`~dronesense.products.sections`), figures
(:mod:`~dronesense.products.plot`), sample exports for GIS, Google Earth and spreadsheets
(:mod:`~dronesense.products.exports`) and emission rates from curtain flights
(:mod:`~dronesense.products.flux`). Products work on samples and grid Datasets; they never
read raw logs.
"""
