"""surveyhouse, the application: settings, the state folder, one night, rebuild.

Nothing here imports Prefect: flows/ wraps these functions as a flow and tasks.
"""
