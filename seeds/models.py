"""What the demo simulation remembers between runs, so `simulate` can carry on where it stopped."""

from __future__ import annotations

from django.db import models

from lending.loans.models import Loan


class DemoWorld(models.Model):
    """The one simulated world: its seed and pace. Every draw is a function of the seed and a date or loan."""

    seed = models.BigIntegerField()
    loans_per_day = models.DecimalField(max_digits=9, decimal_places=3)
    started_on = models.DateField(help_text="The first simulated business date.")
    lived_until = models.DateField(null=True, blank=True, help_text="The last day whose business was simulated.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"demo world seed {self.seed} from {self.started_on}"


class SimulatedLoan(models.Model):
    """A loan the simulation posted, and which real loan (a row of seeds/data/loans.csv) it copies."""

    loan = models.OneToOneField(Loan, on_delete=models.CASCADE, primary_key=True, related_name="+")
    draw = models.PositiveIntegerField(help_text="Row of seeds/data/loans.csv.")
    posted_on = models.DateField()
    day = models.PositiveIntegerField(help_text="Days from the world's first day to the posting.")
    number = models.PositiveSmallIntegerField(help_text="The n-th loan posted that day, from 0.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "number"], name="seeds_simloan_one_per_slot")]
        indexes = [models.Index(fields=["posted_on"])]

    def __str__(self) -> str:
        return f"simulated loan {self.loan_id} (row {self.draw}, posted {self.posted_on})"

    @property
    def key(self) -> str:
        """What the loan's plans are drawn from: stable across databases and calendars, unlike its id or date."""
        return f"{self.day}:{self.number}"
