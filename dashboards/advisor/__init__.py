"""The tier advisor: which tiers qualify for a scenario on measured data, and what a move saves.

Pure Python, no database: the tier comparison view gathers one ``TierFacts`` per tier
(catalogue figures plus what the rollups measured over the chosen range) and asks
``evaluate`` for a verdict per tier and ``saving`` for the daily effect of moving traffic.

- ``scenarios``: what a use case needs — the seed's presets and the custom scenario.
- ``evaluation``: a verdict per tier, each need checked against the measured figures.
- ``saving``: the daily cost effect of moving traffic from one tier to another.
"""

from .evaluation import Check, TierFacts, Verdict, evaluate, percent
from .saving import Saving, saving
from .scenarios import CUSTOM_PARAMS, PRESETS, AdvisorParamError, Scenario, parse_custom

__all__ = [
    "CUSTOM_PARAMS",
    "PRESETS",
    "AdvisorParamError",
    "Check",
    "Saving",
    "Scenario",
    "TierFacts",
    "Verdict",
    "evaluate",
    "parse_custom",
    "percent",
    "saving",
]
