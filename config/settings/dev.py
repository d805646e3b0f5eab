"""Local development settings: the base defaults as they are (SQLite, filesystem broker, DEBUG on)."""

from config.settings.base import *  # noqa: F403
