"""Central's side of qcedge: stores (SQLite, PostgreSQL), statistics, review and rectification.

It shares only `qc_client` with the station (record, protocol, receiver, rules): a central site
runs it without OpenCV, Qt or OCR models (`pip install qcedge[central]` adds psycopg, Starlette
and uvicorn). See docs/central.md.
"""
