"""The drain the worker runs, run by the tests after a webhook: a webhook only records.

`drain(runtime)` processes every message recorded so far (as `paroles worker` would a moment
later), the retries' delays elapsed; it returns the counts of `process_inbound`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bots.inbound import process_inbound
from bots.runtime import Runtime


def drain(runtime: Runtime) -> dict[str, int]:
    return process_inbound(runtime, now=datetime.now(UTC) + timedelta(days=1))
