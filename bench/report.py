"""The report's cost: time and memory to build it at 10,000 and 100,000 contributions.

    python bench/report.py [--sizes 10000,100000] [--postgres URL] [--png README-rapport.png]

Fills a fresh SQLite file (and PostgreSQL when `PAROLES_BENCH_DATABASE_URL` or --postgres is
given; that database is emptied first) with `bench/indicators.py`'s year of activity, ticks 200
contributions « à citer » and adds 30 engagements. Then, in a fresh process per size (so its
memory is the report's, not the filling's), it measures:

- the web app's resident memory after `create_app()`, and whether matplotlib was imported (it
  must not be: charts import it on the first report);
- the baseline: `web.indicators.compute` for the same twelve months (the tableau de bord);
- the report built in parts (figures, charts, DOCX, PDF) and whole through the real download
  (`/rapport/rapport.pdf` and `.docx`, as a chef de projet), medians of 3;
- peak memory: the process's high-water mark (VmHWM) and Python's own peak (tracemalloc) while
  building one report.

`--png` renders the first page of a demo territory's PDF (pypdfium2) for the README. Prints one
JSON object per line; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_database import empty_postgres  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PERIOD = ("2025-12", "2026-11")
REPEAT = 3


def _status(field: str) -> float:
    """A /proc/self/status figure, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _settings(url: str, data_dir: Path) -> Any:
    from storage.config import load_settings

    return load_settings(
        {
            "PAROLES_DATABASE_URL": url,
            "PAROLES_SECRET_KEY": "bench-secret-key-0123456789",
            "PAROLES_DATA_DIR": str(data_dir),
        }
    )


def fill(url: str, contributions: int, data_dir: Path) -> None:
    from indicators import fill as fill_year  # bench/indicators.py
    from sqlalchemy import select, update

    from bots.runtime import Runtime
    from storage.db import transaction
    from storage.models import Contribution, Engagement, Quartier, Theme

    runtime = Runtime.from_settings(_settings(url, data_dir))
    started = time.perf_counter()
    fill_year(runtime, contributions, max(2000, contributions // 5))
    rng = random.Random(21)
    with transaction(runtime.sessions) as session:
        ids = list(session.scalars(select(Contribution.id)))
        session.execute(
            update(Contribution)
            .where(Contribution.id.in_(rng.sample(ids, 200)))
            .values(to_quote=True, text="Appelez-moi au 06 12 34 56 78, le bus ne passe plus.")
        )
        quartiers = list(session.scalars(select(Quartier.id)))
        themes = list(session.scalars(select(Theme.id)))
        for n in range(30):
            session.add(
                Engagement(
                    title=f"Engagement {n}",
                    quartier_id=rng.choice([None, *quartiers]),
                    theme_id=rng.choice(themes),
                    status=rng.choice(("etude", "decide", "en_cours", "realise", "non_retenu")),
                    updated_at=datetime(2026, 11, 1, tzinfo=UTC) - timedelta(days=n),
                )
            )
    print(
        json.dumps(
            {
                "database": runtime.engine.dialect.name,
                "step": "fill",
                "contributions": contributions,
                "seconds": round(time.perf_counter() - started, 1),
            }
        ),
        flush=True,
    )
    runtime.engine.dispose()


def _median_ms(action: Any, repeat: int = REPEAT) -> float:
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return round(statistics.median(durations) * 1000, 1)


def measure(url: str, contributions: int, data_dir: Path) -> None:
    """Run in a fresh process: the memory figures are the report's."""
    from sqlalchemy import select

    from bots.runtime import Runtime
    from storage.models import User
    from web import create_app
    from web.counts import Scope
    from web.indicators import Period, compute, parse_month

    settings = _settings(url, data_dir)
    runtime = Runtime.from_settings(settings)
    database = runtime.engine.dialect.name
    base = {"database": database, "contributions": contributions}
    app = create_app({"TESTING": True}, settings=settings, runtime=runtime)
    print(
        json.dumps(
            {
                **base,
                "case": "web app started",
                "rss_mib": _status("VmRSS"),
                "matplotlib_imported": "matplotlib" in sys.modules,
                "docx_imported": "docx" in sys.modules,
                "fpdf_imported": "fpdf" in sys.modules,
            }
        ),
        flush=True,
    )
    first, last = (parse_month(m) for m in PERIOD)
    assert first and last
    period = Period(first, last)
    with runtime.sessions() as session:
        baseline = _median_ms(lambda: compute(session, period, Scope(), settings.timezone))
    print(json.dumps({**base, "case": "baseline: tableau de bord compute", "ms": baseline}))

    from web.report import charts, content, docx_file, pdf_file

    choices = content.Choices(period)
    with runtime.sessions() as session:
        parts: dict[str, list[float]] = {"figures": [], "charts": [], "docx": [], "pdf": []}
        unshaped: list[float] = []  # the same PDF without HarfBuzz: what text shaping costs
        for n in range(REPEAT + 1):  # the first also imports matplotlib and fills font caches
            t0 = time.perf_counter()
            report = content.build(session, choices, timezone=settings.timezone)
            t1 = time.perf_counter()
            report = content.with_charts(report, charts.render)
            t2 = time.perf_counter()
            docx_file.write(report)
            t3 = time.perf_counter()
            pdf_file.write(report)
            t4 = time.perf_counter()
            if n:
                for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    parts[name].append(seconds)
                unshaped.append(_unshaped_pdf_seconds(pdf_file.write, report))
            else:
                print(
                    json.dumps(
                        {**base, "case": "first report (imports)", "ms": round((t4 - t0) * 1000, 1)}
                    )
                )
    for name, values in parts.items():
        print(
            json.dumps(
                {
                    **base,
                    "case": f"report part: {name}",
                    "ms": round(statistics.median(values) * 1000, 1),
                }
            )
        )
    print(
        json.dumps(
            {
                **base,
                "case": "report part: pdf without text shaping (baseline)",
                "ms": round(statistics.median(unshaped) * 1000, 1),
            }
        )
    )
    client = app.test_client()
    with runtime.sessions() as session:
        chef = session.scalars(select(User.id).where(User.role == "chef_de_projet")).first()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(chef)
        cookie["auth_at"] = cookie["seen_at"] = time.time()
    for fmt in ("docx", "pdf"):
        path = f"/rapport/rapport.{fmt}?du={PERIOD[0]}&au={PERIOD[1]}"

        def download(path: str = path) -> None:
            response = client.get(path)
            assert response.status_code == 200, response.status_code
            response.get_data()

        print(
            json.dumps(
                {
                    **base,
                    "case": f"download {fmt} (whole, through Flask)",
                    "ms": _median_ms(download, 1),
                }
            ),
            flush=True,
        )
    tracemalloc.start()
    with runtime.sessions() as session:
        report = content.with_charts(
            content.build(session, choices, timezone=settings.timezone), charts.render
        )
        size = len(docx_file.write(report)) + len(pdf_file.write(report))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            {
                **base,
                "case": "memory",
                "python_peak_mib": round(peak / 2**20, 1),
                "process_peak_mib": _status("VmHWM"),
                "rss_after_mib": _status("VmRSS"),
                "docx_plus_pdf_kib": round(size / 1024),
            }
        ),
        flush=True,
    )
    runtime.engine.dispose()


def _unshaped_pdf_seconds(write: Any, report: Any) -> float:
    """The time to write the same PDF with fpdf2's text shaping (HarfBuzz) turned off."""
    from fpdf import FPDF

    shaping = FPDF.set_text_shaping
    FPDF.set_text_shaping = lambda self, *args, **kwargs: None  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        write(report)
        return time.perf_counter() - t0
    finally:
        FPDF.set_text_shaping = shaping  # type: ignore[method-assign]


def first_page_png(out: Path) -> None:
    """The demo territory's report (last whole quarter), its PDF's first page as PNG."""
    import pypdfium2

    from bots.runtime import Runtime
    from web.cli.database import prepare_database
    from web.cli.demo import seed_demo
    from web.indicators import Period
    from web.report import charts, content, pdf_file

    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(f"sqlite:///{tmp}/demo.db", Path(tmp))
        runtime = Runtime.from_settings(settings)
        prepare_database(runtime)
        seed_demo(runtime, now=datetime(2026, 11, 16, 10, tzinfo=UTC))
        with runtime.sessions() as session:
            report = content.build(
                session,
                content.Choices(Period(date(2026, 8, 1), date(2026, 10, 1))),
                timezone=settings.timezone,
                made_on=date(2026, 11, 16),
            )
            data = pdf_file.write(content.with_charts(report, charts.render))
        runtime.engine.dispose()
    document = pypdfium2.PdfDocument(io.BytesIO(data))
    for index, name in ((0, out), (1, out.with_name("rapport-page-2.png"))):
        document[index].render(scale=1.0).to_pil().save(name, optimize=True)
    print(json.dumps({"case": "first page", "png": str(out), "pages": len(document)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--postgres", default=os.environ.get("PAROLES_BENCH_DATABASE_URL", ""))
    parser.add_argument("--png", default="")
    parser.add_argument("--measure", nargs=3, metavar=("URL", "CONTRIBUTIONS", "DIR"))
    args = parser.parse_args()
    if args.measure:
        url, contributions, folder = args.measure
        measure(url, int(contributions), Path(folder))
        return
    if args.png:
        first_page_png(Path(args.png))
        return

    for contributions in (int(n) for n in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            urls = [f"sqlite:///{tmp}/bench.db"]
            if args.postgres:
                empty_postgres(args.postgres)
                urls.append(args.postgres)
            for url in urls:
                fill(url, contributions, Path(tmp))
                subprocess.run(
                    [sys.executable, __file__, "--measure", url, str(contributions), tmp],
                    check=True,
                )


if __name__ == "__main__":
    main()
