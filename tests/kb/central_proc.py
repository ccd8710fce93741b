"""A central receiver process serving a knowledge-base folder: prints its endpoint, runs until SIGTERM.

    python central_proc.py KB_DIR DB BIND
"""
from __future__ import annotations

import signal
import sys

from qcedge.central.kb import KbCentral
from qcedge.qc_client.receiver import Receiver

kb_dir, db, bind = sys.argv[1:4]
receiver = Receiver(bind, db, kb=KbCentral(kb_dir, recheck=0.2))
signal.signal(signal.SIGTERM, lambda *_: receiver.stop())
receiver.open()
print(receiver.endpoint, flush=True)
receiver.run()
