"""Receiving uploaded files: what one file, and one request's files, may keep."""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from yizhan.core import upload_handlers
from yizhan.core.upload_handlers import RequestFilesTooLarge

MB = 1024 * 1024


@pytest.fixture
def small_limits(settings):
    """Every file goes to a temporary file, which keeps 1 MB of it; a request
    keeps at most 1.5 MB."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.YIZHAN_MAX_RECEIVED_FILE_BYTES = MB
    settings.YIZHAN_MAX_UPLOAD_BYTES = MB
    settings.YIZHAN_MAX_REQUEST_FILES_BYTES = MB + MB // 2
    return settings


def _request(*sizes: int):
    return RequestFactory().post("/", {f"file_{n}": SimpleUploadedFile(f"{n}.pdf", b"x" * size)
                                       for n, size in enumerate(sizes)})


def _opened(monkeypatch) -> list:
    """The temporary files the handler opens, as it opens them."""
    opened = []
    new_file = upload_handlers.CappedTemporaryFileUploadHandler.new_file

    def watched(self, *args, **kwargs):
        new_file(self, *args, **kwargs)
        opened.append(self.file)

    monkeypatch.setattr(upload_handlers.CappedTemporaryFileUploadHandler, "new_file", watched)
    return opened


def test_files_within_the_request_s_total_are_received(small_limits):
    request = _request(MB // 2, MB)
    assert sorted(f.size for f in request.FILES.values()) == [MB // 2, MB]


def test_files_over_the_request_s_total_are_refused_and_deleted(small_limits, monkeypatch):
    """Each file is within its own cap, but together they are over the request's:
    the request is refused (413, in Chinese) and the temporary files it had
    kept are deleted at once, not when they are garbage."""
    opened = _opened(monkeypatch)
    request = _request(MB, MB, MB)
    with pytest.raises(RequestFilesTooLarge) as exc:
        request.FILES  # noqa: B018 - reading the body
    assert (exc.value.code, exc.value.http_status) == ("core.body_too_large", 413)
    assert exc.value.render("zh-hans") == (
        "一次提交的文件合计超过 1.5 MB，请分批上传：可先保存草稿，再在草稿页面上传其余材料。")
    assert len(opened) == 2         # the third file never began
    for file in opened:
        assert file.closed
        assert not os.path.exists(file.file.name)
    # The body is marked unreadable: nothing parses it a second time.
    assert (dict(request.POST), dict(request.FILES)) == ({}, {})


def test_a_file_dropped_past_its_own_cap_does_not_count_toward_the_total(small_limits):
    """What one file sends past its cap is dropped, not kept: a single file far
    over every limit is still refused by its endpoint with the size it had."""
    request = _request(3 * MB)
    [received] = request.FILES.values()
    assert received.size == 3 * MB
    assert os.path.getsize(received.temporary_file_path()) == MB + 1
