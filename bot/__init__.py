"""eventbot: sign-ups, participant lists, statistics, follow-ups and reports for Wikimedia events.

Pure modules (config, models, usernames, namespaces, signups, participants, stats, sections,
escape, exports, reports) never talk to a wiki; `bot.wiki` is the only module that does and
`bot.store` the only one that touches the state database.
"""

__version__ = "0.1.0"
