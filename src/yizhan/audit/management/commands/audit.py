"""``yizhan audit verify`` re-computes every audit chain and reports breaks;
``yizhan audit anchor`` writes the chain heads down, to be kept outside the
database and checked with ``verify --anchor`` (see ``audit.anchor``)."""

from django.core.management.base import BaseCommand, CommandError

from yizhan.audit import anchor
from yizhan.audit.verify import verify_chain


class Command(BaseCommand):
    help = (
        "Audit log operations. 'verify' re-computes the SM3 hash chain of every shard and "
        "exits non-zero naming the first broken record; with --anchor FILE it also checks "
        "that the log still holds what an anchor written earlier names. 'anchor' writes "
        "every shard's head (an anchor) to standard output or to a new file (--out), to be "
        "kept where whoever can write the database cannot."
    )

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["verify", "anchor"],
                            help="the operation to run: verify or anchor")
        parser.add_argument("--all", action="store_true",
                            help="verify: report every break instead of stopping at the first")
        parser.add_argument("--anchor", action="append", default=[], metavar="FILE",
                            help="verify: also check against this anchor (may be repeated)")
        parser.add_argument("--out", metavar="FILE",
                            help="anchor: write to this file, which must not exist yet")

    def handle(self, *args, operation, **options):
        if operation == "anchor":
            self._anchor(options["out"])
        else:
            self._verify(stop_at_first=not options["all"], anchors=options["anchor"])

    def _anchor(self, out):
        taken = anchor.take()
        text = anchor.dumps(taken)
        if out is None:
            self.stdout.write(text, ending="")
            return
        try:
            # "x": an anchor kept is never overwritten, by mistake or on purpose.
            with open(out, "x", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise CommandError(f"无法写入 / cannot write {out}: {exc.strerror}") from None
        self.stdout.write(self.style.SUCCESS(
            f"审计锚点已写入 / anchor written: {out} ({taken['at']}, "
            f"{len(taken['heads'])} shards, SM3 {taken['digest']})"))

    def _verify(self, *, stop_at_first, anchors):
        read = []
        for path in anchors:
            try:
                with open(path, encoding="utf-8") as handle:
                    read.append((path, anchor.loads(handle.read())))
            except OSError as exc:
                raise CommandError(f"无法读取锚点 / cannot read anchor {path}: "
                                   f"{exc.strerror}") from None
            except (anchor.AnchorUnreadable, UnicodeDecodeError) as exc:
                raise CommandError(f"锚点无效 / anchor {path} refused: {exc}") from None
        result = verify_chain(stop_at_first=stop_at_first)
        breaks = list(result.breaks)
        if not breaks or not stop_at_first:
            for _path, taken in read:
                breaks += anchor.check(taken)
        if not breaks:
            self.stdout.write(self.style.SUCCESS(
                f"审计链完整 / audit chain intact: {result.records} records in "
                f"{result.shards} shards."
            ))
            for path, taken in read:
                self.stdout.write(f"与锚点一致 / agrees with the anchor {path} of {taken['at']} "
                                  f"(SM3 {taken['digest']})")
            return
        if stop_at_first:
            breaks = breaks[:1]
        for brk in breaks:
            self.stderr.write(f"审计链断裂 / audit chain broken at {brk}")
        raise CommandError(
            f"audit chain verification failed at {breaks[0]} "
            f"({result.records} records read)"
        )
