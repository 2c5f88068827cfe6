"""One log line per GraphQL request on the "vitrine.requests" logger.

It records the transport, the operation (name and type), the requested and actual cost, the
duration, the client identity as the throttle sees it (a hashed API key, a user id or an IP
address), the persisted-query hash when one was used, whether the response cache had the
answer (`cache=hit`/`miss`: its hit ratio), and the error codes. Never the
document's variables, headers, cookies or tokens. The same fields are passed as
`extra={"graphql": {...}}` for structured handlers.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("vitrine.requests")


@dataclass
class RequestRecord:
    started: float = field(default_factory=time.perf_counter)
    operation_name: str | None = None
    operation_type: str | None = None
    transport: str | None = None
    client: str | None = None
    requested_cost: int | None = None
    actual_cost: int | None = None
    persisted_query: str | None = None
    cache: str | None = None
    """"hit" or "miss" when the response cache was consulted (schema/response_cache.py)."""
    codes: list[str] = field(default_factory=list)

    def add_codes(self, result_errors: Any) -> None:
        for error in result_errors or ():
            code = (getattr(error, "extensions", None) or {}).get("code")
            self.codes.append(code or "UNCODED")

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation_name,
            "type": self.operation_type,
            "transport": self.transport,
            "client": self.client,
            "requested_cost": self.requested_cost,
            "actual_cost": self.actual_cost,
            "persisted_query": self.persisted_query,
            "cache": self.cache,
            "duration_ms": round((time.perf_counter() - self.started) * 1000, 2),
            "codes": sorted(set(self.codes)),
        }


def emit(record: RequestRecord) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    fields = record.as_dict()
    logger.info(
        "graphql %s %s %s client=%s cost=%s/%s duration=%.2fms%s%s%s",
        fields["transport"] or "-",
        fields["type"] or "-",
        fields["operation"] or "-",
        fields["client"] or "-",
        "-" if fields["requested_cost"] is None else fields["requested_cost"],
        "-" if fields["actual_cost"] is None else fields["actual_cost"],
        fields["duration_ms"],
        f" apq={fields['persisted_query'][:12]}" if fields["persisted_query"] else "",
        f" cache={fields['cache']}" if fields["cache"] else "",
        f" errors={','.join(fields['codes'])}" if fields["codes"] else "",
        extra={"graphql": fields},
    )
