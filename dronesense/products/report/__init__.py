"""The post-flight report of ``dronesense view``: one self-contained offline HTML file with
the map and a time slider, interactive slices, profiles and curtains of grids, the flux
result with its uncertainty budget, and the provenance of every product."""

from dronesense.products.report.content import product_kind
from dronesense.products.report.page import build_report, render_html, write_report

__all__ = ["build_report", "product_kind", "render_html", "write_report"]
