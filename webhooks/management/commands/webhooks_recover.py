"""Enqueue pending webhook deliveries whose task was lost (a crash between a write's commit
and its enqueue, a worker killed mid-task). Safe to run any time, from several places: a
delivery is only ever claimed by one worker. bin/run runs it before starting its worker; in
production run it every few minutes (cron, or `--every`)."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from webhooks.dispatch import recover


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--older-than", type=float, default=60.0,
                            help="Only deliveries overdue by this many seconds (default 60).")
        parser.add_argument("--every", type=float, default=0.0,
                            help="Repeat every this many seconds instead of running once.")

    def handle(self, *, older_than: float, every: float, **options) -> None:
        while True:
            count = recover(older_than)
            if count or options["verbosity"] > 1:
                self.stdout.write(f"Re-enqueued {count} overdue webhook deliveries.")
            if not every:
                return
            time.sleep(every)
