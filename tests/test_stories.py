"""Tenants' stories, from the first late payment to the end, through the real daily run.

Each story is in the ledger notation of tests/story.py: what the tenant pays, what the
ERP and the bank send, what staff do, and what vroeg must do on which day. Rent is
700.00 a month, due on the 1st (the first_time segment's ladder unless a story makes
the tenant something else).
"""

from __future__ import annotations

import pytest

from tests.story import StoryError, play

pytestmark = pytest.mark.django_db(transaction=True)

STORIES = {
    "pays_after_the_first_reminder": """
        Pays after the first reminder
        2026-11-02  expect open
        2026-11-05  expect nothing
        2026-11-06  expect reminder_friendly by email
        2026-11-09  pays 700
        2026-11-09  expect closed
        2026-11-30  expect balance 0
        steps: reminder_friendly
    """,
    "pays_by_the_link_in_the_reminder": """
        Pays by the link in the friendly reminder, the same evening
        tenancy voorkeurskanaal=sms
        2026-11-06  expect reminder_friendly by sms
        2026-11-06  pays 700 by link
        2026-11-07  expect closed
        2026-11-13  expect nothing
        steps: reminder_friendly
    """,
    "small_shortfall": """
        Pays 5 euro short: below the minimum, no case, no message
        2026-11-02  pays 695
        2026-11-30  expect no case
        2026-11-30  expect balance 5
    """,
    "returned_direct_debit_then_pays_after_payday": """
        Direct debit returned for insufficient funds; pays after payday
        tenancy betaalwijze=incasso machtigingskenmerk=MANDT-1 machtiging_datum=2020-01-01 betaaldag=25
        2026-11-02  collected 700
        2026-11-05  returned 700 AM04
        2026-11-05  expect signal dd_reversal
        2026-11-06  expect reminder_friendly
        2026-11-25  expect nothing
        2026-11-27  pays 700
        2026-11-27  expect closed
        steps: reminder_friendly
    """,
    "chronically_late": """
        Chronically late: ten days late every month; then called early, when income is in
        tenancy beginsaldo_datum=2026-06-30
        2026-07-06  expect reminder_friendly
        2026-07-11  pays 700
        2026-07-11  expect closed
        2026-08-12  pays 700
        2026-09-05  expect signal late_repeatedly
        2026-09-11  pays 700
        2026-10-12  pays 700
        2026-11-06  expect reminder_friendly
        2026-11-14  expect call_early
        2026-11-14  expect task call
        2026-11-27  pays 700
        2026-11-27  expect closed
    """,
    "income_shock_arrangement_completed": """
        Income shock: behind, an arrangement agreed on the phone, every instalment paid
        tenancy beginsaldo_datum=2026-05-31
        2026-06-06  expect reminder_friendly
        2026-06-11  expect call_early
        2026-06-11  expect task call
        2026-06-12  staff call arrangement
        2026-06-12  staff arrangement 4 from 2026-07-15
        2026-06-12  expect state arrangement
        2026-07-01  pays 700
        2026-07-15  pays 175
        2026-08-01  pays 700
        2026-08-14  pays 175
        2026-09-01  pays 700
        2026-09-15  pays 175
        2026-10-01  pays 700
        2026-10-15  pays 175
        2026-10-15  expect closed
        2026-10-15  expect balance 0
        2026-10-15  expect arrangement completed
        steps: reminder_friendly, call_early
    """,
    "arrangement_broken_twice": """
        Arrangement broken twice: a call after the first miss and no ladder step, then a new 14-day letter, then the ladder (rule 14)
        tenancy beginsaldo_datum=2026-05-31
        2026-06-12  staff call arrangement
        2026-06-12  staff arrangement 4 from 2026-07-15
        2026-07-01  pays 700
        2026-07-15  pays 175
        2026-08-03  pays 700
        2026-08-21  expect arrangement_missed
        2026-08-21  expect task arrangement_call
        2026-08-26  expect nothing
        2026-09-01  pays 700
        2026-09-07  expect nothing
        2026-09-21  expect arrangement_broken_letter
        2026-09-21  expect arrangement broken
        2026-09-21  expect state formal_notice
        2026-10-01  pays 700
        2026-10-21  expect nothing
        2026-11-02  pays 700
        2026-11-20  expect open
        steps: reminder_friendly, call_early, arrangement_missed, arrangement_broken_letter, reminder_second, arrangement_offer, call, written_reminder
    """,
    "arrangement_ran_out_unpaid": """
        Arrangement ran out with its last instalment unpaid: the call first, then a new 14-day letter, only then the ladder (rule 14)
        tenancy beginsaldo_datum=2026-05-31
        2026-06-12  staff call arrangement
        2026-06-12  staff arrangement 2 from 2026-07-15
        2026-07-01  pays 700
        2026-07-15  pays 350
        2026-08-03  pays 700
        2026-08-21  expect arrangement_missed
        2026-08-21  expect task arrangement_call
        2026-08-25  expect nothing
        2026-08-26  expect arrangement_broken_letter
        2026-08-26  expect arrangement broken
        2026-08-26  expect state formal_notice
        2026-08-31  expect reminder_second
        2026-09-01  pays 700
        2026-10-01  pays 700
        2026-10-20  expect open
        steps: reminder_friendly, call_early, arrangement_missed, arrangement_broken_letter, reminder_second, arrangement_offer, call, written_reminder
    """,
    "arrangement_ran_out_during_a_pause": """
        Arrangement ran out unpaid while a pause holds the case: the new 14-day letter comes after the pause, not lost (rule 14)
        tenancy beginsaldo_datum=2026-05-31
        2026-06-12  staff call arrangement
        2026-06-12  staff arrangement 2 from 2026-07-15
        2026-07-01  pays 700
        2026-07-15  pays 350
        2026-08-03  pays 700
        2026-08-21  expect arrangement_missed
        2026-08-24  staff pause manual until 2026-09-10 "tenant in hospital"
        2026-08-26  expect nothing
        2026-09-10  expect nothing
        2026-09-11  expect arrangement_broken_letter
        2026-09-11  expect arrangement broken
        steps: reminder_friendly, call_early, arrangement_missed, arrangement_broken_letter
    """,
    "never_pays_handover_approved": """
        Never pays: every step of the ladder, then a hand-over a person approves
        tenancy beginsaldo_datum=2026-05-31 eenheid_plaats=Utrecht
        2026-06-11  expect call_early
        2026-06-12  staff call no_answer
        2026-06-26  expect call
        2026-07-01  expect written_reminder
        2026-07-01  expect letter to Teststraat
        2026-07-06  expect call_second_month
        2026-07-15  expect municipal_signal
        2026-07-15  expect municipal signal
        2026-07-20  expect fourteen_day_letter
        2026-07-31  expect call_before_handover
        2026-09-15  expect handover_proposal
        2026-09-16  staff approves handover
        2026-09-16  expect state handed_over
        steps: reminder_friendly, call_early, reminder_second, arrangement_offer, call, written_reminder, call_second_month, municipal_signal, fourteen_day_letter, call_before_handover, handover_proposal
    """,
    "objects_to_the_signal": """
        Objects to the municipal signal: no signal goes, the 14-day letter still comes
        tenancy beginsaldo_datum=2026-05-31 eenheid_plaats=Utrecht
        2026-06-12  staff call no_answer
        2026-07-01  expect written_reminder
        2026-07-02  tenant objects
        2026-07-15  expect skipped municipal_signal
        2026-07-15  expect no municipal signal
        2026-07-20  expect fourteen_day_letter
        2026-08-10  expect no municipal signal
    """,
    "in_debt_help": """
        In debt help: no steps while the current rent is paid; a month without it is checked
        tenancy beginsaldo_datum=2026-05-31
        2026-06-12  staff call debt_help
        2026-06-13  staff pause debt_help "Schuldhulp Amsterdam"
        2026-06-13  expect state debt_help
        2026-07-01  pays 700
        2026-08-03  pays 700
        2026-09-01  expect nothing
        2026-10-01  pays 700
        2026-10-04  expect signal current_rent_unpaid
        2026-10-04  expect task debt_help_check
        2026-11-02  pays 700
        2026-11-30  expect open
        steps: reminder_friendly, call_early, debt_help_rent_missed:2026-09
    """,
    "moved_out_with_debt": """
        Moved out with debt: no more rent, the letters follow to the new address
        tenancy beginsaldo_datum=2026-05-31
        2026-06-10  erp einddatum=2026-06-30 post_straat=Nieuwstraat post_huisnummer=8 post_postcode=3511AB post_plaats=Utrecht
        2026-06-12  staff call no_answer
        2026-07-01  expect written_reminder
        2026-07-01  expect letter to Nieuwstraat
        2026-07-20  expect fourteen_day_letter
        2026-07-20  expect letter to Nieuwstraat
        2026-10-20  expect balance 700
        2026-10-20  expect no handover_proposal
    """,
    "deceased": """
        Deceased: staff pause the case while the estate is settled; the heirs pay
        tenancy beginsaldo_datum=2026-08-31
        2026-09-06  expect reminder_friendly
        2026-09-15  staff pause manual until 2026-11-30 "overleden: nalatenschap via notaris"
        2026-10-20  expect nothing
        2026-11-16  pays 2100
        2026-11-16  expect closed
        steps: reminder_friendly, call_early
    """,
    "disputes_a_charge": """
        Disputes the service costs: a pause while it is checked, a correction, pays the rest
        2026-11-02  pays 600
        2026-11-06  expect reminder_friendly
        2026-11-09  staff pause dispute until 2026-11-30 "servicekosten betwist"
        2026-11-13  expect nothing
        2026-11-16  staff correction -50 "servicekosten te hoog berekend"
        2026-11-16  expect balance 50
        2026-11-17  pays 50
        2026-11-17  expect closed
        steps: reminder_friendly
    """,
    "a_parent_pays": """
        A parent pays from their own account: a person links the payer, then it is known
        tenancy beginsaldo_datum=2026-09-30
        2026-10-02  pays 700 from NL69INGB0123456789 J. de Moeder
        2026-10-06  expect reminder_friendly
        2026-10-07  staff links payer
        2026-10-08  expect closed
        2026-11-02  pays 700 from NL69INGB0123456789 J. de Moeder
        2026-11-30  expect balance 0
        steps: reminder_friendly
    """,
    "rent_increase_month": """
        The rent-increase month: pays the old rent in July; told what is still open
        tenancy beginsaldo_datum=2026-02-28
        2026-03-01  pays 700
        2026-04-01  pays 700
        2026-05-01  pays 700
        2026-06-01  pays 700
        2026-06-20  erp kale_huur=680.00
        2026-07-01  pays 700
        2026-07-05  expect signal rent_increase_month
        2026-07-06  expect reminder_friendly
        2026-07-06  expect balance 30
        2026-07-31  expect open
    """,
    "vulnerable_household": """
        A vulnerable household: a house visit by the wijkconsulent instead of a call
        2026-11-03  staff marks vulnerable
        2026-11-06  expect reminder_friendly
        2026-11-11  expect visit
        2026-11-11  expect task visit
        2026-11-30  expect no call
    """,
    "housing_benefit_stopped": """
        Housing benefit stopped: a call to help, besides the reminders (5 days after the call)
        tenancy beginsaldo_datum=2026-09-30 huurtoeslag=ja
        2026-10-01  pays 700
        2026-10-20  erp huurtoeslag=nee
        2026-11-02  pays 500
        2026-11-02  expect task call
        2026-11-06  expect nothing
        2026-11-07  expect reminder_friendly
    """,
    "pays_after_the_14_day_letter": """
        Pays everything after the 14-day letter: no costs, the case closes
        tenancy beginsaldo_datum=2026-05-31
        2026-06-12  staff call no_answer
        2026-07-20  expect fourteen_day_letter
        2026-07-25  pays 1400
        2026-07-25  expect closed
        2026-07-25  expect balance 0
        2026-08-01  pays 700
        2026-08-05  expect balance 0
        steps: reminder_friendly, call_early, reminder_second, arrangement_offer, call, written_reminder, call_second_month, municipal_signal, fourteen_day_letter
    """,
}


@pytest.mark.parametrize("name", list(STORIES))
def test_story(name, vroeg_home, settings):
    settings.VROEG_PAYMENT_PROVIDER = "fake"  # payment links through the built-in provider
    play(STORIES[name], vroeg_home)


@pytest.mark.parametrize(("line", "error"), [
    ("2026-11-06  expect nothing", "expected nothing"),
    ("2026-11-06  expect no reminder_friendly", "reminder_friendly was taken"),
    ("2026-11-06  expect closed", "no case closed"),
    ("2026-11-06  expect reminder_second", "steps that day"),
    ("2026-11-06  expect balance 0", "balance 700"),
])
def test_a_story_that_does_not_hold_fails(vroeg_home, line, error):
    with pytest.raises(StoryError, match=error):
        play(f"""
            Never pays, told wrongly
            {line}
        """, vroeg_home)
