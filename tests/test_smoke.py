"""The world builder works and leaves an intact audit chain."""

from yizhan.audit.verify import verify_chain


def test_world_builds_with_intact_chain(world):
    assert world.user("a", "reviewer").is_active
    result = verify_chain()
    assert result.ok, result.breaks
    assert result.records > 10
