"""Advisory lock spaces of the rollup pipeline, each taken per project: ``(space, project_id)``.

Per project, so one project's re-roll or compaction never holds another project up.
"""

from __future__ import annotations

# Re-rolling a project's days takes this exclusively; its rollups and compactions take it shared.
REROLL_LOCK = 0x7477_726F  # "twro"
# One compactor per project and day at a time (tried, never waited for): 16 bits, see compact.py.
COMPACT_LOCK = 0x7463  # "tc"
