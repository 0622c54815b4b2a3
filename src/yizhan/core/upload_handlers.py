"""Receiving uploaded files without keeping more of them than any form accepts.

Django streams a file larger than ``FILE_UPLOAD_MAX_MEMORY_SIZE`` into a
temporary file whole, however large, before any view can look at its size:
a client sending gigabytes fills the disk.  The handler here keeps at most
``YIZHAN_MAX_RECEIVED_FILE_BYTES`` + 1 bytes of each file (the largest any
endpoint accepts: materials, catalog imports, certificates to verify),
drops the rest as it arrives, and reports the size that was sent, so that
the endpoint's own limit refuses the file with its usual message.
"""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


def max_received_bytes() -> int:
    return max(int(settings.YIZHAN_MAX_RECEIVED_FILE_BYTES),
               int(getattr(settings, "YIZHAN_MAX_UPLOAD_BYTES", 0)))


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._room = max_received_bytes() + 1

    def receive_data_chunk(self, raw_data, start):
        if self._room > 0:
            kept = raw_data[:self._room]
            self.file.write(kept)
            self._room -= len(kept)
        # The rest is read from the request and dropped.
        return None
