"""Jobs: scheduled runs of synchronisations (and pings), embedded or on procrastinate workers.

``JobService`` (``service.py``) creates, schedules and runs jobs; ``Scheduler``
(``scheduler.py``) runs due jobs inside ``openconnector serve``; ``distributed.py``
runs them on ``openconnector worker`` processes over PostgreSQL.
"""

from __future__ import annotations

from .service import JobService, Schedule

__all__ = ["JobService", "Schedule"]
