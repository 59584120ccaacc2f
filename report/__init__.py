"""The report page: one self-contained HTML file (inline SVG charts) built from the warehouse.

`surveyhouse report` and the nightly flow call `write_report`; nothing here imports Prefect.
"""

from report.page import ReportError, build_report, write_page, write_report

__all__ = ["ReportError", "build_report", "write_page", "write_report"]
