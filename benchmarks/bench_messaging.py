"""Benchmark: dispatch N letters / emails (to .eml files) / SMS from a fresh VROEG_HOME.

Usage: VROEG_HOME=/tmp/bench/home python bench_messaging.py [N_LETTERS] [N_EMAILS]
"""
import datetime as dt
import os
import shutil
import sys
import time
from decimal import Decimal

home = os.environ.setdefault("VROEG_HOME", "/tmp/bench/home")
shutil.rmtree(home, ignore_errors=True)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vroeg.settings")
from vroeg.home import ensure_home  # noqa: E402

ensure_home()
import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)
from vroeg.messaging.dispatch import dispatch_pending  # noqa: E402
from vroeg.messaging.models import Message  # noqa: E402
from vroeg.messaging.render import jsonable_context  # noqa: E402
from vroeg.portfolio.models import Household, Tenancy  # noqa: E402

n_letters = int(sys.argv[1]) if len(sys.argv) > 1 else 200
n_emails = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
NOW = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
DAY = NOW.date()
templates = ["reminder_friendly", "reminder_second", "written_reminder"]


def make(n, channel):
    msgs = []
    for i in range(n):
        code = f"{channel}-{i}"
        h = Household.objects.create(code=code, name=f"Huurder {i}", email=f"h{i}@example.org",
                                     mobile="+31612345678")
        t = Tenancy.objects.create(code=code, household=h, unit_code=code, street="Lindelaan",
                                   house_number=str(i), postcode="1234AB", city="Amsterdam",
                                   start_on=dt.date(2020, 1, 1), net_rent=Decimal("650"),
                                   payment_reference=f"{channel[0]}{i:015d}"[:16])
        ctx = {"name": h.name, "tenancy_code": code, "address": f"Lindelaan {i}, 1234 AB Amsterdam",
               "amount": Decimal("1300.00") + i, "oldest_due_on": dt.date(2026, 10, 1),
               "months_owed": Decimal("2"), "payment_reference": t.payment_reference,
               "corp": settings.VROEG_CORPORATION, "pay_link": "https://betalen.woonstad.example/x",
               "decided_on": DAY,
               "postal": {"street": "Lindelaan", "house_number": str(i), "postcode": "1234AB",
                          "city": "Amsterdam"}}
        msgs.append(Message(household=h, tenancy=t, step="s", template=templates[i % 3],
                            channel=channel, language="nl" if i % 4 else "en",
                            recipient=h.email if channel == "email" else h.mobile,
                            body_text="x", context=jsonable_context(ctx), decided_on=DAY,
                            send_after=NOW, idempotency_key=f"msg:{code}"))
    Message.objects.bulk_create(msgs)


make(n_letters, "letter")
make(n_emails, "email")
make(n_emails, "sms")
t0 = time.perf_counter()
r = dispatch_pending(NOW)
wall = time.perf_counter() - t0
print(f"sent {r.sent} failed {r.failed} deferred {r.deferred} in {wall:.1f}s wall")
for ch in ("letter", "email", "sms"):
    print(f"{ch:7s} {r.sent.get(ch, 0):6d} in {r.seconds.get(ch, 0):6.2f}s = {r.rate(ch):8.1f}/s "
          "(render + send + record)")
