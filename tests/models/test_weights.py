"""``focalxl.weights`` and ``focalxl weights``: the table, resumable downloads, checksums.

Downloads come from an HTTP server on 127.0.0.1 started by the test (``http.server``
with ``Range`` support and a switch to cut a transfer short); no test touches the network.
"""
from __future__ import annotations

import hashlib
import http.server
import re
import threading

import pytest

from focalxl import cli, weights

PAYLOAD = bytes(range(256)) * 4096          # 1 MiB, not a multiple of the 64 KiB the server writes at a time


class _Server(http.server.ThreadingHTTPServer):
    payload = PAYLOAD
    cut_after = None            # send only this many bytes of the next response, then hang up
    honour_range = True
    ranges: list


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server: _Server = self.server
        header = self.headers.get("Range")
        server.ranges.append(header)
        start = int(re.fullmatch(r"bytes=(\d+)-", header).group(1)) if header and server.honour_range else 0
        if start >= len(server.payload):
            self.send_response(416)
            self.end_headers()
            return
        body = server.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.cut_after is not None:
            body, server.cut_after = body[:server.cut_after], None
        for offset in range(0, len(body), 1 << 16):
            self.wfile.write(body[offset:offset + (1 << 16)])


@pytest.fixture
def server():
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.ranges = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _entry(server, payload=PAYLOAD) -> weights.WeightFile:
    return weights.WeightFile("test-net", "test_net.pth", f"http://127.0.0.1:{server.server_port}/test_net.pth",
                              len(payload), hashlib.sha256(payload).hexdigest(), "the test's server")


def test_a_download_lands_under_its_official_name_after_its_checksum(server, tmp_path):
    path = weights.download(_entry(server), tmp_path)
    assert path == tmp_path / "test_net.pth" and path.read_bytes() == PAYLOAD
    assert not (tmp_path / "test_net.pth.part").exists()


def test_an_interrupted_download_resumes_where_it_stopped(server, tmp_path):
    server.cut_after = 300_000
    with pytest.raises(weights.WeightsError, match="interrupted after 300000 of 1048576 bytes.*again to resume"):
        weights.download(_entry(server), tmp_path)
    assert (tmp_path / "test_net.pth.part").stat().st_size == 300_000
    assert not (tmp_path / "test_net.pth").exists()
    path = weights.download(_entry(server), tmp_path)
    assert server.ranges == [None, "bytes=300000-"]
    assert path.read_bytes() == PAYLOAD


def test_a_server_that_ignores_range_restarts_the_file(server, tmp_path):
    (tmp_path / "test_net.pth.part").write_bytes(b"stale bytes")
    server.honour_range = False
    assert weights.download(_entry(server), tmp_path).read_bytes() == PAYLOAD


def test_a_complete_part_file_is_finished_without_sending_it_again(server, tmp_path):
    (tmp_path / "test_net.pth.part").write_bytes(PAYLOAD)
    assert weights.download(_entry(server), tmp_path).read_bytes() == PAYLOAD
    assert server.ranges == []


def test_a_checksum_mismatch_is_refused_and_the_bad_file_removed(server, tmp_path):
    server.payload = PAYLOAD[:-1] + b"\x00"
    with pytest.raises(weights.WeightsError, match="sha256 .*expected .*removed, run the command again"):
        weights.download(_entry(server), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_already_in_place_is_kept(server, tmp_path):
    (tmp_path / "test_net.pth").write_bytes(PAYLOAD)
    weights.download(_entry(server), tmp_path)
    assert server.ranges == []


def test_offline_the_error_says_how_to_get_the_file_by_hand(tmp_path):
    closed = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    port = closed.server_port
    closed.server_close()                     # nothing listens there now
    entry = weights.WeightFile("test-net", "test_net.pth", f"http://127.0.0.1:{port}/x", 3, "0" * 64, "nowhere")
    with pytest.raises(weights.WeightsError, match=r"cannot reach .*copy it to .*test_net\.pth.*weights verify"):
        weights.download(entry, tmp_path)


def test_presets_without_a_download_address_say_where_weights_come_from(tmp_path):
    with pytest.raises(weights.WeightsError, match="no official release; make an initial checkpoint from SAM with `focalxl weights init-xl`"):
        weights.download("focalclick-xl-b", tmp_path)
    with pytest.raises(weights.WeightsError, match="unknown preset 'sam-vit-x'"):
        weights.download("sam-vit-x", tmp_path)


def test_the_sam_entries_are_the_official_files():
    for name, size in (("sam-vit-b", 375_042_383), ("sam-vit-l", 1_249_524_607), ("sam-vit-h", 2_564_550_879)):
        entry = weights.TABLE[name]
        assert entry.url == "https://dl.fbaipublicfiles.com/segment_anything/" + entry.file_name
        assert entry.size == size and re.fullmatch(r"[0-9a-f]{64}", entry.sha256)


def test_verify_tells_a_good_file_from_a_damaged_one(tmp_path, monkeypatch):
    entry = weights.WeightFile("test-net", "test_net.pth", None, len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest(), "")
    monkeypatch.setitem(weights.TABLE, "test-net", entry)
    good = tmp_path / "test_net.pth"
    good.write_bytes(PAYLOAD)
    assert weights.verify(good).ok is True
    short = tmp_path / "short.pth"
    short.write_bytes(PAYLOAD[:1000])
    verdict = weights.verify(short, "test-net")
    assert verdict.ok is False and "size 1000 bytes, expected 1048576" in verdict.reason
    assert weights.verify(short).ok is False and "not an official file" in weights.verify(short).reason


def test_the_command_lists_downloads_and_verifies(server, tmp_path, monkeypatch, capsys):
    entry = _entry(server)
    monkeypatch.setitem(weights.TABLE, "test-net", entry)
    assert cli.main(["weights", "list"]) == 0
    listing = capsys.readouterr().out
    assert "sam_vit_h_4b8939.pth (2564550879 bytes)" in listing and "focalclick-xl-h" in listing
    assert cli.main(["weights", "download", "test-net", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "test_net.pth")
    assert cli.main(["weights", "verify", str(tmp_path / "test_net.pth")]) == 0
    assert capsys.readouterr().out.startswith("OK")
    (tmp_path / "other.pth").write_bytes(b"x")
    assert cli.main(["weights", "verify", str(tmp_path / "other.pth"), "--name", "test-net"]) == 1
    assert capsys.readouterr().out.startswith("MISMATCH")
    assert cli.main(["weights", "download", "no-such-net"]) == 2
    assert "unknown preset 'no-such-net'" in capsys.readouterr().err
