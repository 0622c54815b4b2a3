"""``watching(*models)``: a check that a block wrote nothing to those tables.

Each app's tests name the tables a refused call could touch::

    nothing_written = watching(Item, ItemVersion, AuditRecord, AuditChainHead)

    with nothing_written(), pytest.raises(PermissionDenied):
        services.item_create(actor=stranger, ...)

Rows are compared whole, so an update is caught as well as an insert or a
delete.  ``ignore`` names bookkeeping columns any call may touch.
"""

from contextlib import contextmanager


def snapshot(models, ignore=None) -> dict[str, list[tuple]]:
    ignore = ignore or {}
    return {
        model._meta.label: sorted(
            (tuple(sorted((k, v) for k, v in row.items() if k not in ignore.get(model, ())))
             for row in model.objects.values()),
            key=repr,
        )
        for model in models
    }


def watching(*models, ignore=None):
    @contextmanager
    def nothing_written():
        before = snapshot(models, ignore)
        yield
        after = snapshot(models, ignore)
        changed = [label for label in before if before[label] != after[label]]
        assert not changed, f"a refused call wrote to {changed}"

    return nothing_written
