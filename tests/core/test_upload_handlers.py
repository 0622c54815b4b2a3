"""Receiving uploaded files: what one file, and one request's files, may keep."""

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.test import RequestFactory
from hypothesis import assume, given
from hypothesis import settings as examples
from hypothesis import strategies as st

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


# --- File names not in UTF-8 ------------------------------------------------------

GBK_NAME = "营业执照.pdf".encode("gbk")
BOUNDARY = b"XyZbOuNdArY"


def _body(*parts: tuple[bytes, bytes]) -> bytes:
    """A multipart body of ``(headers, content)`` parts, the header bytes as given."""
    return b"".join(b"--%s\r\n%s\r\n\r\n%s\r\n" % (BOUNDARY, headers, content)
                    for headers, content in parts) + b"--%s--\r\n" % BOUNDARY


def _file(name: bytes, field: bytes = b"file") -> bytes:
    return (b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
            b"Content-Type: application/pdf" % (field, name))


def _read_through(body: bytes, chunk_size: int) -> bytes:
    return upload_handlers.FileNamesAsUtf8(io.BytesIO(body), BOUNDARY, chunk_size).read(-1)


def _raw_request(body: bytes):
    return RequestFactory().generic(
        "POST", "/", body, content_type=f"multipart/form-data; boundary={BOUNDARY.decode()}")


# Content that looks like a part's headers, and a delimiter's first bytes:
# a file's bytes are passed on as they are, whatever they hold.
CONTENT = (b"%PDF-1.4\r\n\r\n" + _file(GBK_NAME) + b"\r\n\r\n--XyZbOuN" + b"\x80" * 300
           + b"\n%%EOF")


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 11, 64, 1000, 64 * 1024])
def test_a_gbk_file_name_is_read_through_as_utf8_however_the_body_arrives(chunk_size):
    """Whatever the reads cut the body into (a delimiter or a header split
    between two), only the Content-Disposition line of a file's headers is
    re-encoded; everything else, file contents too, is passed on unchanged."""
    sent = _body((b'Content-Disposition: form-data; name="material_id"', b"7"),
                 (_file("申请书.pdf".encode()), CONTENT),
                 (_file(GBK_NAME, b"\xd6\xa4"), CONTENT))
    expected = sent.replace(_file(GBK_NAME, b"\xd6\xa4"),
                            _file("营业执照.pdf".encode(), "证".encode()), 1)
    assert expected != sent
    assert _read_through(sent, chunk_size) == expected


@pytest.mark.parametrize("chunk_size", [1, 5, 64 * 1024])
def test_a_body_in_utf8_is_read_through_unchanged(chunk_size):
    sent = _body((_file("申请书.pdf".encode()), CONTENT), (_file(b"a.pdf"), b""))
    assert _read_through(sent, chunk_size) == sent


# Bytes that a reading of the body could mistake for its structure.
_TRICKY = st.lists(st.sampled_from([
    b"\r\n", b"\r\n\r\n", b"--", b"--XyZ", b"--XyZbOuNdArY"[:-1], b"x", b"\x80\xd3\xaa",
    b'Content-Disposition: form-data; name="f"; filename="\xd3\xaa.pdf"',
]), max_size=40).map(b"".join)


@examples(deadline=None, max_examples=200)
@given(content=_TRICKY, chunk_size=st.integers(1, 300))
def test_what_a_file_holds_is_read_through_unchanged(content, chunk_size):
    """Contents holding blank lines, parts of a delimiter and header-like bytes
    in GBK are a file's bytes, passed on as they were sent."""
    assume(b"--" + BOUNDARY not in content)
    sent = _body((_file(b"a.pdf"), content), (_file("申请书.pdf".encode()), content))
    assert _read_through(sent, chunk_size) == sent


def test_headers_longer_than_django_reads_are_left_as_they_are():
    """Past MAX_TOTAL_HEADER_SIZE Django refuses the body; nothing is converted."""
    sent = _body((_file(GBK_NAME) + b"\r\nX-Long: " + b"a" * 2000, b"x"))
    assert _read_through(sent, 64 * 1024) == sent


def test_a_name_in_neither_utf8_nor_gb18030_is_refused():
    with pytest.raises(upload_handlers.FileNameUndecodable) as exc:
        _read_through(_body((_file(b"\x80\xff.pdf"), b"x")), 64 * 1024)
    assert (exc.value.code, exc.value.http_status) == ("core.file_name_encoding", 400)


def test_a_request_with_a_gbk_file_name_has_the_file_under_its_name(small_limits):
    """Through Django's parsing, in memory and in a temporary file alike."""
    request = _raw_request(_body((_file(GBK_NAME, b"small"), b"x" * 10),
                                 (_file(GBK_NAME, b"large"), b"x" * 3000)))
    small, large = request.FILES["small"], request.FILES["large"]
    assert (small.name, small.read()) == ("营业执照.pdf", b"x" * 10)
    assert (large.name, large.size) == ("营业执照.pdf", 3000)
    assert os.path.exists(large.temporary_file_path())


def test_a_refused_name_deletes_what_the_request_kept(small_limits, monkeypatch):
    """The files received before the name that cannot be read are deleted at
    once, and the body is not parsed a second time."""
    opened = _opened(monkeypatch)
    request = _raw_request(_body((_file(b"a.pdf", b"first"), b"x" * 3000),
                                 (_file(b"\x80\xff.pdf", b"second"), b"x" * 3000)))
    with pytest.raises(upload_handlers.FileNameUndecodable):
        request.FILES  # noqa: B018 - reading the body
    assert len(opened) == 1
    assert opened[0].closed
    assert not os.path.exists(opened[0].file.name)
    assert (dict(request.POST), dict(request.FILES)) == ({}, {})


def test_each_handler_is_given_the_raw_input_once(small_limits, monkeypatch):
    """The memory handler decides from the real body whether a request fits in
    memory; the body read through is not shown to it a second time."""
    calls = []
    handle = MemoryFileUploadHandler.handle_raw_input

    def counted(self, *args, **kwargs):
        calls.append(args[0])
        return handle(self, *args, **kwargs)

    monkeypatch.setattr(MemoryFileUploadHandler, "handle_raw_input", counted)
    request = _raw_request(_body((_file(GBK_NAME), b"x" * 3000)))
    assert request.FILES["file"].name == "营业执照.pdf"
    assert calls == [request]
