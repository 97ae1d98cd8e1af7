"""The experiment runner: many videos × models × methods, evaluated, stored, resumable.

>>> from vidxai.runner import load_experiment, run_experiment, read_results  # doctest: +SKIP
>>> summary = run_experiment(load_experiment("experiment.yaml"), out="results/")  # doctest: +SKIP
>>> read_results("results/").to_pandas().groupby("method")["deletion"].mean()  # doctest: +SKIP

See :mod:`vidxai.runner.schema` for the experiment file and :mod:`vidxai.runner.store` for the
results store (``results.parquet`` + ``attributions/``).
"""

from vidxai.runner.run import RunSummary, run_experiment
from vidxai.runner.schema import Experiment, ExperimentError, load_experiment, parse_experiment
from vidxai.runner.store import load_attribution, read_results, run_status

__all__ = [
    "Experiment",
    "ExperimentError",
    "RunSummary",
    "load_attribution",
    "load_experiment",
    "parse_experiment",
    "read_results",
    "run_experiment",
    "run_status",
]
