"""Background jobs of the API process: retraining a model on the log's history.

A job is asked for over ``POST /v1/admin/retrain`` (or by the nightly schedule), kept in the
deployment's key-value state store (:mod:`banktwin.jobs.store`), and run by one
:class:`~banktwin.jobs.runner.JobRunner` thread in each API process, one job at a time, oldest
first. The lifecycle is pure (:mod:`banktwin.jobs.lifecycle`); trainers sit behind a small
port (:mod:`banktwin.jobs.trainer`), listed in one table
(:func:`banktwin.jobs.trainers.model_trainers`).
"""

JOBS = "jobs"
"""The key-value store's namespace (its "consumer") the job records are kept under."""
