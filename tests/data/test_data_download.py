"""The download cache against a real HTTP server on 127.0.0.1 (a thread started by each test)."""

import hashlib
import io
import os
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tinygrad_book.data import download as dl
from tinygrad_book.data import (ChecksumError, CorruptFileError, DatasetNotFoundError, DownloadError,
                                get_file, unpack_once)

BODY = os.urandom(3000) * 700  # 2.1 MB: large enough for the progress bar


class Server:
    """Serves ``routes[path] = (body, mode)``; mode 'ok', or 'cut' (announce more than it sends)."""

    def __init__(self):
        self.routes, self.hits = {}, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                if self.path not in outer.routes:
                    self.send_error(404)
                    return
                body, mode = outer.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) * (2 if mode == "cut" else 1)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True  # for 'cut': the connection ends before Content-Length

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.delenv("TINYGRAD_BOOK_OFFLINE")
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # 127.0.0.1 must not go through a proxy
    s = Server()
    yield s
    s.close()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def test_download_success_sha256_and_md5(server, data_dir, capsys):
    server.routes["/f.bin"] = (BODY, "ok")
    path = get_file("f.bin", server.url("/f.bin"), file_hash=sha256(BODY), cache_subdir="datasets/x")
    assert path == str(data_dir / "x" / "f.bin")
    assert open(path, "rb").read() == BODY
    assert os.listdir(data_dir / "x") == ["f.bin"]  # no temporary file left
    assert "f.bin: [" in capsys.readouterr().err  # progress bar on stderr for a 2 MB file
    # a second call finds the file: no second request
    assert get_file("f.bin", server.url("/f.bin"), cache_subdir="datasets/x") == path
    assert server.hits == ["/f.bin"]
    md5 = hashlib.md5(BODY).hexdigest()  # Keras publishes md5 hashes: 32 hex digits
    p2 = get_file("g.bin", server.url("/f.bin"), file_hash=md5, cache_subdir="datasets/x", progress=False)
    assert open(p2, "rb").read() == BODY


def test_checksum_mismatch_leaves_nothing(server, data_dir):
    server.routes["/f.bin"] = (BODY, "ok")
    with pytest.raises(ChecksumError) as err:
        get_file("f.bin", server.url("/f.bin"), file_hash="0" * 64, cache_subdir="datasets/x")
    assert "f.bin" in str(err.value) and "expected " + "0" * 64 in str(err.value)
    assert os.listdir(data_dir / "x") == []


def test_cut_transfer_leaves_nothing_and_retry_succeeds(server, data_dir):
    server.routes["/f.bin"] = (BODY[:5000], "cut")
    with pytest.raises(DownloadError) as err:
        get_file("f.bin", server.url("/f.bin"), cache_subdir="datasets/x")
    assert "cut off after 5000 of 10000 bytes" in str(err.value)
    assert os.listdir(data_dir / "x") == []
    server.routes["/f.bin"] = (BODY, "ok")  # the same URL, now served in full
    path = get_file("f.bin", server.url("/f.bin"), file_hash=sha256(BODY), cache_subdir="datasets/x")
    assert open(path, "rb").read() == BODY


def test_http_error_is_a_download_error(server, data_dir):
    with pytest.raises(DownloadError) as err:
        get_file("nope.bin", server.url("/nope.bin"), cache_subdir="datasets/x")
    assert "404" in str(err.value) and server.url("/nope.bin") in str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert os.listdir(data_dir / "x") == []


def test_offline_fails_at_once_with_instructions(server, data_dir, monkeypatch):
    monkeypatch.setenv("TINYGRAD_BOOK_OFFLINE", "1")
    url = server.url("/mnist.npz")
    with pytest.raises(DatasetNotFoundError) as err:
        get_file("mnist.npz", url, cache_subdir="datasets/mnist")
    msg = str(err.value)
    assert server.hits == []  # no network attempt at all
    assert "'mnist.npz'" in msg and url in msg
    assert str(data_dir / "mnist" / "mnist.npz") in msg
    assert "TINYGRAD_BOOK_DATA" in msg and "mnist/mnist.npz" in msg and "TINYGRAD_BOOK_OFFLINE" in msg
    assert err.value.path == str(data_dir / "mnist" / "mnist.npz") and err.value.origin == url


def test_default_places(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYGRAD_BOOK_DATA")
    monkeypatch.delenv("TINYGRAD_BOOK_CACHE")
    home = tmp_path / "home"
    assert dl.data_home() == home / ".tinygrad_book" / "datasets"
    assert dl.cache_home() == home / ".tinygrad_book" / "cache"
    assert dl._target_folder("datasets/mnist", None) == home / ".tinygrad_book" / "datasets" / "mnist"
    assert dl._target_folder("models", None) == home / ".tinygrad_book" / "models"
    assert dl._target_folder("datasets", tmp_path / "k") == tmp_path / "k" / "datasets"  # Keras' cache_dir


def _tar_gz(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("make, fname", [(_tar_gz, "a.tar.gz"), (_zip, "a.zip")])
def test_download_and_extract(server, data_dir, make, fname):
    server.routes["/" + fname] = (make({"top/a.txt": b"alpha", "top/sub/b.txt": b"beta"}), "ok")
    path = get_file(fname, server.url("/" + fname), cache_subdir="datasets/arch", extract=True)
    folder = data_dir / "arch"
    assert (folder / "top" / "a.txt").read_bytes() == b"alpha"
    assert (folder / "top" / "sub" / "b.txt").read_bytes() == b"beta"
    assert sorted(os.listdir(folder)) == sorted([fname, "top"])  # no temporary folder left
    assert path == str(folder / fname)


def test_unpack_once_tar_xz(tmp_path):
    archive = tmp_path / "a.tar.xz"
    with tarfile.open(archive, "w:xz") as t:
        info = tarfile.TarInfo("d/x.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"xyz"))
    out = unpack_once(archive, tmp_path / "out")
    assert (out / "d" / "x.txt").read_bytes() == b"xyz"
    archive.unlink()  # a second call does not need the archive any more
    assert unpack_once(archive, tmp_path / "out") == out
    assert sorted(os.listdir(tmp_path)) == ["data", "out"]  # data: the isolated data folder


def test_unsafe_tar_member_is_refused(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as t:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"!"))
    with pytest.raises(CorruptFileError, match=r"\.\./escaped\.txt"):
        unpack_once(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out").exists()


def test_downloads_and_unpacked_folders_are_readable_by_others(server, data_dir, tmp_path):
    """A shared data cache: mkstemp/mkdtemp's 0600/0700 must not survive the rename (issue 11, item 5)."""
    import stat
    old = os.umask(0o022)
    try:
        server.routes["/f.bin"] = (b"abc", "ok")
        path = get_file("f.bin", server.url("/f.bin"), cache_subdir="datasets/x")
        archive = tmp_path / "a.tar"
        with tarfile.open(archive, "w") as t:
            info = tarfile.TarInfo("d/x.txt")
            info.size = 3
            t.addfile(info, io.BytesIO(b"xyz"))
        out = unpack_once(archive, tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o755
