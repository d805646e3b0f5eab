"""`manage.py reconcile`: print the ledger's consistency report; exit 1 if anything is wrong."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lending.ledger.reconcile import reconcile
from lending.money import format_money


class Command(BaseCommand):
    help = "Check that every journal balances and every cached balance equals its transfers; exit 1 on any violation."

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile()
        self.stdout.write(f"accounts {report.accounts}, journals {report.journals}, transfers {report.transfers}")
        for currency, (debits, credits) in sorted(report.totals_by_currency.items()):
            self.stdout.write(
                f"{currency}: debits {format_money(debits, currency)}, credits {format_money(credits, currency)}"
            )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("ledger reconciles: no violations"))
            return
        for violation in report.violations:
            self.stdout.write(self.style.ERROR(str(violation)))
        raise CommandError(f"ledger does not reconcile: {len(report.violations)} violation(s)", returncode=1)
