"""The cluster backend: Ray Tune runs `run_trial` on every node of a Ray cluster (or a local Ray).

Same preparation, space, objective, trial options and run directory as every backend; only the execution
differs: `settings` (options and the scheduler/searcher names), `connection` (a cluster or a local Ray),
`trainable` (what a trial runs), `experiment` (the Tune experiment and the backend) and `ledger` (finished
trials written at once, and Tune's results read back as `TrialRecord`s). `bohb` turns a space into a
ConfigSpace for TuneBOHB.
"""
