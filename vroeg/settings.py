"""Django settings for vroeg.

All state lives under one folder, VROEG_HOME (default ./var): the embedded SQLite
database, inbox/, outbox/ and reports/. PostgreSQL is chosen with DATABASE_URL
(or VROEG_DATABASE_URL), e.g. postgres://postgres@127.0.0.1:5432/vroeg.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
VROEG_HOME = Path(os.environ.get("VROEG_HOME", "var")).resolve()


def _read_env_file(path: Path) -> None:
    """VROEG_HOME/vroeg.env: KEY=VALUE lines (# comments) for settings an installation
    keeps with its state (the demo writes its own). The environment always wins."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().startswith("VROEG_"):
            raise ValueError(f"{path}, regel/line {n}: VROEG_...=waarde verwacht / expected")
        os.environ.setdefault(key.strip(), value.strip().strip('"'))


_read_env_file(VROEG_HOME / "vroeg.env")



def _secret_key() -> str:
    """VROEG_SECRET_KEY, else a random key kept in VROEG_HOME/secret.key (made once,
    readable by the owner only): never a built-in key that anyone could look up."""
    if os.environ.get("VROEG_SECRET_KEY"):
        return os.environ["VROEG_SECRET_KEY"]
    path = VROEG_HOME / "secret.key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        import secrets

        VROEG_HOME.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it just now
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("VROEG_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("VROEG_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "vroeg.audit",
    "vroeg.portfolio",
    "vroeg.ledger",
    "vroeg.banking",
    "vroeg.directdebit",
    "vroeg.collection",
    "vroeg.municipal",
    "vroeg.handover",
    "vroeg.payments",
    "vroeg.messaging",
    "vroeg.runs",
    "vroeg.sim",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "vroeg.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "vroeg.wsgi.application"

_db_url = os.environ.get("VROEG_DATABASE_URL") or os.environ.get("DATABASE_URL")
if _db_url:
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VROEG_HOME / "vroeg.sqlite3"),
            # WAL + NORMAL: one commit per household stays cheap; a crash loses
            # at most the transaction in flight, which the run redoes.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
    if os.environ.get("VROEG_SQLITE_TEST_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["VROEG_SQLITE_TEST_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Staff screens are Dutch; labels carry the English after a slash.
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VROEG_HOME / "static"
# Static files are served by WhiteNoise (`vroeg serve` collects them into STATIC_ROOT).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Email: SMTP when a host is configured, otherwise .eml files in outbox/email.
EMAIL_HOST = os.environ.get("VROEG_SMTP_HOST", "")
EMAIL_PORT = int(os.environ.get("VROEG_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("VROEG_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("VROEG_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("VROEG_SMTP_TLS", "0") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("VROEG_MAIL_FROM", "huurincasso@woonstad.example")
# A Maildir the bounce reports (DSN) of our emails arrive in; the daily run reads it.
VROEG_BOUNCE_MAILDIR = os.environ.get("VROEG_BOUNCE_MAILDIR", "")
# Letters per print-batch PDF (a bigger day comes in parts, one manifest).
VROEG_PRINT_BATCH_LETTERS = int(os.environ.get("VROEG_PRINT_BATCH_LETTERS", "1000"))
# Processes that write the day's PDF letters side by side (0: one per core; 1: none,
# the dispatcher writes them itself).
VROEG_LETTER_WORKERS = int(os.environ.get("VROEG_LETTER_WORKERS", "0"))
# Replies go here (default: the corporation's email address).
VROEG_MAIL_REPLY_TO = os.environ.get("VROEG_MAIL_REPLY_TO", "")
# Dispatch: how often and when a failed send is tried again (minutes), before the next
# channel of the step is tried.
VROEG_RETRY_MINUTES = [int(m) for m in os.environ.get("VROEG_RETRY_MINUTES",
                                                      "15,60,240").split(",") if m.strip()]
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VROEG_HOME / "outbox" / "email")

# The corporation running this installation (letterhead, sender, contact).
VROEG_CORPORATION = {
    "name": os.environ.get("VROEG_CORP_NAME", "Woonstad Voorbeeld"),
    "street": os.environ.get("VROEG_CORP_STREET", "Stationsplein 1"),
    "postcode": os.environ.get("VROEG_CORP_POSTCODE", "1012 AB"),
    "city": os.environ.get("VROEG_CORP_CITY", "Amsterdam"),
    "phone": os.environ.get("VROEG_CORP_PHONE", "020 123 45 67"),
    "email": os.environ.get("VROEG_CORP_EMAIL", "huur@woonstad.example"),
    "iban": os.environ.get("VROEG_CORP_IBAN", "NL91ABNA0417164300"),
    "pay_url": os.environ.get("VROEG_PAY_URL", "https://betalen.woonstad.example/"),
    "debt_help": os.environ.get(
        "VROEG_DEBT_HELP",
        "Schuldhulpverlening van uw gemeente: bel 14 met het netnummer van uw gemeente",
    ),
}
# Letters: the logo (an SVG or PNG file of at most 512 KB, embedded in each letter as
# a data: URL; empty: the bundled logo) and an extra footer line (KvK number, website,
# opening hours). The letterhead's name and address come from VROEG_CORPORATION.
VROEG_LETTER_LOGO = os.environ.get("VROEG_LETTER_LOGO", "")
VROEG_LETTER_FOOTER = os.environ.get("VROEG_LETTER_FOOTER", "")
# Local debt-help contacts per place (YAML); default vroeg/data/schuldhulp.yaml.
VROEG_DEBT_HELP_FILE = os.environ.get("VROEG_DEBT_HELP_FILE", "")
# SEPA direct debit (pain.008): the creditor (incassant). creditor_id is the SEPA
# creditor identifier (incassant-ID, in NL: NLkkZZZ + KvK number + 4 digits).
VROEG_CREDITOR = {
    "name": os.environ.get("VROEG_CREDITOR_NAME", VROEG_CORPORATION["name"]),
    "iban": os.environ.get("VROEG_CREDITOR_IBAN", VROEG_CORPORATION["iban"]),
    "bic": os.environ.get("VROEG_CREDITOR_BIC", ""),  # empty: looked up from the IBAN
    "creditor_id": os.environ.get("VROEG_CREDITOR_ID", "NL69ZZZ123456780000"),
}
# TARGET2 days between making the file and the collection date (EPC Core: 1).
VROEG_SEPA_LEAD_DAYS = int(os.environ.get("VROEG_SEPA_LEAD_DAYS", "1"))
# The day of the month income arrives when a household's payday is unknown.
VROEG_DEFAULT_PAYDAY = int(os.environ.get("VROEG_DEFAULT_PAYDAY", "25"))
# Own bank accounts: when set, statements of other accounts are refused.
VROEG_BANK_ACCOUNTS = [
    a.strip().replace(" ", "").upper()
    for a in os.environ.get("VROEG_BANK_ACCOUNTS", "").split(",")
    if a.strip()
]
# The flow (policy) file; default: the bundled "sociaal incasseren".
VROEG_FLOW_FILE = os.environ.get("VROEG_FLOW_FILE",
                                 str(BASE_DIR / "flows" / "sociaal-incasseren.yaml"))
# Municipal signals (vroegsignalering, vroeg/municipal/config.py): the adapter per
# municipality, "Utrecht=file,Amersfoort=file" ("*" for all others; default "file"),
# and the places with a signed agreement, comma-separated (empty: all of them).
VROEG_MUNICIPAL_ADAPTERS = {
    k.strip(): v.strip()
    for k, _, v in (p.partition("=") for p in
                    os.environ.get("VROEG_MUNICIPAL_ADAPTERS", "").split(","))
    if k.strip()
}
VROEG_MUNICIPAL_AGREEMENTS = [
    m.strip() for m in os.environ.get("VROEG_MUNICIPAL_AGREEMENTS", "").split(",") if m.strip()
]
# Bailiff hand-over: on approval, compute the WIK collection costs (RULES-NL rules 10,
# 11) into the dossier for the bailiff to charge; never booked to the ledger.
VROEG_CHARGE_COSTS_AT_HANDOVER = os.environ.get("VROEG_CHARGE_COSTS_AT_HANDOVER", "1") == "1"

# SMS and WhatsApp (vroeg/messaging/providers): "file" writes outbox/sms or
# outbox/whatsapp JSON for a gateway (the embedded default), "twilio" sends through
# Twilio. VROEG_PUBLIC_URL is the address the provider reaches vroeg on: the webhooks are
# <VROEG_PUBLIC_URL>/webhooks/<provider>/status and .../inbound (only they must face the
# internet; add its host to VROEG_ALLOWED_HOSTS), and Twilio's signature covers that
# exact URL.
VROEG_SMS_PROVIDER = os.environ.get("VROEG_SMS_PROVIDER", "file")
VROEG_WHATSAPP_PROVIDER = os.environ.get("VROEG_WHATSAPP_PROVIDER", "file")
VROEG_PUBLIC_URL = os.environ.get("VROEG_PUBLIC_URL", "").rstrip("/")
VROEG_TWILIO_ACCOUNT_SID = os.environ.get("VROEG_TWILIO_ACCOUNT_SID", "")
VROEG_TWILIO_AUTH_TOKEN = os.environ.get("VROEG_TWILIO_AUTH_TOKEN", "")
VROEG_TWILIO_FROM = os.environ.get("VROEG_TWILIO_FROM", "")  # SMS sender, E.164
VROEG_TWILIO_WHATSAPP_FROM = os.environ.get("VROEG_TWILIO_WHATSAPP_FROM", "")  # whatsapp:+31...
# Optional: a Messaging Service sends SMS instead of VROEG_TWILIO_FROM (and WhatsApp when no
# WhatsApp sender is set); with Advanced Opt-Out it reports STOP as OptOutType.
VROEG_TWILIO_MESSAGING_SERVICE_SID = os.environ.get("VROEG_TWILIO_MESSAGING_SERVICE_SID", "")
VROEG_TWILIO_API_BASE = os.environ.get("VROEG_TWILIO_API_BASE", "https://api.twilio.com")
VROEG_TWILIO_TIMEOUT = float(os.environ.get("VROEG_TWILIO_TIMEOUT", "15"))  # seconds
# WhatsApp templates approved by Meta, vroeg template name -> Twilio ContentSid:
# "reminder_friendly=HX...,reminder_second=HX..." (outside the 24-hour window WhatsApp
# only delivers templates).
VROEG_WHATSAPP_TEMPLATES = {
    k.strip(): v.strip()
    for k, _, v in (p.partition("=") for p in
                    os.environ.get("VROEG_WHATSAPP_TEMPLATES", "").split(","))
    if k.strip() and v.strip()
}

# Payment links (vroeg/payments). The tenant's link is VROEG_PAY_URL + "/<token>"; that
# public address must reach vroeg's /betaal/ (only that part needs to face the internet).
# Provider: "mollie", "fake" (built in, for the demo and offline installs: no real money)
# or "none" (the link shows how to pay by bank transfer). Default: mollie with a key,
# else none, so a real installation never shows the fake pay page by accident.
VROEG_PAY_URL = VROEG_CORPORATION["pay_url"]
VROEG_MOLLIE_API_KEY = os.environ.get("VROEG_MOLLIE_API_KEY", "")
VROEG_PAYMENT_PROVIDER = os.environ.get("VROEG_PAYMENT_PROVIDER",
                                        "mollie" if VROEG_MOLLIE_API_KEY else "none")
# Methods Mollie offers, e.g. "ideal,banktransfer"; empty: what the account has enabled.
VROEG_MOLLIE_METHODS = [m.strip() for m in os.environ.get("VROEG_MOLLIE_METHODS", "").split(",")
                        if m.strip()]
# Optional: an organization access token with settlements.read, to look inside Mollie's
# payouts (the Settlements API does not take API keys). Without it a payout goes to a person.
VROEG_MOLLIE_ACCESS_TOKEN = os.environ.get("VROEG_MOLLIE_ACCESS_TOKEN", "")
VROEG_MOLLIE_API_ENDPOINT = os.environ.get("VROEG_MOLLIE_API_ENDPOINT", "")  # "": Mollie's own
VROEG_MOLLIE_TIMEOUT = float(os.environ.get("VROEG_MOLLIE_TIMEOUT", "10"))  # seconds
# Days a payment link works (Mollie's bank transfer due date allows at most 100).
VROEG_PAY_LINK_DAYS = int(os.environ.get("VROEG_PAY_LINK_DAYS", "14"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"vroeg": {"handlers": ["console"],
                          "level": os.environ.get("VROEG_LOG_LEVEL", "WARNING")}},
}

# Staff accounts see tenants' data: no short or common passwords.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
