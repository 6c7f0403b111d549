"""The outbox delivers each message once: recovery after a crash, fallback to the
step's next channel, a staff task when no channel is left, email bounces (DSN)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.test_messaging import NOW, household, make_message, tenancy  # noqa: F401
from vroeg.collection.models import Task
from vroeg.messaging.bounces import parse_dsn, read_bounces
from vroeg.messaging.channels import message_id
from vroeg.messaging.dispatch import dispatch_pending, fall_back
from vroeg.messaging.models import Message

pytestmark = pytest.mark.django_db


def test_a_message_left_sending_by_a_crash_is_recorded_not_sent_again(vroeg_home,
                                                                       make_message):
    msg = make_message("sms")
    assert dispatch_pending(NOW).sent == {"sms": 1}
    path = vroeg_home / Message.objects.get(pk=msg.pk).delivery_ref
    stamp = path.stat().st_mtime_ns
    # The provider took it, the dispatcher died before its record: "sending" remains.
    Message.objects.filter(pk=msg.pk).update(status=Message.Status.SENDING, claimed_at=NOW,
                                             sent_at=None, delivery_ref="", attempts=0)
    later = dispatch_pending(NOW + dt.timedelta(minutes=30))
    assert later.recovered == 1 and later.total_sent == 0
    msg.refresh_from_db()
    assert msg.status == Message.Status.SENT and msg.delivery_ref
    assert path.stat().st_mtime_ns == stamp  # not written (sent) again


def test_no_trace_of_a_sending_message_means_it_goes_now(vroeg_home, make_message):
    msg = make_message("email")
    Message.objects.filter(pk=msg.pk).update(status=Message.Status.SENDING, claimed_at=NOW)
    result = dispatch_pending(NOW)
    assert result.recovered == 0 and result.sent == {"email": 1}
    msg.refresh_from_db()
    assert msg.status == Message.Status.SENT and msg.attempts == 1


def test_a_refused_number_falls_back_to_the_next_channel(vroeg_home, make_message):
    msg = make_message("sms", recipient="0612", fallback_channels=["sms", "email", "letter"])
    result = dispatch_pending(NOW)
    assert result.failed == 1 and result.fallbacks == 1
    msg.refresh_from_db()
    assert msg.status == Message.Status.FAILED and "continued by email" in msg.last_error
    nxt = msg.fallback
    assert (nxt.channel, nxt.status, nxt.recipient) == ("email", Message.Status.PENDING,
                                                        "fatma@example.org")
    assert nxt.idempotency_key == f"{msg.idempotency_key}|email"
    assert dispatch_pending(NOW).sent == {"email": 1}
    assert fall_back(msg, "again", NOW) is None  # handed on once, never twice


def test_no_channel_left_gives_staff_a_task(vroeg_home, make_message, household):
    household.no_email = True
    household.save()
    msg = make_message("sms", recipient="0612", fallback_channels=["sms", "email"])
    result = dispatch_pending(NOW)
    assert result.unreachable == 1 and result.fallbacks == 0
    task = Task.objects.get(idempotency_key=f"unreachable:{msg.pk}")
    assert task.kind == "unreachable" and "0612" not in task.reason


def test_a_template_error_fails_without_trying_other_channels(vroeg_home, make_message):
    msg = make_message("email", fallback_channels=["email", "sms"])
    Message.objects.filter(pk=msg.pk).update(
        context={k: v for k, v in msg.context.items() if k != "pay_link"})
    result = dispatch_pending(NOW)
    assert result.failed == 1 and result.fallbacks == 0 and result.unreachable == 0


def dsn(original_id: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A delivery status notification as Postfix writes one (RFC 3464)."""
    return (
        'From: MAILER-DAEMON@mx.example.org\r\nTo: huurincasso@woonstad.example\r\n'
        'Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n'
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        '--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n'
        '--B\r\nContent-Type: message/delivery-status\r\n\r\n'
        'Reporting-MTA: dns; mx.example.org\r\n\r\n'
        'Final-Recipient: rfc822; fatma@example.org\r\n'
        f'Action: {action}\r\nStatus: {status}\r\n'
        f'Diagnostic-Code: smtp; 550 {status} <fatma@example.org>: Recipient address '
        'rejected\r\n\r\n'
        '--B\r\nContent-Type: text/rfc822-headers\r\n\r\n'
        f'Message-ID: {original_id}\r\nSubject: Uw huur\r\n\r\n--B--\r\n').encode()


def test_a_bounce_fails_the_email_and_the_next_channel_takes_over(vroeg_home, make_message,
                                                                   tmp_path):
    msg = make_message("email", fallback_channels=["email", "sms", "letter"])
    dispatch_pending(NOW)
    msg.refresh_from_db()
    assert msg.provider_id == message_id(msg.idempotency_key)
    maildir = tmp_path / "Maildir"
    (maildir / "new").mkdir(parents=True)
    (maildir / "new" / "1.eml").write_bytes(dsn(msg.provider_id))
    (maildir / "new" / "2.eml").write_bytes(dsn("<other@elsewhere.example>"))
    (maildir / "new" / "3.eml").write_bytes(b"Subject: hallo\n\ngewone mail")
    r = read_bounces([maildir])
    assert (r.read, r.bounced, r.unknown, r.not_reports) == (3, 1, 1, 1)
    msg.refresh_from_db()
    assert msg.delivery == Message.Delivery.BOUNCED and msg.status == Message.Status.FAILED
    assert "5.1.1" in msg.last_error and "fatma" not in msg.last_error
    assert msg.fallback.channel == "sms"
    assert read_bounces([maildir]).bounced == 1  # read twice: still one fallback
    assert Message.objects.filter(fallback_of=msg).count() == 1


def test_a_delay_report_is_only_noted():
    bounce = parse_dsn(dsn("<vroeg.abc@woonstad.example>", "4.4.1", "delayed"))
    assert bounce is not None and not bounce.permanent and bounce.status == "4.4.1"
    assert parse_dsn(b"Subject: x\n\nnot a report") is None


# --- through a real provider API (the local fake Twilio server) ----------------------------

from tests.test_text_providers import fake, twilio_settings  # noqa: E402, F401


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs, nothing is caught."""


def _posts(fake) -> int:
    return sum(1 for method, path, _ in fake.requests
               if method == "POST" and path.endswith("/Messages.json"))


def test_a_dispatcher_killed_between_send_and_record_sends_nothing_twice(
        vroeg_home, make_message, twilio_settings, fake, monkeypatch):
    import vroeg.messaging.dispatch as dispatch

    msg = make_message("sms")
    monkeypatch.setattr(dispatch, "_FAULT", "dispatch:after_send")

    def die(code: int) -> None:
        raise Killed

    monkeypatch.setattr(dispatch.os, "_exit", die)
    with pytest.raises(Killed):
        dispatch_pending(NOW)
    assert _posts(fake) == 1  # Twilio has it ...
    msg.refresh_from_db()
    assert msg.status == Message.Status.SENDING and not msg.provider_id  # ... we did not record

    monkeypatch.setattr(dispatch, "_FAULT", "")
    restart = dispatch_pending(NOW + dt.timedelta(minutes=15))
    assert restart.recovered == 1 and restart.total_sent == 0
    assert _posts(fake) == 1  # nothing sent twice
    msg.refresh_from_db()
    assert msg.status == Message.Status.SENT
    assert msg.provider == "twilio" and msg.provider_id == fake.messages[0]["sid"]


def test_no_answer_stays_sending_and_is_looked_up_before_any_resend(
        vroeg_home, make_message, twilio_settings, fake):
    msg = make_message("sms")
    fake.script.append({"delay": 1.0})  # longer than the 0.5 s timeout: no answer
    first = dispatch_pending(NOW)
    assert first.total_sent == 0 and first.deferred == 1
    msg.refresh_from_db()
    assert msg.status == Message.Status.SENDING and msg.attempts == 1
    posted = _posts(fake)
    later = dispatch_pending(NOW + dt.timedelta(minutes=15))
    msg.refresh_from_db()
    assert msg.status == Message.Status.SENT
    # Twilio took it during the slow answer: found, not sent again; or it never
    # arrived: sent once now. Either way one message at Twilio.
    assert len(fake.messages) == 1 and _posts(fake) in (posted, posted + 1)
    assert later.recovered + later.total_sent == 1


def test_a_rate_limit_waits_as_long_as_the_provider_says(vroeg_home, make_message,
                                                          twilio_settings, fake):
    msg = make_message("sms")
    fake.script.append({"status": 429, "json": {"code": 20429, "message": "Too Many Requests",
                                                "more_info": "", "status": 429},
                        "headers": {"Retry-After": "120"}})
    dispatch_pending(NOW)
    msg.refresh_from_db()
    assert msg.status == Message.Status.PENDING and msg.send_after == NOW + dt.timedelta(
        seconds=120)
    assert dispatch_pending(NOW + dt.timedelta(seconds=121)).sent == {"sms": 1}


def test_an_unsubscribed_number_opts_out_and_falls_back(vroeg_home, make_message,
                                                         twilio_settings, fake, household):
    msg = make_message("sms", fallback_channels=["sms", "email"])
    fake.unsubscribed.add("+31612345678")
    result = dispatch_pending(NOW)
    assert result.failed == 1 and result.fallbacks == 1
    household.refresh_from_db()
    assert household.sms_opt_out_on is not None
    assert Message.objects.get(fallback_of=msg).channel == "email"


def test_whatsapp_goes_out_in_the_embedded_default_as_an_outbox_file(vroeg_home, make_message):
    msg = make_message("whatsapp", recipient="+31612345678")
    assert dispatch_pending(NOW).sent == {"whatsapp": 1}
    msg.refresh_from_db()
    files = list((vroeg_home / "outbox" / "whatsapp").glob("*.json"))
    assert msg.status == Message.Status.SENT and len(files) == 1
    assert "€ 1.234,56" in files[0].read_text("utf-8")
