"""What happens when a nightly run fails: say what failed and what state is left, to a
person (a log line), to the run log (the next warehouse lists the failed run) and,
when configured, to a webhook (a JSON POST, e.g. to a chat channel's incoming hook).

`report_failure` is the nightly flow's ``on_failure`` hook. It never raises: a broken
webhook is logged, and the run's own failure stays what Prefect shows.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

from surveyhouse.lock import RunInProgress
from surveyhouse.logs import masked_line
from surveyhouse.night import state_for, warehouse_of
from surveyhouse.runlog import RunSummary, failed_run_record, new_run_id
from surveyhouse.settings import Settings, load_settings
from warehouse.store import Warehouse

WEBHOOK_TIMEOUT_S = 10.0


class NightlyRunFailed(RuntimeError):
    """A run failed without an exception this process can show (e.g. its time limit)."""


def warehouse_state(warehouse: Warehouse, *, started_at: datetime | None) -> tuple[str, str | None, bool]:
    """(sentence, publish time ISO or None, unchanged by this run) for the warehouse."""
    try:
        published = warehouse.published_at()
    except OSError as error:
        return f"The warehouse {warehouse} could not be reached to check what readers see ({error}).", None, True
    if published is None:
        return f"No warehouse has been published yet at {warehouse}.", None, True
    when = f"{published:%Y-%m-%d %H:%M:%S} UTC"
    if started_at is not None and published >= started_at:
        return (
            f"This run published {warehouse} at {when} before it failed; readers see that warehouse.",
            published.isoformat(),
            False,
        )
    return (
        f"The last published warehouse {warehouse} (published {when}) is unchanged; readers keep querying it.",
        published.isoformat(),
        True,
    )


def failure_report(
    settings: Settings,
    *,
    flow_name: str,
    flow_run_id: str | None,
    flow_run_name: str | None,
    state_name: str,
    message: str | None,
    started_at: datetime | None,
) -> dict[str, Any]:
    """What failed, where, the state left behind and what to do next (the webhook's JSON)."""
    state_sentence, published_at, unchanged = warehouse_state(warehouse_of(settings), started_at=started_at)
    what = masked_line(message) if message else f"the run ended in state {state_name}"
    timed_out = state_name == "TimedOut" or "timeout" in what.lower()
    next_step = (
        (
            f"If runs need longer, raise SURVEYHOUSE_RUN_TIMEOUT_S (now {settings.run_timeout_s:g} s). "
            if timed_out
            else ""
        )
        + "Fix the cause, then run `surveyhouse run` or wait for the next scheduled run; a failed run leaves nothing to clean up."
    )
    summary = f"surveyhouse nightly run {flow_run_name or flow_run_id or ''} failed ({state_name}): {what}. {state_sentence} {next_step}"
    return {
        "event": "surveyhouse.run_failed",
        "flow": flow_name,
        "flow_run_id": flow_run_id,
        "flow_run_name": flow_run_name,
        "state": state_name,
        "message": what,
        "inbox": str(settings.inbox),
        "warehouse": str(settings.warehouse),
        "warehouse_published_at": published_at,
        "warehouse_unchanged": unchanged,
        "summary": summary,
    }


def record_failure(
    settings: Settings, *, flow_run_id: str | None, started_at: datetime | None, error: BaseException
) -> bool:
    """Add the failed run to the run log unless the pipeline already did (or another run holds the lock)."""
    state = state_for(settings)
    try:
        with state.lock():
            if flow_run_id and any(run.get("flow_run_id") == flow_run_id for run in state.runs.runs()):
                return False
            started = started_at or datetime.now(UTC)
            run = RunSummary(run_id=new_run_id(started), started_at=started, flow_run_id=flow_run_id)
            state.runs.append(failed_run_record(run, error, settings=settings.recorded()))
            return True
    except RunInProgress:
        return False


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    logger: logging.Logger | logging.LoggerAdapter,
    timeout_s: float = WEBHOOK_TIMEOUT_S,
) -> bool:
    """POST the payload as JSON; a failure is logged (without the URL's secret parts), never raised."""
    parts = urllib.parse.urlsplit(url)
    where = f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")
    try:
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL (scheme {parts.scheme!r})")
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", "User-Agent": "surveyhouse"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except Exception as error:  # noqa: BLE001 - a notice that cannot be sent must not hide the run's failure
        logger.warning(
            "Could not send the failure notice to the webhook at %s: %s: %s", where, type(error).__name__, error
        )
        return False
    logger.info("Failure notice sent to the webhook at %s.", where)
    return True


def _exception_of(state) -> BaseException:
    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - the result may not be retrievable; the message still is
        result = None
    if isinstance(result, BaseException):
        return result
    return NightlyRunFailed(state.message or f"the run ended in state {state.name}")


def _logger(flow, flow_run) -> logging.Logger | logging.LoggerAdapter:
    """The flow run's logger when Prefect runs the hook; a plain one otherwise (never imports Prefect)."""
    if "prefect" in sys.modules:
        try:
            from prefect.logging.loggers import flow_run_logger

            return flow_run_logger(flow_run, flow)
        except Exception:  # noqa: BLE001 - not a real flow run (tests): a plain logger
            return logging.getLogger("surveyhouse.failure")
    return logging.getLogger("surveyhouse.failure")


def report_failure(flow, flow_run, state) -> None:
    """The nightly flow's on_failure hook: log line, run log record, optional webhook."""
    logger = _logger(flow, flow_run)
    try:
        parameters = dict(getattr(flow_run, "parameters", None) or {})
        settings = load_settings(
            inbox=parameters.get("inbox"), warehouse=parameters.get("warehouse"), lake_data=parameters.get("lake_data")
        )
        flow_run_id = str(flow_run.id) if getattr(flow_run, "id", None) else None
        started_at = getattr(flow_run, "start_time", None)
        report = failure_report(
            settings,
            flow_name=getattr(flow, "name", "surveyhouse-nightly"),
            flow_run_id=flow_run_id,
            flow_run_name=getattr(flow_run, "name", None),
            state_name=state.name,
            message=state.message,
            started_at=started_at,
        )
        logger.error(report["summary"])
        record_failure(settings, flow_run_id=flow_run_id, started_at=started_at, error=_exception_of(state))
        if settings.failure_webhook:
            post_webhook(settings.failure_webhook, report, logger=logger)
    except Exception as error:  # noqa: BLE001 - a hook never raises
        logger.warning("The failure hook itself failed: %s: %s", type(error).__name__, error)
