"""A run log written before claims_reproduced still builds `runs`: the retired count is dropped, not mislabelled."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.tables import warehouse_schemas
from surveyhouse.build import _runs_table, _validated


def _record(run_id: str, **claims) -> dict:
    now = datetime.now(UTC).isoformat()
    return {
        "run_id": run_id,
        "flow_run_id": None,
        "started_at": now,
        "finished_at": now,
        "files_new": 10,
        "files_failed": 0,
        "rows_read": 900,
        "responses": 880,
        "responses_excluded": 40,
        "quarantined_rows": 3,
        "status": "ok",
        "message": None,
        **claims,
        "claims_total": 71,
        "settings": "{}",
    }


def test_an_old_run_logs_consistent_count_is_not_taken_for_a_reproduced_count(book):
    old = _record("20261201T000000Z-aaaaaa", claims_consistent=70)
    new = _record("20261205T000000Z-bbbbbb", claims_reproduced=55)
    runs = _runs_table([old, new])
    assert "claims_consistent" not in runs.columns
    assert runs["claims_reproduced"].to_list() == [None, 55]
    assert _validated(runs, warehouse_schemas(book)["runs"]).height == 2
