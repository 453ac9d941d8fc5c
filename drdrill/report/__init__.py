"""Drill reports: the plan's metrics table, a timeline picture, summaries, history, Allure."""
