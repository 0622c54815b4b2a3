"""The write check used by every app's refusal tests catches what it must."""

import pytest

from tests.writes import watching
from yizhan.accounts.models import SignInFailure
from yizhan.accounts.services import superuser_create

nothing_written = watching(SignInFailure)


@pytest.mark.django_db
def test_an_insert_an_update_and_a_delete_are_all_caught():
    """Any change to a watched table fails the block; no change passes."""
    row = SignInFailure.objects.create(at="2026-01-01T00:00Z", username="a")
    with nothing_written():
        superuser_create(username="root", password="Long-enough-pw-1")  # unwatched table
    for change in (
        lambda: SignInFailure.objects.create(at="2026-01-02T00:00Z", username="b"),
        lambda: SignInFailure.objects.filter(pk=row.pk).update(username="c"),
        lambda: SignInFailure.objects.filter(username="b").delete(),
    ):
        with pytest.raises(AssertionError), nothing_written():
            change()
