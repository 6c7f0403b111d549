"""Benchmark: render and dispatch N emails, N SMS and N PDF letters to local sinks.

A fresh VROEG_HOME (a temporary folder) and SQLite database; the messages are made
as the daily run makes them (one household and tenancy each, the run's context),
then one `dispatch_pending` call sends them all: emails to .eml files, or with --smtp
over SMTP to a real local server (aiosmtpd on 127.0.0.1, counting what arrives),
SMS to outbox JSON files, letters to PDF with WeasyPrint; then the day's print batch
(all letters in one PDF plus the CSV manifest) is built. Reports messages per second
per channel (render + send + record) and the batch time; JSON in benchmarks/out/.

    .venv/bin/python benchmarks/bench_messaging.py --letters 10000 --emails 10000
    .venv/bin/python benchmarks/bench_messaging.py --letters 200 --emails 2000 --smtp
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import socket
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--letters", type=int, default=200)
    ap.add_argument("--emails", type=int, default=2000)
    ap.add_argument("--sms", type=int, default=None, help="default: as many as --emails")
    ap.add_argument("--smtp", action="store_true", help="send the emails over local SMTP")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="vroeg-bench-msg-"))
    os.environ["VROEG_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vroeg.settings")
    os.environ.pop("VROEG_DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from vroeg.home import ensure_home

    ensure_home()
    call_command("migrate", verbosity=0)
    received = []
    controller = None
    if args.smtp:
        from aiosmtpd.controller import Controller

        class Sink:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                received.append(len(envelope.content))
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        controller = Controller(Sink(), hostname="127.0.0.1", port=port)
        controller.start()
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

    from vroeg.messaging.dispatch import dispatch_pending
    from vroeg.messaging.models import Message
    from vroeg.messaging.print_batch import build_print_batch
    from vroeg.messaging.render import jsonable_context
    from vroeg.portfolio.models import Household, Tenancy

    now = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    day = now.date()
    templates = ["reminder_friendly", "reminder_second", "written_reminder"]

    def make(n: int, channel: str) -> None:
        households = Household.objects.bulk_create([
            Household(code=f"{channel}-{i}", name=f"Huurder {i}", email=f"h{i}@example.org",
                      mobile="+31612345678") for i in range(n)])
        tenancies = Tenancy.objects.bulk_create([
            Tenancy(code=h.code, household=h, unit_code=h.code, street="Lindelaan",
                    house_number=str(i), postcode="1234AB", city="Amsterdam",
                    start_on=dt.date(2020, 1, 1), net_rent=Decimal("650"),
                    payment_reference=f"{channel[0]}{i:015d}"[:16])
            for i, h in enumerate(households)])
        msgs = []
        for i, (h, t) in enumerate(zip(households, tenancies, strict=True)):
            ctx = {"name": h.name, "tenancy_code": t.code,
                   "address": f"Lindelaan {i}, 1234 AB Amsterdam",
                   "amount": Decimal("1300.00") + i, "oldest_due_on": dt.date(2026, 10, 1),
                   "months_owed": Decimal("2"), "payment_reference": t.payment_reference,
                   "corp": settings.VROEG_CORPORATION,
                   "pay_link": f"https://betalen.woonstad.example/{i:032x}", "decided_on": day,
                   "postal": {"street": "Lindelaan", "house_number": str(i),
                              "postcode": "1234AB", "city": "Amsterdam"}}
            msgs.append(Message(household=h, tenancy=t, step="s", template=templates[i % 3],
                                channel=channel, language="nl" if i % 4 else "en",
                                recipient=h.email if channel == "email" else
                                h.mobile if channel == "sms" else f"{h.name}, Lindelaan {i}",
                                body_text="x", context=jsonable_context(ctx), decided_on=day,
                                send_after=now, idempotency_key=f"msg:{t.code}"))
        Message.objects.bulk_create(msgs, batch_size=2000)

    n_sms = args.emails if args.sms is None else args.sms
    make(args.letters, "letter")
    make(args.emails, "email")
    make(n_sms, "sms")
    t0 = time.perf_counter()
    r = dispatch_pending(now)
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    pdf, csv, count = build_print_batch(day)
    batch = time.perf_counter() - t1
    if controller is not None:
        controller.stop()
    out = {
        "benchmark": "messaging", "date": dt.date.today().isoformat(), "cpus": os.cpu_count(),
        "email_sink": "smtp (aiosmtpd)" if args.smtp else ".eml files",
        "sent": r.sent, "failed": r.failed, "deferred": r.deferred, "wall_seconds": round(wall, 1),
        "per_channel": {ch: {"count": r.sent.get(ch, 0), "seconds": round(r.seconds.get(ch, 0), 2),
                             "per_second": round(r.rate(ch), 1)}
                        for ch in ("letter", "email", "sms")},
        "smtp_received": len(received) if args.smtp else None,
        "print_batch": {"letters": count, "seconds": round(batch, 1),
                        "mb": round(pdf.stat().st_size / 1e6, 1) if pdf else 0},
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(f"sent {r.sent} failed {r.failed} deferred {r.deferred} in {wall:.1f}s wall")
    for ch, v in out["per_channel"].items():
        print(f"{ch:7s} {v['count']:6d} in {v['seconds']:7.2f}s = {v['per_second']:8.1f}/s "
              "(render + send + record)")
    if args.smtp:
        print(f"smtp server received {len(received)} messages")
    print(f"print batch: {count} letters in one PDF ({out['print_batch']['mb']} MB) + manifest "
          f"in {batch:.1f}s; peak {out['peak_mb']} MB")
    (HERE / "out").mkdir(exist_ok=True)
    path = HERE / "out" / f"messaging-{args.letters}-{args.emails}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
