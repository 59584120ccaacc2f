"""surveyhouse, the application: settings, the state folder, one night, rebuild.

Nothing here imports Prefect: flows/ wraps these functions as a flow and tasks.

Polars allocates through jemalloc, which by default keeps freed pages for ten seconds
before giving them back. A run frees and allocates frames of hundreds of megabytes in
quick succession (the raw file, its canonical frame, the typed responses), so the pages
of one step were still held while the next one filled new ones: at a million responses
the process peaked at 2.3 GiB for 1.3 GiB in use. Freed pages are returned after 5 ms
here (1.9 GiB peak, no measurable time cost; see BENCHMARKS.md). This must be set before
Polars is first imported, which is why it lives here; a value already in the
environment wins.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:5,muzzy_decay_ms:0")
