"""``yizhan audit verify``: re-compute every audit chain and report breaks."""

from django.core.management.base import BaseCommand, CommandError

from yizhan.audit.verify import verify_chain


class Command(BaseCommand):
    help = (
        "Audit log operations. 'verify' re-computes the SM3 hash chain of every shard and "
        "exits non-zero naming the first broken record."
    )

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["verify"], help="the operation to run: verify")
        parser.add_argument("--all", action="store_true",
                            help="report every break instead of stopping at the first")

    def handle(self, *args, operation, **options):
        result = verify_chain(stop_at_first=not options["all"])
        if result.ok:
            self.stdout.write(self.style.SUCCESS(
                f"审计链完整 / audit chain intact: {result.records} records in "
                f"{result.shards} shards."
            ))
            return
        for brk in result.breaks:
            self.stderr.write(f"审计链断裂 / audit chain broken at {brk}")
        raise CommandError(
            f"audit chain verification failed at {result.breaks[0]} "
            f"({result.records} records read)"
        )
