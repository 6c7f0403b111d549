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
    "vroeg.messaging",
    "vroeg.runs",
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"vroeg": {"handlers": ["console"],
                          "level": os.environ.get("VROEG_LOG_LEVEL", "WARNING")}},
}
