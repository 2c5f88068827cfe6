"""Health endpoints for load balancers and orchestrators, on django-health-check.

- `/healthz` (liveness): the process answers. It checks nothing else, so an outage of the
  database or Redis never gets healthy processes restarted; they recover on their own.
- `/readyz` (readiness): the database, the cache and the channel layer answer. While one does
  not, the process should get no traffic.

Both answer JSON, whatever the client accepts: one entry per check, "OK" or what failed
(`{"Database(alias='default')": "Unavailable: connection failed", ...}`), with 200, or 503
when any check failed (django-health-check answers 500, which reads as a bug, not as "not
ready"). docs/operations.md describes them.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime

from channels.layers import get_channel_layer
from django.http import JsonResponse
from health_check.base import HealthCheck
from health_check.exceptions import ServiceReturnedUnexpectedResult, ServiceUnavailable
from health_check.views import HealthCheckView

PROBE = {"type": "health.check"}


@dataclasses.dataclass
class ChannelLayer(HealthCheck):
    """A message sent to a new channel of the layer comes back: through Redis with
    channels-redis, so live events can be delivered (django-health-check has no such check)."""

    alias: str = "default"
    timeout = datetime.timedelta(seconds=3)

    async def run(self) -> None:
        layer = get_channel_layer(self.alias)
        if layer is None:
            raise ServiceUnavailable("No channel layer is configured")
        try:
            channel = await layer.new_channel()
            await layer.send(channel, PROBE)
            message = await asyncio.wait_for(layer.receive(channel), self.timeout.total_seconds())
        except TimeoutError as error:
            raise ServiceUnavailable("The message sent did not come back in time") from error
        except Exception as error:  # whatever the backend raises, it cannot be reached
            raise ServiceUnavailable("Cannot reach the channel layer") from error
        if message != PROBE:
            raise ServiceReturnedUnexpectedResult("Another message came back")


class HealthView(HealthCheckView):
    """Runs its `checks` and answers JSON: 200 when all passed, 503 otherwise."""

    async def get(self, request, *args, **kwargs) -> JsonResponse:
        with self.get_executor() as executor:
            self.results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        failed = any(result.error for result in self.results)
        return self.render_to_response_json(503 if failed else 200)
