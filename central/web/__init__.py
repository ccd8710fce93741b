"""Central's web dashboard for the QC group (Starlette + Jinja2, served by uvicorn).

Overview by hospital and modality with inline SVG plots, the review queue, record detail with
field crops, rectification items; Chinese and English; login with roles (reviewer, hospital
viewer, admin). See docs/central.md, "Web dashboard".
"""
