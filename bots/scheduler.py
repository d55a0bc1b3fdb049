"""The scheduler and the outbox senders of one process: `paroles worker`, or inside `paroles serve`.

APScheduler (3.11) only decides *when* the periodic jobs run; what they do is read from the
database, which is the source of truth: the back-office writes a campaign with its dates, the
next run of `campaign_jobs` picks it up. The jobs live in memory, defined here in code: keeping
them in APScheduler's SQLAlchemy job store would add nothing (they are the same every time) and
APScheduler neither notices jobs another process adds to its store nor stops two schedulers on
one store from running every job twice (its own FAQ).

Exactly one scheduler per database: it holds a lease row (`scheduler_leases`), renewed every 15
seconds and valid for 60, and released when it stops (SIGTERM included). A second `paroles
worker` on the same database finds the lease held and refuses to start, naming the holder;
`paroles serve` waits instead (`start_when_free`) and takes over once the lease is free. A
scheduler that loses its lease (the database was away longer than that) stops. Lease rather
than a PostgreSQL advisory lock: the same code on SQLite and PostgreSQL, visible with one
SELECT. After a crash, the next scheduler can start once the lease has expired (at most 60
seconds).

Every such process also drains the inbound queue (`bots.inbound.process_inbound`): what the
webhooks recorded is stepped here, a few milliseconds later (`DRAIN_PAUSE` between two looks
at an empty queue); several drains share the queue safely.

Outbox senders are not limited to one: `paroles worker --outbox-only` adds a process that only
sends (PostgreSQL's `SKIP LOCKED` shares the rows). Never start the scheduler in gunicorn
workers: the web app factory never starts it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from bots import campaigns, inbound, personal_data_job, retention, spool, translations
from bots.channels import configured_channels, telegram, whatsapp
from bots.outbox import new_worker_id, run_channel
from bots.runtime import Runtime
from storage import db
from storage.db import transaction
from storage.models import SchedulerLease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE_SECONDS = 60.0
RENEW_SECONDS = 15.0
CAMPAIGN_EVERY_SECONDS = 30.0
SPOOL_EVERY_SECONDS = 30.0  # SMS kept on disk while the database was down
TRANSLATE_EVERY = 60.0  # LibreTranslate: pending translations and retries
MEDIA_EVERY_SECONDS = 300.0  # Telegram attachments a webhook could not download
DRAIN_PAUSE = 0.02  # seconds between two looks at an empty inbound queue
CHANNEL_RETRY_SECONDS = 30.0  # a channel that could not start is tried again after this
RETENTION_AT = {"hour": 3, "minute": 30}  # every night, local time
STATISTICS_AT = {"hour": 4, "minute": 0}  # after the purge


class SchedulerBusy(RuntimeError):
    """Another process holds the scheduler lease on this database."""

    def __init__(self, holder: str, expires_at: datetime) -> None:
        super().__init__(
            f"Un planificateur tourne déjà sur cette base ({holder}, bail valable jusqu'à "
            f"{expires_at:%H:%M:%S} UTC). Un seul processus peut lancer les campagnes : arrêtez "
            "l'autre, ou attendez la fin du bail s'il s'est arrêté brutalement. Pour envoyer "
            "plus vite, ajoutez plutôt `paroles worker --outbox-only`."
        )
        self.holder = holder
        self.expires_at = expires_at


# --- the lease ------------------------------------------------------------------------------------


def acquire_lease(
    runtime: Runtime, holder: str, now: datetime, seconds: float = LEASE_SECONDS
) -> None:
    """Take the scheduler lease, or raise `SchedulerBusy` if a live holder has it."""
    expires = now + timedelta(seconds=seconds)
    try:
        with transaction(runtime.sessions) as session:
            lease = session.scalars(
                select(SchedulerLease).where(SchedulerLease.name == LEASE_NAME).with_for_update()
            ).one_or_none()
            if lease is None:
                session.add(
                    SchedulerLease(
                        name=LEASE_NAME, holder=holder, acquired_at=now, expires_at=expires
                    )
                )
                return
            if lease.holder != holder and lease.expires_at > now:
                raise SchedulerBusy(lease.holder, lease.expires_at)
            if lease.holder != holder:
                log.warning("taking over the scheduler lease of %s (expired)", lease.holder)
                lease.holder, lease.acquired_at = holder, now
            lease.expires_at = expires
    except IntegrityError as error:  # another process inserted the row at the same moment
        with runtime.sessions() as session:
            lease = session.get(SchedulerLease, LEASE_NAME)
            assert lease is not None
            raise SchedulerBusy(lease.holder, lease.expires_at) from error


def renew_lease(
    runtime: Runtime, holder: str, now: datetime, seconds: float = LEASE_SECONDS
) -> bool:
    """Extend our lease; False if it is no longer ours."""
    with transaction(runtime.sessions) as session:
        result = session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
            .values(expires_at=now + timedelta(seconds=seconds))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def release_lease(runtime: Runtime, holder: str) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(
            delete(SchedulerLease).where(
                SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder
            )
        )


# --- the jobs -------------------------------------------------------------------------------------

JobFunction = Callable[[Runtime, datetime], object]


def refresh_statistics(runtime: Runtime, now: datetime) -> None:
    """The database's planner statistics, every night (`storage.db.refresh_statistics`)."""
    db.refresh_statistics(runtime.engine)


@dataclass(frozen=True)
class Job:
    id: str
    function: JobFunction
    trigger: str
    trigger_args: Mapping[str, float]


JOBS = (
    Job("campaigns", campaigns.campaign_jobs, "interval", {"seconds": CAMPAIGN_EVERY_SECONDS}),
    Job("retention", retention.purge, "cron", RETENTION_AT),
    Job("statistics", refresh_statistics, "cron", STATISTICS_AT),
    # Personal data in texts: never in the webhook path, a batch a minute.
    Job("personal-data", personal_data_job.detect_pending, "interval", {"seconds": 60}),
    Job("spool", spool.replay, "interval", {"seconds": SPOOL_EVERY_SECONDS}),
    # Machine translations asked for or automatic, and their retries (no-op without a server).
    Job("translations", translations.translate_pending, "interval", {"seconds": TRANSLATE_EVERY}),
    Job(
        "telegram-media", telegram.fetch_missed_media, "interval", {"seconds": MEDIA_EVERY_SECONDS}
    ),
    Job(
        "whatsapp-media", whatsapp.fetch_missed_media, "interval", {"seconds": MEDIA_EVERY_SECONDS}
    ),
)


def run_job(function: JobFunction, runtime: Runtime) -> None:
    """Call a job with the real clock (tests call the functions with their own)."""
    result = function(runtime, datetime.now(UTC))
    if isinstance(result, dict) and any(result.values()):
        log.info("job %s: %s", function.__name__, result)


# --- the service ----------------------------------------------------------------------------------


class Service:
    """Runs the scheduler (unless `scheduler=False`) and one outbox sender per channel."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        scheduler: bool = True,
        outbox: bool = True,
        channels: Sequence[str] | None = None,
        exit_when_idle: bool = False,
        extra_jobs: Sequence[Job] = (),
        idle_pause: float = 1.0,
        drain: bool = True,
    ) -> None:
        self.runtime = runtime
        self.with_drain = drain
        self.jobs = (*JOBS, *extra_jobs)  # web adds its own (thème suggestions)
        self.with_scheduler = scheduler
        self.with_outbox = outbox
        self.channels = tuple(channels or configured_channels(runtime.settings))
        self.exit_when_idle = exit_when_idle
        self.idle_pause = idle_pause
        self.holder = new_worker_id()
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self._scheduler: BackgroundScheduler | None = None
        self._threads: list[threading.Thread] = []
        self._standby: threading.Thread | None = None
        self._lifecycle = threading.Lock()  # a stand-by taking over vs. stop()
        self.standing_by = False

    def start(self) -> None:
        """Start everything; raises `SchedulerBusy` before starting anything if need be."""
        if self.with_scheduler:
            acquire_lease(self.runtime, self.holder, datetime.now(UTC))
        self._start_all()

    def start_when_free(self, retry_seconds: float = RENEW_SECONDS) -> None:
        """Start now if the lease is free, else keep trying in the background and start as soon
        as it is ours (its holder stopped, or died and the lease expired). The stand-by ends
        with `stop()`."""
        try:
            self.start()
            return
        except SchedulerBusy as busy:
            log.warning("%s", busy)
            log.warning("waiting for the scheduler lease of %s", busy.holder)
        self.standing_by = True
        thread = threading.Thread(
            target=self._stand_by, args=(retry_seconds,), name="scheduler-standby", daemon=True
        )
        thread.start()
        self._standby = thread

    def _stand_by(self, retry_seconds: float) -> None:
        while not self.stop_event.wait(retry_seconds):
            try:
                with self._lifecycle:
                    if self.stop_event.is_set():
                        return
                    acquire_lease(self.runtime, self.holder, datetime.now(UTC))
                    self._start_all()
            except SchedulerBusy:
                continue
            except OperationalError:
                log.warning("scheduler stand-by: database unavailable, trying again")
                continue
            log.warning("scheduler lease taken over: campaigns and sending start here")
            self.standing_by = False
            return

    def _start_all(self) -> None:
        if self.with_drain and self.exit_when_idle:
            inbound.process_inbound(self.runtime)  # what was received goes out with the rest
        elif self.with_drain:
            thread = threading.Thread(target=self._drain, name="inbound-drain", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.with_scheduler:
            logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not every 15 s
            self._scheduler = self._make_scheduler()
            self._scheduler.start()
        if self.with_outbox:
            for name in self.channels:
                thread = threading.Thread(
                    target=self._send, args=(name,), name=f"outbox-{name}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _make_scheduler(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(timezone=self.runtime.settings.timezone)
        now = datetime.now(UTC)
        for job in self.jobs:
            scheduler.add_job(
                run_job,
                job.trigger,
                args=(job.function, self.runtime),
                id=job.id,
                max_instances=1,
                coalesce=True,
                next_run_time=now,  # also at start: a laptop is often off at 03:30
                **job.trigger_args,
            )
        scheduler.add_job(
            self._renew, "interval", seconds=RENEW_SECONDS, id="lease", max_instances=1
        )
        return scheduler

    def _renew(self) -> None:
        if not renew_lease(self.runtime, self.holder, datetime.now(UTC)):
            self._fail("le bail du planificateur a été perdu (base injoignable trop longtemps ?)")

    def _send(self, name: str) -> None:
        """One channel's sender. What goes wrong in it stays in it: `run_channel` carries on
        after an error in one row; if the channel itself cannot even be set up, this channel
        is retried after a pause (or given up with `exit_when_idle`), and the other channels,
        the scheduler and the webhooks go on."""
        while not self.stop_event.is_set():
            try:
                run_channel(
                    self.runtime,
                    name,
                    self.stop_event,
                    exit_when_idle=self.exit_when_idle,
                    idle_pause=self.idle_pause,
                )
                return
            except Exception as error:
                log.exception("outbox %s stopped", name)
                reason = f"l'envoi {name} s'est arrêté : {error!r}"
                self.errors.append(reason)
                if self.exit_when_idle:
                    return
                self.stop_event.wait(CHANNEL_RETRY_SECONDS)

    def _drain(self) -> None:
        """Process the recorded inbound messages as they come, until stopped."""
        backoff = 1.0
        while not self.stop_event.is_set():
            try:
                counts = inbound.process_inbound(self.runtime)
            except Exception as error:
                log.warning("inbound drain: %r; trying again in %.0f s", error, backoff)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 1.0
            if not counts["processed"]:
                self.stop_event.wait(DRAIN_PAUSE)

    def _fail(self, reason: str) -> None:
        log.error(reason)
        self.errors.append(reason)
        self.stop_event.set()

    def wait(self, poll: float = 1.0) -> int:
        """Block until stopped (or idle with `exit_when_idle`); returns an exit status."""
        while not self.stop_event.wait(poll):
            if self.exit_when_idle and not any(t.is_alive() for t in self._threads):
                break
        self.stop()
        return 1 if self.errors else 0

    def stop(self) -> None:
        """Stop cleanly: the scheduler's jobs finish, the lease is released (the next process
        can start at once), the senders finish their row."""
        with self._lifecycle:
            self.stop_event.set()
        if self._standby is not None and self._standby is not threading.current_thread():
            self._standby.join(timeout=30)
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        if self.with_scheduler:  # only ours is deleted; stopped even before it started
            release_lease(self.runtime, self.holder)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)


def start_in_serve(
    runtime: Runtime, extra_jobs: Sequence[Job] = (), retry_seconds: float = RENEW_SECONDS
) -> Service:
    """`paroles serve`: scheduler and senders in the same process. While another process holds
    the lease (a `paroles worker`, or the previous `serve` that died without releasing it), they
    wait for it: a serve restarted within the minute takes over once the old lease expires."""
    service = Service(runtime, extra_jobs=extra_jobs)
    service.start_when_free(retry_seconds)
    return service
