"""Proposals to hand a case to the bailiff (deurwaarder; VERA ExterneIncasso).

The daily run proposes a hand-over only when the gate of RULES-NL rule 15 is open
(vroeg/domain/legal/gates.py); a person approves or rejects it, always. The dossier
(ledger, letters, contact attempts, signal proof) is built for the proposal so the
person deciding sees what the bailiff would get.
"""

from __future__ import annotations

from django.db import models

from vroeg.collection.models import Case
from vroeg.portfolio.models import Tenancy


class HandoverProposal(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "voorgesteld / proposed"
        APPROVED = "approved", "goedgekeurd / approved"
        REJECTED = "rejected", "afgewezen / rejected"
        WITHDRAWN = "withdrawn", "vervallen / withdrawn"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="handover_proposals",
                             verbose_name="dossier / case")
    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT,
                                related_name="handover_proposals",
                                verbose_name="huurovereenkomst / tenancy")
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.PROPOSED, db_index=True)
    proposed_on = models.DateField("voorgesteld op / proposed on")
    arrears = models.DecimalField("achterstand / arrears", max_digits=12, decimal_places=2)
    months_in_arrears = models.DecimalField("maanden achterstand / months in arrears",
                                            max_digits=6, decimal_places=2)
    # The gate's checks and care flags as they stood when proposed (rule 15).
    gate = models.JSONField("poortcontroles / gate checks", default=list)
    decided_on = models.DateField("besloten op / decided on", null=True, blank=True)
    decided_by = models.CharField("besloten door / decided by", max_length=100, blank=True)
    decision_note = models.CharField("toelichting besluit / decision note", max_length=300,
                                     blank=True)
    dossier_folder = models.CharField("dossiermap / dossier folder", max_length=300, blank=True)
    # Set on approval (handover.actions.approve): the WIK costs the bailiff may charge,
    # computed once and kept, so a rebuilt dossier says the same (never booked to the
    # ledger). Empty: no costs (not allowed yet, or settings say no).
    principal = models.DecimalField("hoofdsom bij overdracht / principal at hand-over",
                                    max_digits=12, decimal_places=2, null=True, blank=True)
    collection_costs = models.DecimalField("incassokosten (WIK) / collection costs",
                                           max_digits=12, decimal_places=2, null=True,
                                           blank=True)
    collection_costs_vat = models.DecimalField("btw incassokosten / VAT on costs",
                                               max_digits=12, decimal_places=2, null=True,
                                               blank=True)
    costs_explanation = models.TextField("berekening incassokosten / costs explanation",
                                         blank=True)

    class Meta:
        verbose_name = "voorstel overdracht / hand-over proposal"
        verbose_name_plural = "voorstellen overdracht / hand-over proposals"
        ordering = ["-proposed_on", "id"]
        constraints = [models.UniqueConstraint(fields=["case"],
                                               condition=models.Q(status="proposed"),
                                               name="one_open_proposal_per_case")]

    def __str__(self) -> str:
        return f"overdracht {self.pk} {self.tenancy.code} ({self.get_status_display()})"
