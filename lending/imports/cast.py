"""The people an import needs, made through the account services and remembered by external id.

- the importer: a platform staff user with no password who applies, reviews and pays out the loans;
- one field partner per Kiva partner id (its name made up from the id: Kiva's partner names are
  not in these files);
- a pool of synthetic lenders, reused across loans as Kiva's lenders were, who get no emails and
  are topped up by a synthetic deposit only when their wallet is short, so the money repaid to
  them is lent again before anything new comes in.

Each is created in its own transaction before the loan that needs it, so a loan refused half-way
rolls back alone and the people stay for the next loan.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts import services as people
from accounts.models import FieldPartner, User
from lending.imports.models import ImportedRecord
from lending.imports.plans import pool_start
from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.ledger.services import Line, accounts_open, journal_post, lender_wallet_spec, platform_account
from lending.notifications.preferences import notification_preferences_set

Kind = ImportedRecord.Kind
EMAIL_DOMAIN = "kiva-import.invalid"  # RFC 2606: never a real mailbox


class Cast:
    """Finds or makes the importer, partners and pool lenders of one source, caching what it has seen."""

    def __init__(self, *, source: str, pool_size: int, currency: str) -> None:
        self.source = source
        self.pool_size = pool_size
        self.currency = currency
        self._partners: dict[str, FieldPartner] = {}
        self._lenders: dict[int, User] = {}
        self._importer: User | None = None

    def _recalled(self, kind: str, external_id: str) -> int | None:
        return (
            ImportedRecord.objects.filter(source=self.source, kind=kind, external_id=external_id)
            .values_list("object_id", flat=True)
            .first()
        )

    def importer(self) -> User:
        if self._importer is None:
            found = self._recalled(Kind.USER, "importer")
            self._importer = User.objects.get(pk=found) if found else self._make_importer()
        return self._importer

    @transaction.atomic
    def _make_importer(self) -> User:
        user = people.platform_staff_create(
            email=f"{self.source}-importer@{EMAIL_DOMAIN}", password=None, full_name=f"{self.source.title()} importer"
        )
        ImportedRecord.objects.create(source=self.source, kind=Kind.USER, external_id="importer", object_id=user.pk)
        return user

    def partner(self, partner_id: str | None, country: str) -> FieldPartner | None:
        """The field partner for a Kiva partner id (None: a direct loan), made in the first loan's country."""
        if partner_id is None:
            return None
        if partner_id not in self._partners:
            found = self._recalled(Kind.PARTNER, partner_id)
            self._partners[partner_id] = (
                FieldPartner.objects.get(pk=found) if found else self._make_partner(partner_id, country)
            )
        return self._partners[partner_id]

    @transaction.atomic
    def _make_partner(self, partner_id: str, country: str) -> FieldPartner:
        partner = people.field_partner_create(name=f"Kiva partner {partner_id} (imported)", country=country)
        ImportedRecord.objects.create(
            source=self.source, kind=Kind.PARTNER, external_id=partner_id, object_id=partner.pk
        )
        return partner

    def lenders(self, external_id: str, count: int) -> list[User]:
        """`count` distinct pool lenders for a loan: a run of the pool starting where the loan's id points."""
        size = max(self.pool_size, count)
        start = pool_start(external_id, size)
        numbers = [(start + i) % size for i in range(count)]
        missing = [n for n in numbers if n not in self._lenders]
        if missing:
            self._load_lenders(missing)
        return [self._lenders[n] for n in numbers]

    def _load_lenders(self, numbers: list[int]) -> None:
        records = ImportedRecord.objects.filter(
            source=self.source, kind=Kind.LENDER, external_id__in=[str(n) for n in numbers]
        ).values_list("external_id", "object_id")
        ids = {int(ext): pk for ext, pk in records}
        users = User.objects.in_bulk(list(ids.values()))
        for n in numbers:
            self._lenders[n] = users[ids[n]] if n in ids else self._make_lender(n)

    @transaction.atomic
    def _make_lender(self, number: int) -> User:
        user = people.lender_register(
            email=f"{self.source}-lender-{number:05d}@{EMAIL_DOMAIN}",
            password=None,  # nobody logs in as a synthetic lender
            full_name=f"{self.source.title()} lender {number}",
        )
        notification_preferences_set(lender=user, repayments=False, funded=False, late=False)
        ImportedRecord.objects.create(source=self.source, kind=Kind.LENDER, external_id=str(number), object_id=user.pk)
        return user

    def top_up(self, *, key: str, needs: list[tuple[User, int]]) -> int:
        """Deposit what each lender's wallet lacks for their shares (one journal); returns the total deposited."""
        specs = [lender_wallet_spec(user_id=user.pk, currency=self.currency) for user, _ in needs]
        codes = accounts_open(specs)
        balances = {
            account.code: account.balance_cents
            for account in LedgerAccount.objects.filter(code__in=codes).only(
                "code", "normal_side", "debits_posted_cents", "credits_posted_cents"
            )
        }
        short = [
            (codes[spec.code], cents - balances[spec.code])
            for spec, (_, cents) in zip(specs, needs, strict=True)
            if balances[spec.code] < cents
        ]
        if not short:
            return 0
        cash = platform_account(AccountType.PROCESSOR_CASH, self.currency)
        journal_post(
            idempotency_key=key,
            kind="deposit",
            lines=[Line(debit=cash, credit=wallet, amount_cents=amount) for wallet, amount in short],
            description="Synthetic lenders' deposits for an imported Kiva loan",
            metadata={"import": self.source},
        )
        return sum(amount for _, amount in short)


def check_currency_lendable(currency: str) -> str | None:
    """Why this platform cannot hold Kiva's loans, or None when it can."""
    if currency not in settings.LENDING_CURRENCIES:
        return (
            f"Kiva's amounts are in {currency}, but this platform lends in {', '.join(settings.LENDING_CURRENCIES)}; "
            f"add {currency} to LENDING_CURRENCIES to import them."
        )
    return None
