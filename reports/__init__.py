"""Reports: anytime-performance aggregation, figures and the HTML report (reads result files only)."""

__all__: list[str] = []
