"""The command line: `surveyhouse COMMAND` (see README, Command line)."""
