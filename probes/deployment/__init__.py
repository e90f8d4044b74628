"""Deployment-path probes: export a reference model, run the artifact in its target runtime.

`models` holds the two reference models (numpy weights every framework builds from), one module
per framework (`pytorch`, `tensorflow`, `keras`, `jax`, `mxnet`) its exporters, `runtime` the
second half that loads and times an artifact in the runtime's interpreter, and `probe` the
worker's side that joins the two and reports one record per path and model.
"""
