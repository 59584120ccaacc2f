"""surveyhouse's Prefect code: the nightly flow and its tasks, serving it on a schedule, the failure hook."""
