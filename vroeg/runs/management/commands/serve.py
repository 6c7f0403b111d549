"""`vroeg serve`: the staff web app (Django admin) on a production-grade WSGI server.

Migrates the database if needed, collects static files into VROEG_HOME/static
(served by WhiteNoise), optionally creates a first admin user, then serves with
waitress. Binds to 127.0.0.1 by default: put a TLS-terminating reverse proxy in
front of it to reach it from other machines.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def pending_migrations(database: str = DEFAULT_DB_ALIAS) -> int:
    connection = connections[database]
    connection.prepare_database()
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    return len(executor.migration_plan(targets))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Command(BaseCommand):
    help = ("Start de webapplicatie (beheeromgeving) / start the staff web app: "
            "migrate, collect static files, serve with waitress.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1",
                            help="adres om op te luisteren / address to bind (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000,
                            help="poort / port (default 8000)")
        parser.add_argument("--threads", type=int, default=8,
                            help="aantal werkthreads / worker threads (default 8)")
        parser.add_argument("--create-admin", action="store_true",
                            help="maak een beheerder aan uit VROEG_ADMIN_USER en "
                                 "VROEG_ADMIN_PASSWORD / create a superuser from those env vars")
        parser.add_argument("--no-migrate", action="store_true",
                            help="database niet migreren / do not migrate")

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"--port {port}: geen geldige poort / not a valid port")

        if not options["no_migrate"]:
            n = pending_migrations()
            if n:
                self.stdout.write(f"Database migreren ({n} migraties) / migrating ({n})...")
                call_command("migrate", interactive=False, verbosity=0)

        static_root = settings.STATIC_ROOT
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Statische bestanden / static files: {static_root}")

        self._admin_user(options["create_admin"])

        if not is_loopback(host):
            self.stderr.write(self.style.WARNING(
                f"Let op: luistert op {host}, niet alleen op deze computer. Zet er een "
                f"HTTPS-proxy voor. / Warning: listening on {host}, not only on this machine; "
                f"put an HTTPS reverse proxy in front."))

        # Load the WSGI app only now: WhiteNoise indexes STATIC_ROOT when it starts.
        from django.core.wsgi import get_wsgi_application
        from waitress import serve

        application = get_wsgi_application()
        shown_host = f"[{host}]" if ":" in host else host
        self.stdout.write(self.style.SUCCESS(
            f"vroeg draait op / is serving on http://{shown_host}:{port}/admin/ "
            f"(Ctrl+C om te stoppen / to stop)"))
        self.stdout.flush()
        serve(application, host=host, port=port, threads=options["threads"],
              ident="vroeg", clear_untrusted_proxy_headers=True)

    def _admin_user(self, create: bool) -> None:
        from django.contrib.auth import get_user_model

        User = get_user_model()  # noqa: N806
        hint = ("Maak een beheerder aan met / create an admin with: vroeg createsuperuser "
                "(of / or: VROEG_ADMIN_USER=... VROEG_ADMIN_PASSWORD=... "
                "vroeg serve --create-admin)")
        if create:
            username = os.environ.get("VROEG_ADMIN_USER", "").strip()
            password = os.environ.get("VROEG_ADMIN_PASSWORD", "")
            if not username or not password:
                raise CommandError(
                    "--create-admin: zet VROEG_ADMIN_USER en VROEG_ADMIN_PASSWORD / "
                    "set VROEG_ADMIN_USER and VROEG_ADMIN_PASSWORD")
            if User.objects.filter(**{User.USERNAME_FIELD: username}).exists():
                self.stdout.write(f"Beheerder {username!r} bestaat al; wachtwoord niet gewijzigd "
                                  f"(vroeg changepassword {username}) / admin already exists; "
                                  "password not changed")
            else:
                from django.contrib.auth.password_validation import validate_password
                from django.core.exceptions import ValidationError

                try:
                    validate_password(password, User(**{User.USERNAME_FIELD: username}))
                except ValidationError as exc:
                    raise CommandError("VROEG_ADMIN_PASSWORD: " + " ".join(exc.messages)
                                       + " / choose a longer, less common password "
                                         "(at least 12 characters)") from None
                User.objects.create_superuser(username, password=password)
                self.stdout.write(self.style.SUCCESS(
                    f"Beheerder {username!r} aangemaakt / admin created"))
        elif not User.objects.filter(is_superuser=True).exists():
            self.stdout.write(self.style.WARNING("Nog geen beheerder / no admin user yet. "
                                                 + hint))
