"""`manage.py api_bench_seed --out FILE`: seed a fresh database for the API load benchmark; keys and ids to FILE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from lending.bench.api_seed import PARTNERS, Sizes, build
from lending.management.commands.bench import positive


class Command(BaseCommand):
    help = "Seed lenders (with money and API keys), field partners (with keys and loans paying back) and loans "
    help += "fundraising, for benchmarks/api_load.sh; writes the keys and loan ids, as JSON, to --out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="the JSON file locust reads (holds API keys: keep it private)")
        parser.add_argument("--lenders", type=positive, default=Sizes.lenders)
        parser.add_argument("--partners", type=positive, default=Sizes.partners, choices=range(1, len(PARTNERS) + 1))
        parser.add_argument("--fundraising", type=positive, default=Sizes.fundraising, help="loans fundraising")
        parser.add_argument("--paying", type=positive, default=Sizes.paying, help="loans paying back")

    def handle(self, *args: Any, **options: Any) -> None:
        sizes = Sizes(options["lenders"], options["partners"], options["fundraising"], options["paying"])
        if sizes.lenders < 20:
            raise CommandError("--lenders must be at least 20: each paying-back loan is funded by 20 lenders")
        self.stdout.write("api_bench_seed:")
        try:
            with transaction.atomic():
                fixture = build(sizes, self.stdout.write)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        path = Path(options["out"])
        path.write_text(json.dumps(fixture, indent=1))
        path.chmod(0o600)
        self.stdout.write(f"  keys and loan ids written to {path}")
