"""A station process that only takes knowledge-base releases (the daemon's KB part without a screen):
a feed client with a KbAgent that validates like the daemon (templates against their references, rules).
Runs until SIGTERM.

    python station_proc.py STATION SITE ENDPOINT KB_FOLDER PUBLIC_KEY [CHUNK_BYTES] [MAX_BYTES]
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from qcedge.qc_client.client import FeedClient
from qcedge.qc_client.kb import MAX_RELEASE_BYTES, KbAgent, ReleaseStore, load_public_key
from qcedge.qc_client.outbox import Outbox
from qcedge.kb import validate_release

logging.basicConfig(level=logging.WARNING)
station, site, endpoint, folder, public = sys.argv[1:6]
chunk = int(sys.argv[6]) if len(sys.argv) > 6 else 256 * 1024
limit = int(sys.argv[7]) if len(sys.argv) > 7 else MAX_RELEASE_BYTES
store = ReleaseStore(folder)
agent = KbAgent(store, load_public_key(public), station, site, validate=validate_release, chunk_bytes=chunk,
                max_bytes=limit)
outbox = Outbox(Path(folder) / "outbox.sqlite")
client = FeedClient(endpoint, outbox, station, kb=agent, heartbeat=0.3)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
client.start()
print("ready", flush=True)
done.wait()
client.stop()
agent.close()
outbox.close()
