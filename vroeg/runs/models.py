"""Day runs: which business dates have been run, how far, and their reports."""

from __future__ import annotations

from django.db import models


class DayRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "bezig / running"
        COMPLETED = "completed", "klaar / completed"

    run_on = models.DateField("rundatum / run date", unique=True)
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.RUNNING)
    stage = models.CharField("laatste stap / last stage", max_length=20, blank=True)
    attempts = models.PositiveSmallIntegerField("pogingen / attempts", default=0)
    started_at = models.DateTimeField("gestart / started at", null=True, blank=True)
    finished_at = models.DateTimeField("klaar / finished at", null=True, blank=True)
    report = models.JSONField("rapport / report", default=dict, blank=True)

    class Meta:
        verbose_name = "dagrun / day run"
        verbose_name_plural = "dagruns / day runs"
        ordering = ["-run_on"]

    def __str__(self) -> str:
        return f"{self.run_on} {self.status}"
