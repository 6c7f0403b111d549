"""vroeg dispatch: send pending messages whose time has come (cron, every 15 minutes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vroeg.collection.flows import active_flow
from vroeg.domain.flow import FlowError
from vroeg.messaging.dispatch import dispatch_pending
from vroeg.runs.clock import today
from vroeg.runs.daily import still_needed_factory
from vroeg.runs.lock import RunLocked, run_lock


class Command(BaseCommand):
    help = "Verstuur wachtende berichten / send pending messages (08:00-21:00, not on Sundays)."

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        try:
            with run_lock():
                result = dispatch_pending(timezone.now(), still_needed=still_needed_factory(
                    today(), active_flow()))
        except FlowError as exc:
            raise CommandError(f"beleid / flow: {exc}") from None
        except RunLocked as exc:
            # The day run dispatches itself when it is done: nothing lost by skipping.
            self.stdout.write(f"overgeslagen / skipped: {exc}")
            return
        self.stdout.write(str(result))
        if result.sent.get("letter"):
            # Letters sent later in the day join the day's print batch.
            from vroeg.messaging.print_batch import PrintBatchError, build_print_batch

            try:
                build_print_batch(today())
            except PrintBatchError as exc:
                self.stderr.write(f"let op / note: drukbestand / print batch: {exc}")
