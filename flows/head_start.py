"""The head start of a `surveyhouse run`: the night's first steps run while its Prefect server starts.

Prefect's temporary server takes 1.5-2 s of CPU to its first answer, and a flow run cannot
begin before it. The night (``run_night``) does not wait for it: it runs on its own thread
from the moment the flow's modules are imported, with ``NightAhead`` as its runner.

    recover, discover, ingest <file> (``AHEAD``)   run at once, each file on its own thread
    every other step (build, publish, report)     waits for the flow, then runs as its task

When the server answers the flow begins and ``attach``es: it shows each step already run
as a Prefect task run with its state (a task that takes the step's outcome: a failure
surfaces in its task as it would have, and a retry runs the step again), then runs each
further step as a task, as ``PrefectSteps`` runs the steps of a night started by the flow.
The night's results do not depend on when a step ran: the same functions run in the same
order under the same run lock. A flow that never attaches (its server did not start, the
command was stopped) abandons the night: it stops at its next step, its files staged and
nothing published, as a night killed there (the next night publishes them).

Nothing of Prefect here: the flow hands ``attach`` its runner.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from schemas.study import Study
from surveyhouse.night import Runner, run_night
from surveyhouse.runlog import RunSummary
from surveyhouse.settings import Settings

T = TypeVar("T")
X = TypeVar("X")

#: The steps a night runs before its flow begins: those before the build (the staging of the
#: new files is most of a big night). The others wait for the flow: a night publishes nothing
#: that its flow run does not show.
AHEAD = frozenset({"recover", "discover", "ingest"})
#: How often a waiting night looks whether it was abandoned.
POLL_S = 0.05


class NightAbandoned(BaseException):
    """The flow never took the night over: the night stops at its next step (as a kill there would stop it)."""


class _Request:
    """A step for the flow to run with its runner (``serve``); its outcome in ``done``."""

    def __init__(self, run: Callable[[Runner], T]) -> None:
        self._run, self.done = run, Future()

    def serve(self, runner: Runner) -> None:
        try:
            self.done.set_result(self._run(runner))
        except BaseException as error:  # noqa: BLE001 - handed to the night, which raises it as the step's
            self.done.set_exception(error)


class _Taken:
    """A step run ahead, as its task calls it: the first call gives the step's outcome (its result,
    or raises its error), every later call (a retry) runs the step again."""

    def __init__(self, outcome: Future, function: Callable[..., T]) -> None:
        self._outcome, self._function, self._taken = outcome, function, False

    def __call__(self, *args) -> T:
        if self._taken:
            return self._function(*args)
        self._taken = True
        return self._outcome.result()


def _outcome_of(function: Callable[[], T]) -> Future:
    outcome: Future = Future()
    try:
        outcome.set_result(function())
    except Exception as error:  # noqa: BLE001 - its task raises it (and retries what may pass)
        outcome.set_exception(error)
    return outcome


class NightAhead:
    """The runner of a night started before its flow (``surveyhouse.night.Runner``): the steps of
    ``AHEAD`` run at once until the flow attaches, every other step is relayed to the flow's runner."""

    def __init__(self, run: RunSummary) -> None:
        self.run = run
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._attached = threading.Event()
        self._abandoned = threading.Event()
        self._night: Future | None = None

    def step(self, name: str, function: Callable[[], T], *, io: bool = False) -> T:
        self._not_abandoned()
        if name not in AHEAD or self._attached.is_set():
            return self._relayed(lambda runner: runner.step(name, function, io=io))
        outcome = _outcome_of(function)
        shown = self._relay(lambda runner: runner.step(name, _Taken(outcome, function), io=io))
        return outcome.result() if outcome.exception() is None else self._outcome(shown)

    def map(self, name: str, function: Callable[[X], T], items: Sequence[X], *, label: Callable[[X], str]) -> list[T]:
        self._not_abandoned()
        if name not in AHEAD or self._attached.is_set():
            return self._relayed(lambda runner: runner.map(name, function, items, label=label))
        with ThreadPoolExecutor(max_workers=max(1, len(items)), thread_name_prefix=f"ahead-{name}") as pool:
            outcomes = [pool.submit(function, item) for item in items]
            takers = [_Taken(outcome, function) for outcome in outcomes]
            shown = self._relay(
                lambda runner: runner.map(
                    name,
                    lambda pair: takers[pair[0]](pair[1]),
                    list(enumerate(items)),
                    label=lambda pair: label(pair[1]),
                )
            )
        wait(outcomes)  # staging cannot be stopped half way: it ends, abandoned or not
        if any(outcome.exception() is not None for outcome in outcomes):
            return self._outcome(shown)  # the flow's tasks decide (a retry runs the file again)
        self._until_attached()  # the rest of the night is the flow's
        return [outcome.result() for outcome in outcomes]

    def _relay(self, run: Callable[[Runner], T]) -> _Request:
        request = _Request(run)
        self._requests.put(request)
        return request

    def _relayed(self, run: Callable[[Runner], T]) -> T:
        return self._outcome(self._relay(run))

    def _outcome(self, request: _Request) -> T:
        while not wait([request.done], timeout=POLL_S).done:
            self._not_abandoned()
        return request.done.result()

    def _until_attached(self) -> None:
        while not self._attached.wait(POLL_S):
            self._not_abandoned()

    def _not_abandoned(self) -> None:
        if self._abandoned.is_set():
            raise NightAbandoned("the flow did not take the night over")

    def start(self, night: Callable[[NightAhead], RunSummary], pool: ThreadPoolExecutor) -> None:
        """Run ``night(runner)`` on ``pool``'s thread, with this runner."""

        def ends_relaying() -> RunSummary:
            try:
                return night(self)
            finally:
                self._requests.put(None)  # the night ended: the flow stops relaying

        self._night = pool.submit(ends_relaying)

    def attach(self, runner: Runner) -> RunSummary:
        """The flow takes the night over (call in the flow): the steps run ahead shown as its tasks, the
        others run by ``runner``; the night's summary, or its error (``RunInProgress`` included)."""
        self._attached.set()
        try:
            while (request := self._requests.get()) is not None:
                request.serve(runner)
        finally:
            self._abandoned.set()  # interrupted (a timeout, Ctrl-C): the night stops at its next step
        return self.summary()

    def summary(self) -> RunSummary:
        """The night's summary, or its error (waits for the night to end)."""
        return self._night.result()

    def abandon(self) -> None:
        self._abandoned.set()


@contextmanager
def night_ahead(study: Study, settings: Settings) -> Iterator[NightAhead]:
    """The night started now on a thread (``NightAhead``); on the way out, abandoned unless the
    flow took it over, and its thread finished."""
    ahead = NightAhead(RunSummary.starting())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="night") as pool:
        ahead.start(lambda runner: run_night(study, settings, runner=runner, run=ahead.run), pool)
        try:
            yield ahead
        finally:
            ahead.abandon()


#: The night this process started ahead of the flow run it runs now (``taken_over``).
_night_ahead: ContextVar[NightAhead | None] = ContextVar("night_ahead", default=None)


@contextmanager
def taken_over(ahead: NightAhead | None) -> Iterator[None]:
    """Within: the flow run takes ``ahead`` over (``night_to_take_over``)."""
    token = _night_ahead.set(ahead)
    try:
        yield
    finally:
        _night_ahead.reset(token)


def night_to_take_over() -> NightAhead | None:
    """The night started ahead of the flow run that asks (in its process and thread), or None."""
    return _night_ahead.get()
